"""A fault: an id from the catalogue, a target, checked parameters, `apply` and its inverse `heal`,
and a record of when each happened.

Theory of operation. A `Fault` object is one injection: made from plain data (a scenario
line), its parameters checked against the class's `PARAMS` at construction so that a bad
scenario fails before anything is touched. `apply(ctx)` acts and returns a line saying what
it did; `heal(ctx)` undoes it and is safe to call twice. The `FaultJournal` runs them and
keeps a `FaultRecord` per injection (wall times, details, errors), and heals whatever is
still applied, newest first, when the rig stops, also after a failure.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from carbonlab.rig.errors import FaultError

if TYPE_CHECKING:
    from carbonlab.rig.faults.context import FaultContext

REQUIRED = object()


@dataclass(frozen=True)
class Param:
    kind: type
    default: Any = REQUIRED
    help: str = ""
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def check(self, fault_id: str, name: str, value: Any) -> Any:
        where = f"fault {fault_id}: parameter {name}"
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.kind) or (self.kind is int and isinstance(value, bool)):
            raise FaultError(f"{where}: expected {self.kind.__name__}, got {value!r}")
        if self.choices and value not in self.choices:
            raise FaultError(f"{where}: {value!r} is not one of {', '.join(map(str, self.choices))}")
        if self.minimum is not None and value < self.minimum:  # type: ignore[operator]
            raise FaultError(f"{where}: {value!r} is below {self.minimum}")
        if self.maximum is not None and value > self.maximum:  # type: ignore[operator]
            raise FaultError(f"{where}: {value!r} is above {self.maximum}")
        return value


class Fault(ABC):
    id: ClassVar[str]
    summary: ClassVar[str]
    target_kind: ClassVar[str]          # "node", "gateway", "meter", "host", "lab"
    PARAMS: ClassVar[dict[str, Param]] = {}

    def __init__(self, target: str, params: Mapping[str, Any] | None = None) -> None:
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.PARAMS))
        if unknown:
            allowed = ", ".join(sorted(self.PARAMS)) or "none"
            raise FaultError(f"fault {self.id}: unknown parameter(s) {', '.join(unknown)} "
                             f"(allowed: {allowed})")
        checked: dict[str, Any] = {}
        for name, spec in self.PARAMS.items():
            if name in params:
                checked[name] = spec.check(self.id, name, params[name])
            elif spec.default is REQUIRED:
                raise FaultError(f"fault {self.id}: parameter {name} is required ({spec.help})")
            else:
                checked[name] = spec.default
        if not isinstance(target, str) or not target:
            raise FaultError(f"fault {self.id}: target must name a {self.target_kind}, got {target!r}")
        self.target = target
        self.params = checked
        self.undo: dict[str, Any] = {}  # what heal needs, filled by apply

    def __repr__(self) -> str:
        return f"{self.id}({self.target}, {self.params})"

    @abstractmethod
    def apply(self, ctx: FaultContext) -> str:
        """Inject; return one line saying what was done."""

    @abstractmethod
    def heal(self, ctx: FaultContext) -> str:
        """Undo `apply`; idempotent."""


@dataclass
class FaultRecord:
    fault: str
    target: str
    params: dict[str, Any]
    applied_at: float | None = None
    healed_at: float | None = None
    applied: str = ""
    healed: str = ""
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"fault": self.fault, "target": self.target, "params": self.params,
                "applied_at": self.applied_at, "healed_at": self.healed_at,
                "applied": self.applied, "healed": self.healed, "error": self.error}


@dataclass
class FaultJournal:
    ctx: FaultContext
    records: list[FaultRecord] = field(default_factory=list)
    _active: list[tuple[Fault, FaultRecord]] = field(default_factory=list)
    # told of every fault applied and healed (action "apply" | "heal"), e.g. to mark it on Grafana;
    # it must not raise (carbonlab.rig.annotations.GrafanaMarks logs and counts its failures)
    on_event: Callable[[FaultRecord, str], None] | None = None

    def apply(self, fault: Fault) -> FaultRecord:
        record = FaultRecord(fault.id, fault.target, dict(fault.params))
        self.records.append(record)
        record.applied_at = time.time()
        try:
            record.applied = fault.apply(self.ctx)
        except Exception as exc:
            record.error = f"apply: {exc}"
            self._active.append((fault, record))  # heal whatever part of it happened
            raise
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

    def heal_all(self) -> list[str]:
        """Heal every applied fault, newest first; return the errors (never raises)."""
        errors = []
        for fault in reversed(self.active()):
            try:
                self.heal(fault)
            except Exception as exc:  # noqa: BLE001 - keep healing the rest, report every failure
                errors.append(f"{fault!r}: {exc}")
        return errors
