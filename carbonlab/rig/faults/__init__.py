"""The fault catalogue: faults with ids, parameters, apply and heal, and their journal."""

from carbonlab.rig.faults.base import Fault, FaultJournal, FaultRecord, Param
from carbonlab.rig.faults.catalogue import FAULTS, describe, make_fault
from carbonlab.rig.faults.context import FaultContext, LabNet, NetHost, ServiceRef

__all__ = ["FAULTS", "Fault", "FaultContext", "FaultJournal", "FaultRecord", "LabNet", "NetHost", "Param",
           "ServiceRef", "describe", "make_fault"]
