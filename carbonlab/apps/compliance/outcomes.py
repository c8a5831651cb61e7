"""Each kind of term applied to a balanced account: the `Outcome`, with its clause, tonnes, amount
and the formula with its figures put in, so a reader can redo it by hand.

The parameters a rule set leaves to the authority (`Choices`) are checked here against the range
the term declares; one the rule set has no term for is refused rather than ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from carbonlab.apps.compliance.errors import InputError
from carbonlab.apps.compliance.model import MAX_AMOUNT, MAX_PRICE_PER_T, DataQuality
from carbonlab.apps.compliance.ruleset import Clause, RuleSet
from carbonlab.apps.compliance.terms import (
    MAX_MULTIPLIER,
    AllocationDeduction,
    DataQualityTerm,
    Effect,
    FalsificationFine,
    ShortfallFineMultiple,
    ShortfallFinePerTonne,
    SurplusValue,
    SurrenderObligation,
    Term,
    TermKind,
)


@dataclass(frozen=True, slots=True)
class Choices:
    """The parameters a rule set leaves to the authority, each within the range it declares;
    None takes the rule set's documented default."""
    multiplier: float | None = None         # shortfall_fine_multiple
    penalty_per_t: float | None = None      # shortfall_fine_per_tonne (the year's indexed figure)
    gain_multiplier: float | None = None    # falsification_fine
    falsification_fine: float | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """One term of the outcome: what follows, from which clause, for how many tonnes, at what cost."""
    kind: TermKind
    effect: Effect
    clause: Clause
    applies: bool
    quantity_t: float | None       # tonnes the term is about (None: not a quantity term)
    amount: float                  # money, in the position's currency (0 for obligations)
    formula: str                   # the computation with its figures
    note: str = ""


@dataclass(frozen=True, slots=True)
class Account:
    """The figures of the balanced account that the terms are applied to."""
    year: int
    price_per_t: float
    not_surrendered_t: float
    bankable_t: float


def outcome(term: Term, p: Account, quality: DataQuality, rules: RuleSet, ch: Choices) -> Outcome:
    """What `term` makes of the account, citing its clause; `InputError` for a parameter out of range."""
    clause = rules.clause(term.clause)
    cur, t = rules.currency, p.not_surrendered_t
    if isinstance(term, ShortfallFineMultiple):
        k = _chosen(ch.multiplier, term.multiplier_default, term.multiplier_min, term.multiplier_max,
                    "multiplier")
        return Outcome(term.kind, Effect.PENALTY, clause, t > 0, t, money(k * p.price_per_t * t),
                       f"{k:g} x {p.price_per_t:,.2f} {cur}/t x {t:,.3f} t not surrendered",
                       f"multiplier {k:g} chosen in [{term.multiplier_min:g}, {term.multiplier_max:g}] "
                       f"(default {term.multiplier_default:g}); price: {term.price_basis}. "
                       f"{term.note}".strip())
    if isinstance(term, ShortfallFinePerTonne):
        rate, how = _rate(term, p.year, ch, cur)
        return Outcome(term.kind, Effect.PENALTY, clause, t > 0, t, money(rate * t),
                       f"{rate:,.2f} {cur}/t x {t:,.3f} t not surrendered", f"{how}. {term.note}".strip())
    if isinstance(term, SurrenderObligation):
        return Outcome(term.kind, Effect.OBLIGATION, clause, t > 0, t, 0.0,
                       f"{t:,.3f} t still to surrender", term.note)
    if isinstance(term, AllocationDeduction):
        q = term.ratio * t
        return Outcome(term.kind, Effect.OBLIGATION, clause, q > 0, q, 0.0,
                       f"{term.ratio:g} x {t:,.3f} t off the {p.year + 1} allocation",
                       f"if: {term.condition}. {term.note}".strip())
    if isinstance(term, FalsificationFine):
        return _falsification(term, clause, quality, ch, cur)
    if isinstance(term, SurplusValue):
        uses = " or ".join(u for u, ok in (("banked", term.bankable), ("sold", term.sellable)) if ok)
        uses = uses or "neither banked nor sold"
        b = p.bankable_t
        return Outcome(term.kind, Effect.ASSET, clause, b > 0, b, money(b * p.price_per_t),
                       f"{b:,.3f} t x {p.price_per_t:,.2f} {cur}/t", f"may be {uses}. {term.note}".strip())
    return _quality(term, clause, quality, cur)


# each parameter and the term kind that declares its range
_CHOICE_TERMS = {"multiplier": TermKind.SHORTFALL_FINE_MULTIPLE,
                 "penalty_per_t": TermKind.SHORTFALL_FINE_PER_TONNE,
                 "gain_multiplier": TermKind.FALSIFICATION_FINE,
                 "falsification_fine": TermKind.FALSIFICATION_FINE}


# the largest value of each parameter any rule set may allow (terms.py's bounds): a figure of
# 1e308 would print inf penalties
_CHOICE_MAX = {"multiplier": MAX_MULTIPLIER, "penalty_per_t": MAX_PRICE_PER_T,
               "gain_multiplier": MAX_MULTIPLIER, "falsification_fine": MAX_AMOUNT}


def choices_fit(choices: Choices, rules: RuleSet) -> None:
    """A parameter the rule set has no term for is refused, not silently ignored; one outside its
    term's range is refused whether or not the term applies this year (a falsification fine's
    parameters matter only on a finding, but a wrong one is wrong either way)."""
    for name, kind in _CHOICE_TERMS.items():
        value = getattr(choices, name)
        if value is None:
            continue
        terms = rules.terms_of(kind)
        if not terms:
            raise InputError("parameters", name, f"the rule set {rules.name} has no {kind.value} term "
                             "to apply it to")
        if not (math.isfinite(value) and value <= _CHOICE_MAX[name]):
            raise InputError("parameters", name, f"must be a finite number at most {_CHOICE_MAX[name]:g}, "
                             f"got {value!r}")
        for term in terms:
            if isinstance(term, ShortfallFineMultiple) and name == "multiplier":
                _chosen(value, 0.0, term.multiplier_min, term.multiplier_max, name)
            elif isinstance(term, FalsificationFine) and name == "gain_multiplier":
                _chosen(value, 0.0, term.gain_multiplier_min, term.gain_multiplier_max, name)
            elif isinstance(term, FalsificationFine) and name == "falsification_fine":
                _chosen(value, 0.0, term.amount_min, term.amount_max, name)


def _chosen(value: float | None, default: float, lo: float, hi: float, name: str) -> float:
    if value is None:
        return default
    if not lo <= value <= hi:
        raise InputError("parameters", name, f"must be within [{lo:g}, {hi:g}], got {value:g}")
    return value


def _rate(term: ShortfallFinePerTonne, year: int, ch: Choices, cur: str) -> tuple[float, str]:
    if ch.penalty_per_t is not None:
        if ch.penalty_per_t < term.base_per_t:
            raise InputError("parameters", "penalty_per_t", f"an indexed figure below the base "
                             f"{term.base_per_t:,.2f} {cur}/t: got {ch.penalty_per_t:g}")
        return ch.penalty_per_t, f"{year} indexed figure {ch.penalty_per_t:,.2f} {cur}/t as given"
    for figure in term.indexed_per_t:
        if figure.year == year:
            return figure.per_t, f"{year} indexed figure from the rule set"
    return term.base_per_t, (f"NOT INDEXED: the rule set has no {year} figure, so the base "
                             f"{term.base_per_t:,.2f} {cur}/t is used (give the year's figure: "
                             "the penalty_per_t parameter, --penalty-per-t)")


def _falsification(term: FalsificationFine, clause: Clause, q: DataQuality, ch: Choices, cur: str) -> Outcome:
    cut = (f"not corrected: next year's allocation cut by {term.allocation_cut_min:.0%}-"
           f"{term.allocation_cut_max:.0%}. ") if term.allocation_cut_max > 0 else ""
    if q.illegal_gain >= term.gain_floor and q.illegal_gain > 0:
        k = _chosen(ch.gain_multiplier, term.gain_multiplier_default, term.gain_multiplier_min,
                    term.gain_multiplier_max, "gain_multiplier")
        amount, formula = k * q.illegal_gain, f"{k:g} x illegal gain {q.illegal_gain:,.2f} {cur}"
    else:
        amount = _chosen(ch.falsification_fine, term.amount_default, term.amount_min, term.amount_max,
                         "falsification_fine")
        formula = (f"{amount:,.2f} {cur} in [{term.amount_min:,.0f}, {term.amount_max:,.0f}] "
                   f"(illegal gain below {term.gain_floor:,.0f})")
    applies = q.falsification_found
    return Outcome(term.kind, Effect.PENALTY, clause, applies, None, money(amount) if applies else 0.0,
                   formula if applies else "no finding of falsified data", f"{cut}{term.note}".strip())


def _quality(term: DataQualityTerm, clause: Clause, q: DataQuality, cur: str) -> Outcome:
    if term.kind is TermKind.SUBSTITUTED_HOURS:
        value, limit, unit = q.substituted_share * 100, term.threshold * 100, "percentage points"
        shown = f"substituted {value:.2f} % of hours (threshold {limit:.2f} %)"
    else:
        value, limit, unit = float(q.late_uploads), term.threshold, "late uploads"
        shown = f"{q.late_uploads} late uploads (threshold {term.threshold:g})"
    units = value - limit if term.effect is Effect.PENALTY else limit - value
    applies = value > limit if term.effect is Effect.PENALTY else value <= limit
    amount = term.amount + term.per_unit * max(0.0, units) if applies else 0.0
    formula = f"{shown}: {term.amount:,.2f} + {term.per_unit:,.2f} {cur} x {max(0.0, units):.2f} {unit}" \
        if applies else f"{shown}: does not apply"
    return Outcome(term.kind, term.effect, clause, applies, None, money(amount), formula, term.note)


def money(x: float) -> float:
    return round(x, 2)
