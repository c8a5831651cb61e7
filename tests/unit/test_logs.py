"""carbonlab.logs: the one JSON-lines format of every process (node, gateway, meters)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from carbonlab import logs


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = logging.getLogger("libp2p.network.swarm")
    quiet_level = quiet.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    quiet.setLevel(quiet_level)


@pytest.mark.usefixtures("restore_root")
def test_every_line_is_json_with_process_identity_and_extras() -> None:
    out = io.StringIO()
    logs.setup("node", {"member": "n3"}, "info", {"libp2p.network.swarm": logging.CRITICAL}, stream=out)
    logging.getLogger("carbonlab.node.driver").info("committed %d", 7, extra={"height": 7})
    logging.getLogger("carbonlab.node.driver").debug("below the level")
    logging.getLogger("libp2p.network.swarm").error("dial failed")   # quieted
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 1
    line = lines[0]
    assert list(line)[:6] == ["ts", "level", "logger", "process", "member", "msg"]
    assert (line["level"], line["logger"], line["process"], line["member"], line["msg"], line["height"]) == \
        ("info", "carbonlab.node.driver", "node", "n3", "committed 7", 7)
    assert line["ts"].endswith("+00:00")
