"""The fault journal: it applies and heals faults, keeps a `FaultRecord` of each injection, and
heals whatever is still applied, newest first, when the rig stops, also after a failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from carbonlab.rig.errors import FaultError
from carbonlab.rig.faults.base import Fault
from carbonlab.rig.faults.records import FaultRecord

if TYPE_CHECKING:
    from carbonlab.rig.faults.context import FaultContext


@dataclass
class FaultJournal:
    ctx: FaultContext
    records: list[FaultRecord] = field(default_factory=list)
    _active: list[tuple[Fault, FaultRecord]] = field(default_factory=list)
    # told of every fault applied and healed (action "apply" | "heal"), e.g. to mark it on Grafana;
    # it must not raise (carbonlab.rig.annotations.GrafanaMarks logs and counts its failures)
    on_event: Callable[[FaultRecord, str], None] | None = None

    def apply(self, fault: Fault) -> FaultRecord:
        record = FaultRecord(fault.id, fault.target, dict(fault.params),
                             heal_after_checks=fault.heal_after_checks)
        self.records.append(record)
        record.applied_at = time.time()
        try:
            record.applied = fault.apply(self.ctx)
        except Exception as exc:
            record.error = f"apply: {exc}"
            record.outcome = fault.outcome()
            self._active.append((fault, record))  # heal whatever part of it happened
            raise
        record.outcome = fault.outcome()
        self._active.append((fault, record))
        if self.on_event is not None:
            self.on_event(record, "apply")
        return record

    def heal(self, fault: Fault) -> FaultRecord:
        for i, (active, record) in enumerate(self._active):
            if active is fault:
                del self._active[i]
                try:
                    record.healed = fault.heal(self.ctx)
                except Exception as exc:
                    record.error = (record.error + "; " if record.error else "") + f"heal: {exc}"
                    raise
                record.healed_at = time.time()
                if self.on_event is not None:
                    self.on_event(record, "heal")
                return record
        raise FaultError(f"fault {fault!r} is not applied")

    def active(self) -> list[Fault]:
        return [f for f, _ in self._active]

    def active_records(self) -> list[FaultRecord]:
        """The records of the faults still applied, oldest first."""
        return [r for _, r in self._active]

    def heal_all(self) -> list[str]:
        """Heal every applied fault, newest first; return the errors (never raises)."""
        errors = []
        for fault in reversed(self.active()):
            try:
                self.heal(fault)
            except Exception as exc:  # noqa: BLE001 - keep healing the rest, report every failure
                errors.append(f"{fault!r}: {exc}")
        return errors
