"""grafana-client calls, checked for the requests they make against a real recording HTTP server.

The server (http.server on 127.0.0.1, a port the OS picks) answers like Grafana's HTTP API for the
few endpoints we use, keeps folders and datasources it was given, and records every request:
method, path, Authorization header and JSON body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from carbonlab.cli import main
from carbonlab.dashboards import build, provisioning
from carbonlab.dashboards.annotate import Annotator
from carbonlab.dashboards.errors import PushError
from carbonlab.dashboards.model import DATASOURCE_UID
from carbonlab.dashboards.push import push
from tests.recording_http import serve

TOKEN = "glsa_test_token"


@dataclass
class FakeGrafanaState:
    folders: set[str] = field(default_factory=set)
    datasources: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, str | None, Any]] = field(default_factory=list)
    annotations: int = 0


def handler_for(state: FakeGrafanaState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            state.requests.append((self.command, self.path, self.headers.get("Authorization"), body))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._reply(401, {"message": "invalid API key"})
                return
            route = (self.command, self.path)
            if self.command == "GET" and self.path.startswith("/api/folders/"):
                uid = self.path.rsplit("/", 1)[1]
                if uid in state.folders:
                    self._reply(200, {"uid": uid, "title": "carbonlab"})
                else:
                    self._reply(404, {"message": "folder not found"})
            elif route == ("POST", "/api/folders"):
                state.folders.add(body["uid"])
                self._reply(200, {"uid": body["uid"], "title": body["title"], "id": 7})
            elif self.command == "GET" and self.path.startswith("/api/datasources/uid/"):
                uid = self.path.rsplit("/", 1)[1]
                if uid in state.datasources:
                    self._reply(200, {"uid": uid})
                else:
                    self._reply(404, {"message": "Data source not found"})
            elif route == ("POST", "/api/datasources"):
                state.datasources.add(body["uid"])
                self._reply(200, {"id": 1, "message": "Datasource added"})
            elif self.command == "PUT" and self.path.startswith("/api/datasources/uid/"):
                self._reply(200, {"message": "Datasource updated"})
            elif route == ("POST", "/api/dashboards/db"):
                self._reply(200, {"status": "success", "uid": body["dashboard"]["uid"], "version": 1})
            elif route == ("POST", "/api/annotations"):
                state.annotations += 1
                self._reply(200, {"id": state.annotations, "message": "Annotation added"})
            else:
                self._reply(404, {"message": "no such route in the fake"})

        do_GET = do_POST = do_PUT = _handle

    return Handler


@pytest.fixture
def grafana() -> Iterator[tuple[str, FakeGrafanaState]]:
    state = FakeGrafanaState()
    with serve(handler_for(state)) as url:
        yield url, state


def test_first_push_creates_folder_and_datasource_then_saves_every_dashboard(
    grafana: tuple[str, FakeGrafanaState],
) -> None:
    url, state = grafana
    result = push(url, TOKEN, prometheus_url="http://prom:9090", scrape_interval="5s", timeout_s=5)
    assert result.folder_created
    assert result.datasource_created
    uids = [d.uid for d in build.dashboards()]
    assert result.dashboards == uids
    assert [(m, p) for m, p, _a, _b in state.requests] == [
        ("GET", "/api/folders/carbonlab"),
        ("POST", "/api/folders"),
        ("GET", f"/api/datasources/uid/{DATASOURCE_UID}"),
        ("POST", "/api/datasources"),
        *[("POST", "/api/dashboards/db")] * len(uids),
    ]
    assert {a for _m, _p, a, _b in state.requests} == {f"Bearer {TOKEN}"}
    assert state.requests[1][3] == {"title": "carbonlab", "uid": "carbonlab"}
    assert state.requests[3][3] == provisioning.datasource("http://prom:9090", "5s")
    for (_m, _p, _a, body), dash in zip(state.requests[4:], build.dashboards(), strict=True):
        assert body == {
            "dashboard": dash.to_json(),
            "folderUid": "carbonlab",
            "overwrite": True,
            "message": "carbonlab dashboards push",
        }


def test_second_push_updates_in_place(grafana: tuple[str, FakeGrafanaState]) -> None:
    url, state = grafana
    push(url, TOKEN, timeout_s=5)
    state.requests.clear()
    result = push(url, TOKEN, timeout_s=5)
    assert not result.folder_created
    assert not result.datasource_created
    methods = [(m, p) for m, p, _a, _b in state.requests]
    assert ("POST", "/api/folders") not in methods
    assert ("PUT", f"/api/datasources/uid/{DATASOURCE_UID}") in methods
    assert ("POST", "/api/datasources") not in methods


def test_wrong_token_is_a_push_error_naming_the_step(grafana: tuple[str, FakeGrafanaState]) -> None:
    url, _state = grafana
    with pytest.raises(PushError, match=r"refused to read the carbonlab folder: HTTP 401"):
        push(url, "wrong", timeout_s=5)


def test_unreachable_grafana_is_a_push_error() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connection refused
        with pytest.raises(PushError, match="cannot reach Grafana"):
            push(f"http://127.0.0.1:{port}", TOKEN, timeout_s=2)
    with pytest.raises(PushError, match=r"Grafana URL: invalid URL .127\.0\.0\.1:3000.: needs http"):
        push("127.0.0.1:3000", TOKEN)


def test_annotations_for_faults_applied_and_healed(grafana: tuple[str, FakeGrafanaState]) -> None:
    url, state = grafana
    annotator = Annotator(url, TOKEN, timeout_s=5)
    assert annotator.fault("node_kill", "apply", "n3 SIGKILL", at_ms=1_700_000_000_000) == 1
    assert annotator.fault("node_kill", "heal", at_ms=1_700_000_060_000) == 2
    (m1, p1, a1, b1), (_m2, _p2, _a2, b2) = state.requests
    assert (m1, p1, a1) == ("POST", "/api/annotations", f"Bearer {TOKEN}")
    assert b1 == {
        "panelId": None,
        "time": 1_700_000_000_000,
        "timeEnd": 1_700_000_000_000,
        "tags": ["carbonlab-rig", "fault:node_kill", "action:apply"],
        "text": "fault node_kill applied: n3 SIGKILL",
    }
    assert b2["tags"] == ["carbonlab-rig", "fault:node_kill", "action:heal"]
    assert b2["text"] == "fault node_kill healed"
    with pytest.raises(PushError, match="not one of apply, heal"):
        annotator.fault("node_kill", "break")  # type: ignore[arg-type]


def test_annotator_from_env(monkeypatch: pytest.MonkeyPatch, grafana: tuple[str, FakeGrafanaState]) -> None:
    url, state = grafana
    monkeypatch.delenv("CARBONLAB_GRAFANA_URL", raising=False)
    assert Annotator.from_env() is None
    monkeypatch.setenv("CARBONLAB_GRAFANA_URL", url)
    monkeypatch.setenv("CARBONLAB_GRAFANA_TOKEN", TOKEN)
    annotator = Annotator.from_env()
    assert annotator is not None
    annotator.fault("meter_stuck", "apply")
    assert state.requests[-1][1] == "/api/annotations"


def test_cli_push(grafana: tuple[str, FakeGrafanaState], capsys: pytest.CaptureFixture[str]) -> None:
    url, _state = grafana
    assert main(["dashboards", "push", "--url", url, "--token", TOKEN, "--timeout", "5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dashboards"] == [d.uid for d in build.dashboards()]
    assert main(["dashboards", "push", "--url", url, "--token", "bad", "--timeout", "5"]) == 2
    assert "HTTP 401" in capsys.readouterr().err
