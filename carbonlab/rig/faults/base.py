"""A fault: an id from the catalogue, a target, checked parameters, `apply` and its inverse `heal`,
and what the checks need to know about it.

Theory of operation. A `Fault` object is one injection: made from plain data (a scenario
line), its parameters checked against the class's `PARAMS` at construction so that a bad
scenario fails before anything is touched. `apply(ctx)` acts and returns a line saying what
it did; `heal(ctx)` undoes it and is safe to call twice. The `FaultJournal` (journal.py) runs them and
keeps a `FaultRecord` per injection (wall times, lines, errors, and the fault's typed
`FaultOutcome`), and heals whatever is still applied, newest first, when the rig stops, also
after a failure.

What the checks need to know about a fault is said by the fault type itself, never worked out
from its id or from the text of its lines: `faulty_members()` (the members PBFT must count as
faulty while it is applied), `heal_after_checks` (it must still be there when the invariants
run), and `outcome()` (what the injection did: members it made lie, a ledger height it
altered, a node's answer to hostile traffic).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from carbonlab.checks import finite, shown
from carbonlab.rig.errors import FaultError
from carbonlab.rig.faults.records import FaultOutcome

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
            number = finite(value)     # None for an int too large for a float (float() raised)
            if number is None:
                raise FaultError(f"{where}: must be a finite number, got {shown(value)}")
            value = number
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
    # still applied when the invariants run (e.g. ledger tampering, which they must detect);
    # healed after the checks
    heal_after_checks: ClassVar[bool] = False

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

    def faulty_members(self) -> tuple[str, ...]:
        """The consortium members this fault makes faulty (in PBFT's n = 3f + 1 sense) while it
        is applied; none unless the fault type says so."""
        return ()

    def outcome(self) -> FaultOutcome:
        """What this injection did, read by the journal after `apply` (also a failed one)."""
        return FaultOutcome(faulty_members=self.faulty_members())
