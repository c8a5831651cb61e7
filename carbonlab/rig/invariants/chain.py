"""Invariants read from the nodes' ledger files: agreement, validity, detection.

Agreement: for every height present on two or more honest ledgers, one block hash.
Validity: every honest ledger passes the offline verifier (certificates, hash links, and
every committed reading re-checked by the contract). Detection: every tampering the rig did
is found by that verifier on the node and at the height where it was done.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger.verify import verify_ledger
from carbonlab.node.sigcache import VerifiedSignatures
from carbonlab.rig.invariants.result import InvariantResult, capped, read_only


def heads(path: Path) -> dict[int, bytes]:
    db = read_only(path)
    try:
        return {int(h): bytes(x) for h, x in db.execute("SELECT height, hash FROM blocks ORDER BY height")}
    finally:
        db.close()


def agreement(ledgers: Mapping[str, Path]) -> InvariantResult:
    by_height: dict[int, dict[bytes, list[str]]] = defaultdict(lambda: defaultdict(list))
    tops: dict[str, int] = {}
    for member, path in sorted(ledgers.items()):
        chain = heads(path)
        tops[member] = max(chain, default=-1)
        for height, block_hash in chain.items():
            by_height[height][block_hash].append(member)
    forks = {h: v for h, v in sorted(by_height.items()) if len(v) > 1}
    evidence = [f"height {h}: " + "; ".join(f"{x.hex()[:16]} on {', '.join(ms)}" for x, ms in v.items())
                for h, v in forks.items()]
    shared = [h for h, v in by_height.items() if sum(len(ms) for ms in v.values()) > 1]
    heights = ", ".join(f"{m}={h}" for m, h in tops.items())
    if forks:
        return InvariantResult("agreement", False, f"{len(forks)} height(s) with two block hashes "
                               f"(first {min(forks)}); heights {heights}", capped(evidence),
                               {"heights": tops})
    return InvariantResult("agreement", True, f"one hash per height on {len(ledgers)} ledgers "
                           f"({len(shared)} heights shared); heights {heights}", [], {"heights": tops})


def validity(ledgers: Mapping[str, Path], genesis: Genesis,
             signatures: VerifiedSignatures | None = None) -> InvariantResult:
    """Every ledger verified offline. The members' copies of one chain hold the same batches and
    certificates: with one `signatures` memory each signature is verified once, not once per copy
    (every other check still runs on every copy)."""
    evidence: list[str] = []
    readings = 0
    signatures = signatures or VerifiedSignatures(capacity=1 << 20)
    for member, path in sorted(ledgers.items()):
        report = verify_ledger(path, genesis, signatures=signatures)
        readings += report.readings
        evidence += [f"{member}: {p}" for p in report.problems]
    if evidence:
        return InvariantResult("validity", False, f"{len(evidence)} problem(s) found by the offline verifier",
                               capped(evidence))
    return InvariantResult("validity", True, f"{len(ledgers)} ledgers verified offline, {readings} readings "
                           "re-checked by the contract", [], {"readings": readings})


def detection(tampered: Mapping[str, int], ledgers: Mapping[str, Path], genesis: Genesis,
              signatures: VerifiedSignatures | None = None) -> InvariantResult:
    """`tampered`: member -> height the rig altered. Every one must be reported at that height.
    `signatures`: as for `validity`."""
    evidence, missed = [], []
    for member, height in sorted(tampered.items()):
        if member not in ledgers:
            missed.append(member)
            evidence.append(f"{member}: its ledger was not collected, so the tampering at height {height} "
                            "could not be looked for")
            continue
        problems = verify_ledger(ledgers[member], genesis, signatures=signatures).problems
        at = [p for p in problems if p.startswith(f"height {height}:")]
        if at:
            evidence.append(f"{member}: detected: {at[0]}")
        else:
            missed.append(member)
            evidence.append(f"{member}: tampering at height {height} NOT detected (verifier: "
                            f"{'; '.join(problems[:3]) or 'no problem'})")
    if not tampered:
        return InvariantResult("detection", True, "no tampering injected", [])
    if missed:
        return InvariantResult("detection", False, f"tampering missed on {', '.join(missed)}", evidence)
    return InvariantResult("detection", True,
                           f"every tampering found ({len(tampered)}), naming node and height", evidence)


def flagged(meters: list[str], ledger: Path, since: int) -> InvariantResult:
    """Every listed meter has readings on the ledger since `since`, and at least one carries an
    anomaly mark (a faulty meter's readings are kept, and marked for the verifier)."""
    db = read_only(ledger)
    try:
        evidence, ok = [], True
        for meter in meters:
            total, marked, marks = db.execute(
                "SELECT COUNT(*), SUM(anomalies != ''), GROUP_CONCAT(DISTINCT NULLIF(anomalies, '')) "
                "FROM readings WHERE meter_id = ? AND interval_start >= ?", (meter, since)).fetchone()
            ok = ok and bool(total) and bool(marked)
            evidence.append(f"{meter}: {total} readings committed, {marked or 0} marked "
                            f"({marks or 'no marks'})")
    finally:
        db.close()
    return InvariantResult("flagged", ok, "faulty meters' readings committed and marked" if ok
                           else "a faulty meter's readings were lost or not marked", evidence)
