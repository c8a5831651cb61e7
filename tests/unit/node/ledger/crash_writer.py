"""Child process of the SIGKILL test: commits blocks to a ledger forever, printing each height.

    python -m tests.unit.node.ledger.crash_writer LEDGER

It resumes from whatever the ledger holds (counters come from the contract state), and prints
`committed H` only after `Ledger.commit` returned, so every printed height must survive a kill.
"""

from __future__ import annotations

import sys
from pathlib import Path

from carbonlab.node.ledger import Ledger
from tests.unit.node.factories import make_kit


def main(path: Path) -> None:
    kit = make_kit()
    with Ledger.open(path, kit.genesis) as ledger:
        state = ledger.state
        kit.batch_seq.update(state.last_batch_seq)
        kit.reading_seq.update(state.last_reading_seq)
        # a kill between a block and its record leaves that record missing: write it on resume,
        # so that the test's rule (the last record is for this height or the one before) holds
        # also after two such kills in a row (it failed once that way on a loaded machine)
        records = ledger.load_consensus_records()
        if ledger.height and (not records or records[-1] != f"executed {ledger.height}".encode()):
            ledger.save_consensus_record(f"executed {ledger.height}".encode())
        print(f"opened {ledger.height}", flush=True)
        while True:
            requests = [kit.next_batch(g, per_meter=4).encode() for g in ("gw1", "gw2") * 4]
            ledger.commit(*kit.certified(ledger.height + 1, requests))
            ledger.save_consensus_record(f"executed {ledger.height}".encode())
            print(f"committed {ledger.height}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
