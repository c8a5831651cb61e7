"""The structure module against the meters' truth logs, on a running lab (used by the HIL tests)."""

from __future__ import annotations

import pytest

from carbonlab.node.gwp import GwpSet
from carbonlab.node.model import DataFlag
from carbonlab.node.query import EmissionsFilter, Level, Measured, Period, open_source
from carbonlab.rig.invariants.truth import load_truth, truth_mass_kg
from carbonlab.rig.labbind import RigLab
from tests.waiting import wait_until

TOLERANCE = 0.02   # docs/query.md: the truth log is sampled each second, the gateway averages polls


def check_structure_against_truth(lab: RigLab, *, member: str, minutes: float, after: int = 0) -> None:
    """`after` (UTC epoch seconds): only intervals starting then or later count, so a lab that
    ran faults before (the shared lab) is judged on what it did since."""
    genesis = lab.genesis
    interval = genesis.params.reading_interval_s
    ledger = lab.ctx.nodes[member].data_dir / "ledger.sqlite"
    meters = sorted(lab.truth_logs)
    normal = EmissionsFilter(flags=(DataFlag.NORMAL,), measured=Measured.MEASURED)

    def span() -> tuple[int, int] | None:
        if not ledger.exists():
            return None
        with open_source(ledger) as src:
            rows = src.query(normal, period=Period.INTERVAL, level=Level.METER).rows
        starts = {m: sorted(r.period_start for r in rows if r.meter == m and r.readings) for m in meters}
        if not all(starts.values()):
            return None
        lo = max(s[0] for s in starts.values()) + interval     # every meter past its first interval
        lo = max(lo, after)
        hi = min(s[-1] for s in starts.values()) + interval
        return (lo, hi) if hi - lo >= minutes * 60 else None

    since, until = wait_until(span, 60 * minutes + 300, f"{minutes} min of normal readings of every "
                                                        f"meter on {member}'s ledger")
    window = EmissionsFilter(since=since, until=until, flags=(DataFlag.NORMAL,),
                             measured=Measured.MEASURED)
    with open_source(ledger) as src:
        rows = src.query(window, period=Period.INTERVAL, level=Level.METER).rows
        tree = src.structure(window, GwpSet.AR5)
    stacks = {(s.name, u.name): s for c in tree.root.children for p in c.children
              for u in p.children for s in u.children}
    for meter in meters:
        info = genesis.meter_by_id[meter]
        truth = load_truth(lab.truth_logs[meter][1], meter)
        want, intervals = 0.0, 0
        for row in rows:
            if row.meter != meter or not row.readings:
                continue
            lines = truth.interval_lines(row.period_start, interval)
            assert len(lines) >= interval // 2, f"{meter}: truth log lacks interval {row.period_start}"
            mass = truth_mass_kg(lines, info.co2_basis, interval)
            assert mass is not None
            want += mass
            intervals += 1
        assert intervals >= minutes * 60 // interval
        got = stacks[(info.stack, info.unit)].totals.co2_kg
        assert got == pytest.approx(want, rel=TOLERANCE), (meter, intervals)
    assert tree.root.totals.readings == sum(r.readings for r in rows)
