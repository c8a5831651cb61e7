"""Pushes the datasource and the dashboards to a running Grafana through grafana-client.

Idempotent: the folder is created only when missing, the datasource is updated in place when
its uid exists and created otherwise, and dashboards are saved with `overwrite` into the
carbonlab folder. Any refusal, network failure or timeout becomes one PushError line naming
Grafana's URL and the step (a refusal's page is never dumped whole), and so does an answer that
is not Grafana's JSON object (a login page or a proxy answering 200 `text/html`): nothing is
reported pushed that Grafana did not take.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from carbonlab.checks import gist, url_problem
from carbonlab.dashboards import build, provisioning
from carbonlab.dashboards.errors import PushError
from carbonlab.dashboards.model import DATASOURCE_UID

T = TypeVar("T")


@dataclass
class PushResult:
    folder_created: bool = False
    datasource_created: bool = False
    dashboards: list[str] = field(default_factory=list)


MAX_TIMEOUT_S = 300.0   # per HTTP call; 0 meant "wait for ever" to the HTTP library


class _Api:
    """The grafana-client API with the last HTTP answer kept (a response hook): grafana-client
    hands a `text/html` page back as a string, so a login page on 200 looked like success."""

    def __init__(self, url: str, token: str | None, timeout_s: float) -> None:
        from grafana_client.api import GrafanaApi

        self.url, self.timeout_s = url, timeout_s
        self.api = GrafanaApi.from_url(url, credential=token or None, timeout=timeout_s)
        self.content_type = ""
        self.api.client.s.hooks.setdefault("response", []).append(self._seen)

    def _seen(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self.content_type = response.headers.get("Content-Type", "")
        return response

    def call(self, step: str, fn: Callable[[Any], T]) -> T:
        """`fn(api)`; a refusal, a network failure, a timeout or an answer that is not Grafana's
        JSON object is one `PushError` line naming the URL and the step."""
        from grafana_client.client import GrafanaException, GrafanaTimeoutError

        self.content_type = ""
        try:
            result = fn(self.api)
        except GrafanaTimeoutError as exc:
            raise PushError(f"Grafana at {self.url}: no answer within {self.timeout_s:g} s "
                            f"to {step}") from exc
        except GrafanaException as exc:
            raise PushError(f"Grafana at {self.url} refused to {step}: HTTP {exc.status_code}"
                            f"{self._why(exc)}") from exc
        except OSError as exc:  # niquests' connection errors derive from OSError (IOError)
            raise PushError(f"cannot reach Grafana at {self.url} to {step}: {gist(str(exc))}") from exc
        if not self.content_type.startswith("application/json") or not isinstance(result, dict):
            kind = self.content_type.split(";")[0] or "no content type"
            raise PushError(f"{self.url}: not a Grafana API answer ({kind}) to {step}: is this "
                            "Grafana's address?")
        return result

    def _why(self, exc: Any) -> str:
        """What a refusal said, in one line: Grafana's own `message`, or a hint for a web page."""
        body = exc.response
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return f": {gist(body['message'])}"
        if "html" in self.content_type:
            return f" (a web page, not Grafana's API: is {self.url} Grafana's address?)"
        return f": {gist(body)}" if isinstance(body, str) and body.strip() else ""


def connect(url: str, token: str | None, timeout_s: float) -> _Api:
    problem = url_problem(url)
    if problem is not None:
        raise PushError(f"Grafana URL: {problem}")
    if not 0 < timeout_s <= MAX_TIMEOUT_S:     # also false for nan
        raise PushError(f"timeout: must be above 0 and at most {MAX_TIMEOUT_S:g} s, got {timeout_s:g}")
    return _Api(url, token, timeout_s)


def _exists(api: _Api, step: str, fn: Callable[[Any], Any]) -> bool:
    from grafana_client.client import GrafanaClientError

    try:
        api.call(step, fn)
    except PushError as exc:
        cause = exc.__cause__
        if isinstance(cause, GrafanaClientError) and cause.status_code == 404:
            return False
        raise
    return True


def _save(body: dict[str, Any], api: Any) -> Any:
    return api.dashboard.update_dashboard(body)


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
    if not _exists(api, "read the carbonlab folder", lambda a: a.folder.get_folder(folder)):
        api.call("create the carbonlab folder",
                 lambda a: a.folder.create_folder(provisioning.FOLDER_TITLE, uid=folder))
        result.folder_created = True
    payload = provisioning.datasource(prometheus_url, scrape_interval)
    if _exists(api, "read the datasource", lambda a: a.datasource.get_datasource_by_uid(DATASOURCE_UID)):
        api.call("update the datasource",
                 lambda a: a.datasource.update_datasource_by_uid(DATASOURCE_UID, payload))
    else:
        api.call("create the datasource", lambda a: a.datasource.create_datasource(payload))
        result.datasource_created = True
    for d in build.dashboards():
        body: dict[str, Any] = {
            "dashboard": d.to_json(),
            "folderUid": folder,
            "overwrite": True,
            "message": "carbonlab dashboards push",
        }
        api.call(f"save dashboard {d.uid}", partial(_save, body))
        result.dashboards.append(d.uid)
    return result
