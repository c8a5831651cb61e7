"""Fixtures of the ledger tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.node.factories import Kit
from tests.unit.node.ledger.test_ledger_verify import build


@pytest.fixture
def made(tmp_path: Path) -> tuple[Kit, Path, Path]:
    """A small ledger file of `KIT_BLOCKS` blocks and its genesis file: (kit, ledger, genesis)."""
    path, genesis = tmp_path / "l.sqlite", tmp_path / "genesis.json"
    kit = build(path)
    kit.genesis.save(genesis)
    return kit, path, genesis
