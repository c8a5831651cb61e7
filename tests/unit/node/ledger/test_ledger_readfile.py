"""Reading a ledger file writes nothing beside it (`readfile`): no -wal or -shm after a look at
a file that had none, a read-only directory is enough, and a file a writer opens meanwhile is
read again through its WAL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from carbonlab.cli import main
from carbonlab.node.ledger import Ledger
from carbonlab.node.ledger.errors import LedgerFileError
from carbonlab.node.ledger.readfile import open_readonly
from carbonlab.node.ledger.verify import verify_ledger
from carbonlab.node.query import EmissionsFilter, open_source
from tests.unit.node.factories import Kit
from tests.unit.node.ledger.test_ledger_verify import KIT_BLOCKS


def listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def test_read_only_commands_leave_no_sidecar_files(made: tuple[Kit, Path, Path]) -> None:
    _, path, genesis = made
    before = listing(path)
    assert "l.sqlite-wal" not in before
    assert main(["ledger", "verify", str(path), "--genesis", str(genesis)]) == 0
    assert main(["ledger", "show", str(path), "--height", "2", "--requests"]) == 0
    assert main(["ledger", "head", str(path)]) == 0
    assert main(["ledger", "proof", str(path), "--meter", "m1", "--seq", "1"]) == 0
    with open_source(path) as source:
        source.query(EmissionsFilter())
    assert listing(path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory anyway")
def test_a_ledger_in_a_read_only_directory_verifies_and_answers(made: tuple[Kit, Path, Path]) -> None:
    kit, path, _ = made
    path.chmod(0o444)
    path.parent.chmod(0o555)
    try:
        assert verify_ledger(path, kit.genesis).ok
        with Ledger.open_readonly(path, kit.genesis) as ledger:
            assert ledger.height == KIT_BLOCKS
    finally:
        path.parent.chmod(0o755)


def _as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    """`carbonlab ARGS` run as the unprivileged user 65534 (root writes through any mode)."""
    code = f"from carbonlab.cli import main; raise SystemExit(main({list(args)!r}))"
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=False, cwd="/")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to run the commands as another user")
def test_a_read_only_directory_is_enough_for_an_unprivileged_user(made: tuple[Kit, Path, Path]) -> None:
    """As root, the commands run as user 65534 over a copy in a directory it may not write."""
    _, path, genesis = made
    if _as_nobody("--version").returncode != 0:
        pytest.skip("this checkout is not readable by user 65534")
    top = Path(tempfile.mkdtemp(prefix="carbonlab-ro-"))
    try:
        shelf = top / "evidence"
        shelf.mkdir()
        shutil.copy(path, shelf / "l.sqlite")
        shutil.copy(genesis, shelf / "genesis.json")
        for p in shelf.iterdir():
            p.chmod(0o444)
        shelf.chmod(0o555)
        top.chmod(0o755)
        ledger, gen = str(shelf / "l.sqlite"), str(shelf / "genesis.json")
        done = _as_nobody("ledger", "verify", ledger, "--genesis", gen)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"ok: {KIT_BLOCKS} blocks"), done.stdout
        done = _as_nobody("emissions", "query", "--ledger", ledger, "--genesis", gen)
        assert done.returncode == 0, done.stderr
        assert sorted(p.name for p in shelf.iterdir()) == ["genesis.json", "l.sqlite"]
    finally:
        shelf.chmod(0o755)
        shutil.rmtree(top)


def test_a_file_with_no_wal_is_read_immutable_and_with_one_through_its_wal(
        made: tuple[Kit, Path, Path]) -> None:
    kit, path, _ = made
    db = open_readonly(path)
    assert db.stamp is not None      # immutable: nothing beside the file
    db.close()
    with Ledger.open(path, kit.genesis):        # a live writer: its -wal is there
        db = open_readonly(path)
        assert db.stamp is None
        assert not db.changed()
        db.close()


def test_a_reader_opened_before_its_writer_sees_the_writer_blocks(made: tuple[Kit, Path, Path]) -> None:
    kit, path, _ = made
    with Ledger.open_readonly(path, kit.genesis) as reader:
        assert reader.height == KIT_BLOCKS
        with Ledger.open(path, kit.genesis) as writer:
            requests = [kit.next_batch("gw1").encode()]
            writer.commit(*kit.certified(KIT_BLOCKS + 1, requests))
            assert reader.height == KIT_BLOCKS + 1        # opened again, through the WAL
            assert reader.block(KIT_BLOCKS + 1) is not None
            # verify beside a live writer reads its committed blocks from the WAL
            report = verify_ledger(path, kit.genesis)
            assert report.ok
            assert report.blocks == KIT_BLOCKS + 1


def test_a_writer_starting_during_an_immutable_read_is_an_error_not_a_torn_answer(
        made: tuple[Kit, Path, Path]) -> None:
    kit, path, _ = made
    with Ledger.open_readonly(path, kit.genesis) as reader:
        with pytest.raises(LedgerFileError, match="a writer opened the file while it was read"), \
                reader._readable():      # every read runs inside it; a writer starts meanwhile
            Ledger.open(path, kit.genesis).close()
        assert reader.height == KIT_BLOCKS     # the next read opens the file again
