"""The fault catalogue: faults with ids, parameters, apply and heal, and their journal."""

from carbonlab.rig.faults.base import Fault, Param
from carbonlab.rig.faults.catalogue import FAULTS, describe, make_fault
from carbonlab.rig.faults.context import FaultContext, LabNet, NetHost, ServiceRef
from carbonlab.rig.faults.journal import FaultJournal
from carbonlab.rig.faults.records import FaultOutcome, FaultRecord, TrafficOutcome

__all__ = ["FAULTS", "Fault", "FaultContext", "FaultJournal", "FaultOutcome", "FaultRecord", "LabNet",
           "NetHost", "Param", "ServiceRef", "TrafficOutcome", "describe", "make_fault"]
