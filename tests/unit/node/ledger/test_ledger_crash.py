"""A ledger process SIGKILLed at random instants reopens consistent and keeps what it reported."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from carbonlab.node.ledger import Ledger
from carbonlab.node.ledger.verify import verify_ledger
from tests.unit.node.factories import make_kit

REPO = Path(__file__).resolve().parents[4]
KILLS = 12


def run_and_kill(path: Path, rng: random.Random) -> int:
    """Start a writer, let it commit for a random while, SIGKILL it; return the last height it
    reported as committed (-1 if none)."""
    reported = [-1]
    opened = threading.Event()
    with subprocess.Popen([sys.executable, "-m", "tests.unit.node.ledger.crash_writer", str(path)],
                          cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}) as proc:

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                word, height = line.split()
                if word == "opened":
                    opened.set()
                else:
                    reported.append(int(height))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            assert opened.wait(timeout=60), "the writer did not open the ledger"
            time.sleep(rng.uniform(0.0, 0.4))  # a random instant while it commits
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        reader.join(timeout=30)
        errors = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == -signal.SIGKILL, errors
    return max(reported)


def test_sigkill_at_random_instants_leaves_a_consistent_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    kit = make_kit()
    rng = random.Random(20261126)
    previous = 0
    for _ in range(KILLS):
        reported = run_and_kill(path, rng)
        with Ledger.open(path, kit.genesis) as ledger:
            height = ledger.height
            records = ledger.load_consensus_records()
        assert height >= reported, "a block the writer reported as committed was lost"
        assert height >= previous
        # each record is written in its own transaction right after its block
        last = records[-1] if records else b"executed 0"
        assert last in (f"executed {height}".encode(), f"executed {height - 1}".encode())
        report = verify_ledger(path, kit.genesis)
        assert report.ok, report.problems
        assert report.blocks == height
        previous = height
    assert previous > KILLS  # the kills did not all land before the first commit
