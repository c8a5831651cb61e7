"""Grafana annotations from the rig: every fault applied and healed is posted once, with the rig's
tags, to a real HTTP server on a real socket that records what it gets; a Grafana that is away
or failing never fails the fault, it is counted."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from carbonlab.rig.annotations import GrafanaMarks, grafana_marks
from carbonlab.rig.faults import FaultContext, FaultJournal, ServiceRef, make_fault
from carbonlab.rig.hosts.service import ServiceHost
from tests.recording_http import serve
from tests.unit.rig.conftest import sleeper_argv


@dataclass
class Recorded:
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def grafana() -> Iterator[tuple[str, Recorded]]:
    """An HTTP server on 127.0.0.1 answering POST /api/annotations as Grafana does."""
    rec = Recorded()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            rec.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                 "body": json.loads(body)})
            reply = json.dumps({"id": len(rec.requests), "message": "Annotation added"}
                               if rec.status == 200 else {"message": "boom"}).encode()
            self.send_response(rec.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serve(Handler) as url:
        yield url, rec


@pytest.fixture
def ctx(host: ServiceHost, tmp_path: Path) -> FaultContext:
    host.start("node-n1", sleeper_argv(tmp_path), str(tmp_path))
    return FaultContext(nodes={"n1": ServiceRef(host, "node-n1", "h1", tmp_path / "n1")})


def _journal(ctx: FaultContext, url: str, token: str | None = "tok-1") -> tuple[FaultJournal, GrafanaMarks]:
    marks = grafana_marks(url, token)
    assert marks is not None
    marks.scenario, marks.seed = "primary-killed", 101
    return FaultJournal(ctx, on_event=marks), marks


def test_apply_and_heal_each_post_one_annotation(ctx: FaultContext, grafana: tuple[str, Recorded]) -> None:
    url, rec = grafana
    journal, marks = _journal(ctx, url)
    fault = make_fault("node.kill", "n1")
    record = journal.apply(fault)
    journal.heal(fault)
    assert marks.posted == 2
    assert marks.failures == []
    assert [r["path"] for r in rec.requests] == ["/api/annotations", "/api/annotations"]
    assert all(r["auth"] == "Bearer tok-1" for r in rec.requests)
    applied, healed = (r["body"] for r in rec.requests)
    for body, action in ((applied, "apply"), (healed, "heal")):
        assert set(body["tags"]) >= {"carbonlab-rig", "fault:node.kill", f"action:{action}", "target:n1",
                                     "scenario:primary-killed", "seed:101"}
    assert record.applied_at is not None
    assert record.healed_at is not None
    assert applied["time"] == applied["timeEnd"] == int(record.applied_at * 1000)
    assert healed["time"] == int(record.healed_at * 1000)
    assert applied["text"].startswith("fault node.kill applied: n1: ")
    assert healed["text"].startswith("fault node.kill healed: n1: ")


def test_unreachable_grafana_is_counted_not_fatal(ctx: FaultContext, host: ServiceHost) -> None:
    with socket.socket() as s:            # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    journal, marks = _journal(ctx, f"http://127.0.0.1:{port}")
    fault = make_fault("node.kill", "n1")
    journal.apply(fault)
    assert not host.service("node-n1").running       # killed (held by its supervisor), not back
    journal.heal(fault)
    assert host.service("node-n1").running
    assert marks.posted == 0
    assert len(marks.failures) == 2
    assert marks.failures[0].startswith("apply node.kill n1: cannot reach Grafana")
    assert marks.summary()["failed"] == 2


def test_grafana_error_answer_is_counted(ctx: FaultContext, grafana: tuple[str, Recorded]) -> None:
    url, rec = grafana
    rec.status = 500
    journal, marks = _journal(ctx, url, token=None)
    journal.apply(make_fault("node.pause", "n1"))
    assert journal.heal_all() == []
    assert len(rec.requests) == 2              # it was asked, and said no
    assert rec.requests[0]["auth"] is None
    assert marks.posted == 0
    assert "HTTP 500" in marks.failures[0]


def test_configured_from_the_environment_or_not_at_all(monkeypatch: pytest.MonkeyPatch,
                                                       grafana: tuple[str, Recorded]) -> None:
    monkeypatch.delenv("CARBONLAB_GRAFANA_URL", raising=False)
    assert grafana_marks() is None
    url, _rec = grafana
    monkeypatch.setenv("CARBONLAB_GRAFANA_URL", url)
    monkeypatch.setenv("CARBONLAB_GRAFANA_TOKEN", "tok-env")
    marks = grafana_marks()
    assert marks is not None
    assert marks.url == url
