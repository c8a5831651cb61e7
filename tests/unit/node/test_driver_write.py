"""The driver's durable write path on a real SQLite ledger: blocks with their records in one
transaction, records alone, and the compaction of the consensus records."""

from __future__ import annotations

from pathlib import Path

from carbonlab.node.driver import Durable, _write
from carbonlab.node.ledger.store import Ledger
from carbonlab.node.pbft import Action, RecoveredState, Replica, StableCheckpoint
from tests.unit.node.pbft.cluster import Cluster

PARAMS = {"checkpoint_interval": 2, "watermark_window": 4, "max_block_batches": 2,
          "batch_delay_ms": 0, "request_timeout_ms": 1000, "view_change_timeout_ms": 1000}


class Recording(Cluster):
    """A cluster that also keeps n2's durable actions, in the order the replica emitted them."""

    def __init__(self) -> None:
        super().__init__(4, PARAMS)
        self.durable: list[Durable] = []

    def handle(self, member: str, actions: list[Action]) -> None:
        if member == "n2":
            self.durable += [a for a in actions if isinstance(a, Durable)]
        super().handle(member, actions)


def test_blocks_records_and_compaction_on_a_real_ledger(tmp_path: Path) -> None:
    c = Recording()
    for i in range(24):
        c.submit(c.ids[i % 4], c.batch(f"gw{1 + i % 2}"))
        c.tick(20)
    c.tick(200)
    height = c.heights()["n2"]
    assert height >= 10, c.heights()
    with Ledger.open(tmp_path / "n2.sqlite", c.genesis) as ledger:
        summaries = []
        for k in range(0, len(c.durable), 7):            # bursts of uneven size
            summaries += _write(ledger, c.durable[k: k + 7], compact=False)
        assert [s.height for s in summaries] == list(range(1, height + 1))
        assert ledger.height == height
        assert ledger.head_hash == c.stores["n2"].head_hash
        assert all(v.accepted for s in summaries for v in s.verdicts)
        assert sum(len(s.readings) for s in summaries) == ledger.reading_count()
        everything = ledger.load_consensus_records()
        assert everything == c.stores["n2"].records      # same records, same order
        stable = c.replica("n2").stable
        assert stable.seq >= 2
        assert [a.proof for a in c.durable if isinstance(a, StableCheckpoint)][-1] == stable
        stored = ledger.stable_checkpoint()            # the StableCheckpoint action, stored
        assert stored is not None
        assert (stored.seq, stored.block_hash, tuple(stored.signatures)) == \
            (stable.seq, stable.block_hash, tuple(stable.signatures))

        assert _write(ledger, [], compact=True) == []
        kept = ledger.load_consensus_records()
        assert 0 < len(kept) < len(everything) / 2, (len(kept), len(everything))
        recovered = RecoveredState(kept, ledger.height, ledger.head_hash,
                                   dict(ledger.state.last_batch_seq))
    before = c.replica("n2")
    after = Replica(c.genesis, "n2", c.kit.members["n2"], recovered=recovered, now_ms=c.now_ms)
    assert (after.view, after.stable.seq, after.last_executed) == \
        (before.view, before.stable.seq, before.last_executed)
    assert after.agreement.signed.items() >= {
        k: v for k, v in before.agreement.signed.items() if k[2] > before.stable.seq}.items()
