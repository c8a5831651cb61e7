"""Invariants checked after every scenario, each returning pass/fail with its evidence."""

from carbonlab.rig.invariants.chain import agreement, detection, flagged, validity
from carbonlab.rig.invariants.conflicts import conflicts, read_conflicts
from carbonlab.rig.invariants.liveness import Verdict, liveness
from carbonlab.rig.invariants.result import InvariantResult
from carbonlab.rig.invariants.truth import MeterTruth, accuracy, completeness, load_truth
from carbonlab.rig.invariants.windows import Span, Window, fault_spans, windows

__all__ = ["InvariantResult", "MeterTruth", "Span", "Verdict", "Window", "accuracy", "agreement",
           "completeness", "conflicts", "detection", "flagged", "liveness", "load_truth", "read_conflicts",
           "validity", "windows", "fault_spans"]
