"""The kinds of term a rule set may hold, each a dataclass whose fields carry their rules.

A term says what follows from a position (a fine for allowances not surrendered, a deduction
from next year's allocation, the value of a surplus, a data-quality bonus or penalty) and
cites the clause it comes from by the clause's id. `ruleset.py` reads them with
`carbonlab.fields` and then checks what one field cannot say alone (a minimum above its
maximum, a default outside its range, a clause id the rule set does not hold).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from carbonlab.apps.compliance.model import MAX_AMOUNT, MAX_PRICE_PER_T
from carbonlab.fields import spec

# a multiple of a price or a gain (the regulations' are 5-10), and a threshold count of late
# uploads: bounds far above any real rule, so that no fine overflows to inf
MAX_MULTIPLIER = 100.0
MAX_COUNT = 1e6


class TermKind(StrEnum):
    SHORTFALL_FINE_MULTIPLE = "shortfall_fine_multiple"     # k x market price x t not surrendered
    SHORTFALL_FINE_PER_TONNE = "shortfall_fine_per_tonne"   # fixed (indexed) amount per t
    SURRENDER_OBLIGATION = "surrender_obligation"           # the missing allowances are still owed
    ALLOCATION_DEDUCTION = "allocation_deduction"           # taken off next year's allocation
    FALSIFICATION_FINE = "falsification_fine"               # on an authority's finding
    SURPLUS_VALUE = "surplus_value"                         # a surplus banked or sold
    SUBSTITUTED_HOURS = "substituted_hours"                 # data quality: substituted share
    LATE_UPLOADS = "late_uploads"                           # data quality: late uploads


class Effect(StrEnum):
    """What a term is to the company: money it pays or receives, an asset, or a duty."""
    PENALTY = "penalty"
    BONUS = "bonus"
    ASSET = "asset"
    OBLIGATION = "obligation"


SHORTFALL_KINDS = frozenset({TermKind.SHORTFALL_FINE_MULTIPLE, TermKind.SHORTFALL_FINE_PER_TONNE})


def _penalty_or_bonus(value: Effect) -> str | None:
    if value in (Effect.PENALTY, Effect.BONUS):
        return None
    return f"must be penalty or bonus, got {value.value!r}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortfallFineMultiple:
    """fine = multiplier x market price x tonnes not surrendered; the multiplier is chosen in
    [multiplier_min, multiplier_max] by the authority (a parameter with a documented default)."""
    clause: str = spec()
    multiplier_min: float = spec(lo=0.0, hi=MAX_MULTIPLIER)
    multiplier_max: float = spec(lo=0.0, hi=MAX_MULTIPLIER)
    multiplier_default: float = spec(lo=0.0, hi=MAX_MULTIPLIER)
    price_basis: str = spec()          # which average price the multiple is of
    note: str = spec("", allow_empty=True)
    kind: TermKind = TermKind.SHORTFALL_FINE_MULTIPLE


@dataclass(frozen=True, slots=True, kw_only=True)
class YearFigure:
    year: int = spec(lo=1990, hi=2200)
    per_t: float = spec(lo=0.0, hi=MAX_PRICE_PER_T)


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortfallFinePerTonne:
    """fine = rate x tonnes not surrendered; the rate is the year's indexed figure when the rule
    set (or the caller) has one, else `base_per_t`, and the output then says it is not indexed."""
    clause: str = spec()
    base_per_t: float = spec(lo=0.0, hi=MAX_PRICE_PER_T)
    index_clause: str | None = spec(None)      # the clause the indexation comes from
    indexed_per_t: tuple[YearFigure, ...] = ()
    note: str = spec("", allow_empty=True)
    kind: TermKind = TermKind.SHORTFALL_FINE_PER_TONNE


@dataclass(frozen=True, slots=True, kw_only=True)
class SurrenderObligation:
    """The allowances not surrendered are still owed (paying a fine does not release them)."""
    clause: str = spec()
    note: str = spec("", allow_empty=True)
    kind: TermKind = TermKind.SURRENDER_OBLIGATION


@dataclass(frozen=True, slots=True, kw_only=True)
class AllocationDeduction:
    """ratio x tonnes not surrendered are deducted from next year's allocation, under `condition`."""
    clause: str = spec()
    ratio: float = spec(1.0, lo=0.0, hi=10.0)
    condition: str = spec()
    note: str = spec("", allow_empty=True)
    kind: TermKind = TermKind.ALLOCATION_DEDUCTION


@dataclass(frozen=True, slots=True, kw_only=True)
class FalsificationFine:
    """On a finding of falsified data: gain_multiplier x the illegal gain when the gain is at
    least `gain_floor`, else an amount in [amount_min, amount_max]; not corrected, next year's
    allocation is cut by a share in [allocation_cut_min, allocation_cut_max]."""
    clause: str = spec()
    amount_min: float = spec(lo=0.0, hi=MAX_AMOUNT)
    amount_max: float = spec(lo=0.0, hi=MAX_AMOUNT)
    amount_default: float = spec(lo=0.0, hi=MAX_AMOUNT)
    gain_multiplier_min: float = spec(lo=0.0, hi=MAX_MULTIPLIER)
    gain_multiplier_max: float = spec(lo=0.0, hi=MAX_MULTIPLIER)
    gain_multiplier_default: float = spec(lo=0.0, hi=MAX_MULTIPLIER)
    gain_floor: float = spec(lo=0.0, hi=MAX_AMOUNT)
    allocation_cut_min: float = spec(0.0, lo=0.0, hi=1.0)
    allocation_cut_max: float = spec(0.0, lo=0.0, hi=1.0)
    note: str = spec("", allow_empty=True)
    kind: TermKind = TermKind.FALSIFICATION_FINE


@dataclass(frozen=True, slots=True, kw_only=True)
class SurplusValue:
    """A surplus over the year's emissions, valued at the market price: banked, sold, or both."""
    clause: str = spec()
    bankable: bool = spec()
    sellable: bool = spec()
    note: str = spec("", allow_empty=True)
    kind: TermKind = TermKind.SURPLUS_VALUE


@dataclass(frozen=True, slots=True, kw_only=True)
class DataQualityTerm:
    """A penalty above `threshold`, or a bonus at or below it: amount + per_unit x units beyond
    the threshold (percentage points of substituted hours, or late uploads)."""
    clause: str = spec()
    effect: Effect = spec(check=_penalty_or_bonus)
    threshold: float = spec(lo=0.0, hi=MAX_COUNT)
    amount: float = spec(0.0, lo=0.0, hi=MAX_AMOUNT)
    per_unit: float = spec(0.0, lo=0.0, hi=MAX_AMOUNT)
    note: str = spec("", allow_empty=True)
    kind: TermKind = TermKind.SUBSTITUTED_HOURS


Term = (ShortfallFineMultiple | ShortfallFinePerTonne | SurrenderObligation | AllocationDeduction
        | FalsificationFine | SurplusValue | DataQualityTerm)

TERM_CLASSES: dict[TermKind, type] = {
    TermKind.SHORTFALL_FINE_MULTIPLE: ShortfallFineMultiple,
    TermKind.SHORTFALL_FINE_PER_TONNE: ShortfallFinePerTonne,
    TermKind.SURRENDER_OBLIGATION: SurrenderObligation,
    TermKind.ALLOCATION_DEDUCTION: AllocationDeduction,
    TermKind.FALSIFICATION_FINE: FalsificationFine,
    TermKind.SURPLUS_VALUE: SurplusValue,
    TermKind.SUBSTITUTED_HOURS: DataQualityTerm,
    TermKind.LATE_UPLOADS: DataQualityTerm,
}

# (min field, max field, default field or None) that must be ordered min <= default <= max
RANGES: dict[type, tuple[tuple[str, str, str | None], ...]] = {
    ShortfallFineMultiple: (("multiplier_min", "multiplier_max", "multiplier_default"),),
    FalsificationFine: (("amount_min", "amount_max", "amount_default"),
                        ("gain_multiplier_min", "gain_multiplier_max", "gain_multiplier_default"),
                        ("allocation_cut_min", "allocation_cut_max", None)),
}
