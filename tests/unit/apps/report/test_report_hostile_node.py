"""`report build --node` against a member API that answers 200 with something else than the
API's JSON (an HTML page, an empty object, JSON nested past the recursion limit): refused
naming `--node` and the path (exit 2), nothing written, never a traceback."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from carbonlab.cli import main
from tests.unit.node.query.small_ledger import build as build_ledger

ANSWERS = {
    "html": (b"<html>hi</html>", "the answer is not JSON (line 1: not valid JSON (Expecting value))"),
    "empty object": (b"{}", "not a query result (SchemaError: answer.filter: is required)"),
    "deep": (b"[" * 100_000, "the answer is not JSON (nested too deeply to be read)"),
}


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A server answering 200 with the body set for the longest prefix of the request's path
    ("/" for every path)."""
    bodies: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            prefix = max((p for p in bodies if self.path.startswith(p)), key=len, default=None)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}" if prefix is None else bodies[prefix])

        def log_message(self, *args: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", bodies
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize("case", sorted(ANSWERS))
def test_a_member_answering_nonsense_is_refused_by_name(case: str, server: tuple[str, dict[str, bytes]],
                                                        tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    url, bodies = server
    bodies["/"] = ANSWERS[case][0]
    genesis = tmp_path / "genesis.json"
    build_ledger(tmp_path / "ledger.sqlite").genesis.save(genesis)
    out = tmp_path / "r"
    assert main(["report", "build", "--company", "acme", "--year", "2023", "--template", "eu-mrr",
                 "--node", url, "--genesis", str(genesis), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"carbonlab: error: --node: {url}/v1/emissions/query: {ANSWERS[case][1]}" in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".r.")]


def test_a_member_serving_records_with_blocks_that_do_not_hold_them_is_named(
        server: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    """The record history is the chain's own, but the member's blocks are nonsense, or hold other
    bytes at the record's index: named, never a traceback, never a record without its block."""
    import json

    from carbonlab.apps.report.model import ReportError
    from carbonlab.apps.report.sources import NodeApi
    from carbonlab.node.ledger import Ledger
    from carbonlab.node.ledger.render import block_json
    from tests.unit.apps.report.chain_ledger import build as build_chain

    kit = build_chain(tmp_path / "ledger.sqlite")
    with Ledger.open(tmp_path / "ledger.sqlite", kit.genesis) as ledger:
        history = {"records": [e.to_json() for e in ledger.allowance_history("acme", 2023)]}
        other = block_json(next(iter(ledger.blocks(1, 1))), with_requests=True, with_batches=True)
    url, bodies = server
    bodies["/v1/allowances/history"] = json.dumps(history).encode()
    source = NodeApi(url, kit.genesis)
    try:
        bodies["/v1/blocks/"] = b'{"height": 4}'
        with pytest.raises(ReportError, match=r"a block of an unexpected shape \(KeyError: 'header'\)"):
            source.chain_records("acme", 2023)
        bodies["/v1/blocks/"] = json.dumps(other).encode()      # block 1 served for block 4
        with pytest.raises(ReportError, match=r"block 4 request 0 is not record [0-9a-f]{64}"):
            source.chain_records("acme", 2023)
    finally:
        source.close()
