"""`LedgerThread` on a real SQLite ledger: calls in a worker thread, one at a time; a point
lookup on the loop's own thread while no worker holds the ledger, in a worker while one does."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import trio

from carbonlab.node.decision import Decision
from carbonlab.node.driver import LedgerThread
from carbonlab.node.ledger.store import Ledger
from tests.unit.node.factories import make_kit


@pytest.mark.timeout(30)
def test_a_lookup_runs_on_the_loop_thread_when_free_and_waits_its_turn_when_not(tmp_path: Path) -> None:
    genesis = make_kit().genesis
    Ledger.open(tmp_path / "l.sqlite", genesis).close()
    reader = LedgerThread(Ledger.open_readonly(tmp_path / "l.sqlite", genesis))
    loop_thread = threading.get_ident()
    order: list[str] = []

    def where(ledger: Ledger) -> tuple[int, Decision | None]:
        return threading.get_ident(), ledger.batch_status("gw1", 1)

    async def main() -> None:
        ident, status = await reader.lookup(where)
        assert ident == loop_thread          # free: no thread hop
        assert status is None                # nothing of gw1 on an empty ledger
        assert (await reader.call(where))[0] != loop_thread

        release = threading.Event()

        def slow(ledger: Ledger) -> None:
            order.append("slow started")
            assert release.wait(10)
            order.append("slow done")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader.call, slow)
            while "slow started" not in order:
                await trio.sleep(0.01)

            async def looked_up() -> None:
                ident, _ = await reader.lookup(where)
                order.append("lookup in a worker" if ident != loop_thread else "lookup on the loop")

            nursery.start_soon(looked_up)
            await trio.sleep(0.2)
            assert order == ["slow started"]   # the lookup waits for the ledger, it does not share it
            release.set()
        assert order == ["slow started", "slow done", "lookup in a worker"]

    try:
        trio.run(main)
    finally:
        reader.ledger.close()
