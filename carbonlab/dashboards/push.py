"""Pushes the datasource and the dashboards to a running Grafana through grafana-client.

Idempotent: the folder is created only when missing, the datasource is updated in place when
its uid exists and created otherwise, and dashboards are saved with `overwrite` into the
carbonlab folder. Any refusal or network failure becomes a PushError naming the step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from carbonlab.dashboards import build, provisioning
from carbonlab.dashboards.errors import PushError
from carbonlab.dashboards.model import DATASOURCE_UID

T = TypeVar("T")


@dataclass
class PushResult:
    folder_created: bool = False
    datasource_created: bool = False
    dashboards: list[str] = field(default_factory=list)


def connect(url: str, token: str | None, timeout_s: float) -> Any:
    from grafana_client.api import GrafanaApi

    if not url.startswith(("http://", "https://")):
        raise PushError(f"Grafana URL {url!r} must start with http:// or https://")
    return GrafanaApi.from_url(url, credential=token or None, timeout=timeout_s)


def _call(step: str, fn: Callable[[], T]) -> T:
    from grafana_client.client import GrafanaException

    try:
        return fn()
    except GrafanaException as exc:
        raise PushError(f"Grafana refused to {step}: HTTP {exc.status_code}: {exc.message}") from exc
    except OSError as exc:  # niquests' connection errors derive from OSError (IOError)
        raise PushError(f"cannot reach Grafana to {step}: {exc}") from exc


def _exists(step: str, fn: Callable[[], Any]) -> bool:
    from grafana_client.client import GrafanaClientError

    try:
        _call(step, fn)
    except PushError as exc:
        cause = exc.__cause__
        if isinstance(cause, GrafanaClientError) and cause.status_code == 404:
            return False
        raise
    return True


def push(
    url: str,
    token: str | None,
    *,
    prometheus_url: str = provisioning.DEFAULT_PROMETHEUS_URL,
    scrape_interval: str = build.DEFAULT_SCRAPE_INTERVAL,
    timeout_s: float = 10.0,
) -> PushResult:
    """Push datasource, folder and dashboards to the Grafana at `url` with an API `token`."""
    api = connect(url, token, timeout_s)
    result = PushResult()
    folder = provisioning.FOLDER_UID
    if not _exists("read the carbonlab folder", lambda: api.folder.get_folder(folder)):
        _call(
            "create the carbonlab folder",
            lambda: api.folder.create_folder(provisioning.FOLDER_TITLE, uid=folder),
        )
        result.folder_created = True
    payload = provisioning.datasource(prometheus_url, scrape_interval)
    if _exists("read the datasource", lambda: api.datasource.get_datasource_by_uid(DATASOURCE_UID)):
        _call(
            "update the datasource", lambda: api.datasource.update_datasource_by_uid(DATASOURCE_UID, payload)
        )
    else:
        _call("create the datasource", lambda: api.datasource.create_datasource(payload))
        result.datasource_created = True
    for d in build.dashboards():
        body: dict[str, Any] = {
            "dashboard": d.to_json(),
            "folderUid": folder,
            "overwrite": True,
            "message": "carbonlab dashboards push",
        }
        _call(f"save dashboard {d.uid}", partial(api.dashboard.update_dashboard, body))
        result.dashboards.append(d.uid)
    return result
