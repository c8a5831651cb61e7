"""The rig dashboard: faults applied and healed, invariant results, and the members they hit."""

from __future__ import annotations

from carbonlab.dashboards.consensus import NODE
from carbonlab.dashboards.model import UP_DOWN, UP_DOWN_TEXT, Dashboard, Panel, Query, Threshold

ACTIVE = (Threshold("green", None), Threshold("red", 1))


def dashboard() -> Dashboard:
    panels = (
        Panel(
            "Invariants",
            "stat",
            (Query("invariant:carbonlab_rig_invariant_ok:min", "{{invariant}}", instant=True),),
            width=24,
            height=4,
            thresholds=UP_DOWN,
            mappings={"0": ("FAIL", "red"), "1": ("OK", "green")},
        ),
        Panel(
            "Faults active",
            "state-timeline",
            (Query("fault:carbonlab_rig_fault_active:max", "{{fault}}"),),
            width=24,
            height=8,
            thresholds=ACTIVE,
            mappings={"0": ("healed", "green"), "1": ("active", "red")},
        ),
        Panel(
            "Faults applied and healed (1 h)",
            "timeseries",
            (Query("fault_action:carbonlab_rig_faults:increase1h", "{{fault}} {{action}}"),),
            width=12,
        ),
        Panel(
            "Members up",
            "state-timeline",
            (Query('up{job="node", member=~"$node"}', "{{member}}"),),
            description="Raw scrape health: node faults show here at the first failed scrape.",
            width=12,
            thresholds=UP_DOWN,
            mappings=UP_DOWN_TEXT,
        ),
    )
    return Dashboard(
        "carbonlab-rig", "carbonlab / Rig", "Hardware-in-the-loop faults and invariants.", panels, (NODE,)
    )
