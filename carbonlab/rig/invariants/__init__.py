"""Invariants checked after every scenario, each returning pass/fail with its evidence."""

from carbonlab.rig.invariants.chain import agreement, detection, flagged, validity
from carbonlab.rig.invariants.conflicts import conflicts, read_conflicts
from carbonlab.rig.invariants.liveness import Window, liveness
from carbonlab.rig.invariants.result import InvariantResult
from carbonlab.rig.invariants.truth import MeterTruth, accuracy, completeness, load_truth

__all__ = ["InvariantResult", "MeterTruth", "Window", "accuracy", "agreement", "completeness", "conflicts",
           "detection", "flagged", "liveness", "load_truth", "read_conflicts", "validity"]
