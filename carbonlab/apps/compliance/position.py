"""A company's compliance position for one year under a rule set: a pure function of typed values.

Theory of operation. `position(inputs, rules, choices)` does no I/O. It balances the account
first, then applies each term of the rule set in the file's order:

    holdings     = allocated + bought - sold + banked
    surplus      = max(0, holdings - emissions)      shortfall = max(0, emissions - holdings)
    so that        holdings - emissions = surplus - shortfall, and never both are above 0;
    not surrendered = emissions - surrendered (once a surrender is recorded; before that, the
                      shortfall: the company is assumed to surrender what it holds);
    bankable     = max(0, holdings - max(emissions, surrendered))

Fines for a shortfall are on the tonnes not surrendered (both regulations fine the failure to
surrender, not the lack of allowances). Each outcome term carries the clause it comes from, its
tonnes, its amount in the rule set's currency and the formula with the figures put in, so a
reader can redo it by hand. Totals: penalties and bonuses are money paid and received; the
surplus value is an asset (what the surplus fetches at the market price), reported apart.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from carbonlab.apps.compliance.errors import InputError
from carbonlab.apps.compliance.model import ComplianceInputs
from carbonlab.apps.compliance.ruleset import Clause, RuleSet
from carbonlab.apps.compliance.terms import (
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
class Position:
    company: str
    year: int
    rules: str
    currency: str
    basis: str
    emissions_t: float
    allocated_t: float
    bought_t: float
    sold_t: float
    banked_t: float
    holdings_t: float
    surrendered_t: float | None
    surplus_t: float
    shortfall_t: float
    not_surrendered_t: float
    bankable_t: float
    price_per_t: float
    outcomes: tuple[Outcome, ...]

    def _sum(self, effect: Effect) -> float:
        return round(sum(o.amount for o in self.outcomes if o.applies and o.effect is effect), 2)

    @property
    def penalties(self) -> float:
        return self._sum(Effect.PENALTY)

    @property
    def bonuses(self) -> float:
        return self._sum(Effect.BONUS)

    @property
    def net(self) -> float:
        """Bonuses minus penalties: what the company receives (negative: pays)."""
        return round(self.bonuses - self.penalties, 2)

    @property
    def asset_value(self) -> float:
        return self._sum(Effect.ASSET)

    @property
    def compliant(self) -> bool:
        return self.not_surrendered_t == 0


def position(inputs: ComplianceInputs, rules: RuleSet, choices: Choices = Choices()) -> Position:
    """The position of `inputs` under `rules`; `InputError` when the inputs do not fit the rule set."""
    _fit(inputs, rules)
    _choices_fit(choices, rules)
    ledger, emissions = inputs.ledger, inputs.emissions.total_t
    holdings = ledger.holdings_t
    surplus, shortfall = max(0.0, holdings - emissions), max(0.0, emissions - holdings)
    surrendered = ledger.surrendered_t
    not_surrendered = shortfall if surrendered is None else max(0.0, emissions - surrendered)
    bankable = max(0.0, holdings - max(emissions, surrendered or 0.0))
    base = Position(
        company=ledger.company, year=ledger.year, rules=rules.name, currency=rules.currency,
        basis=inputs.emissions.basis.value, emissions_t=emissions, allocated_t=ledger.allocated_t,
        bought_t=ledger.bought_t, sold_t=ledger.sold_t, banked_t=ledger.banked_t, holdings_t=holdings,
        surrendered_t=surrendered, surplus_t=surplus, shortfall_t=shortfall,
        not_surrendered_t=not_surrendered, bankable_t=bankable, price_per_t=inputs.price.price_per_t,
        outcomes=())
    outcomes = tuple(_outcome(term, base, inputs, rules, choices) for term in rules.terms)
    return dataclasses.replace(base, outcomes=outcomes)


def _fit(inputs: ComplianceInputs, rules: RuleSet) -> None:
    ledger, src = inputs.ledger, f"inputs for {inputs.ledger.company} {inputs.ledger.year}"
    if inputs.emissions.basis.value != rules.header.emissions_basis.value:
        raise InputError(src, "emissions.basis", f"the rule set {rules.name} counts "
                         f"{rules.header.emissions_basis.value}, the verified emissions are "
                         f"{inputs.emissions.basis.value}")
    if inputs.emissions.basis.value == "co2e" and not inputs.emissions.gwp_set:
        raise InputError(src, "emissions.gwp_set", "CO2e emissions must name their GWP set (AR5, AR6)")
    if inputs.price.currency != rules.currency:
        raise InputError(src, "market_price.currency",
                         f"the rule set {rules.name} is in {rules.currency}, "
                         f"the price in {inputs.price.currency}")
    for side, trades in (("bought", ledger.bought), ("sold", ledger.sold)):
        for i, t in enumerate(trades):
            if t.currency != rules.currency:
                raise InputError(src, f"{side}[{i}].currency",
                                 f"{t.currency} is not the rule set's {rules.currency}")
    if ledger.holdings_t < 0:
        raise InputError(src, "sold", f"sold {ledger.sold_t:g} t, more than allocated + bought + banked "
                         f"({ledger.allocated_t + ledger.bought_t + ledger.banked_t:g} t)")
    if ledger.surrendered_t is not None and ledger.surrendered_t > ledger.holdings_t:
        raise InputError(src, "surrendered_t", f"surrendered {ledger.surrendered_t:g} t, more than held "
                         f"({ledger.holdings_t:g} t)")


def _outcome(term: Term, p: Position, inputs: ComplianceInputs, rules: RuleSet, ch: Choices) -> Outcome:
    clause = rules.clause(term.clause)
    cur, t = rules.currency, p.not_surrendered_t
    if isinstance(term, ShortfallFineMultiple):
        k = _chosen(ch.multiplier, term.multiplier_default, term.multiplier_min, term.multiplier_max,
                    "multiplier")
        return Outcome(term.kind, Effect.PENALTY, clause, t > 0, t, _money(k * p.price_per_t * t),
                       f"{k:g} x {p.price_per_t:,.2f} {cur}/t x {t:,.3f} t not surrendered",
                       f"multiplier {k:g} chosen in [{term.multiplier_min:g}, {term.multiplier_max:g}] "
                       f"(default {term.multiplier_default:g}); price: {term.price_basis}. "
                       f"{term.note}".strip())
    if isinstance(term, ShortfallFinePerTonne):
        rate, how = _rate(term, p.year, ch, cur)
        return Outcome(term.kind, Effect.PENALTY, clause, t > 0, t, _money(rate * t),
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
        return _falsification(term, clause, inputs, ch, cur)
    if isinstance(term, SurplusValue):
        uses = " or ".join(u for u, ok in (("banked", term.bankable), ("sold", term.sellable)) if ok)
        uses = uses or "neither banked nor sold"
        b = p.bankable_t
        return Outcome(term.kind, Effect.ASSET, clause, b > 0, b, _money(b * p.price_per_t),
                       f"{b:,.3f} t x {p.price_per_t:,.2f} {cur}/t", f"may be {uses}. {term.note}".strip())
    return _quality(term, clause, inputs, cur)


# each parameter and the term kind that declares its range
_CHOICE_TERMS = {"multiplier": TermKind.SHORTFALL_FINE_MULTIPLE,
                 "penalty_per_t": TermKind.SHORTFALL_FINE_PER_TONNE,
                 "gain_multiplier": TermKind.FALSIFICATION_FINE,
                 "falsification_fine": TermKind.FALSIFICATION_FINE}


def _choices_fit(choices: Choices, rules: RuleSet) -> None:
    """A parameter the rule set has no term for is refused, not silently ignored."""
    for name, kind in _CHOICE_TERMS.items():
        if getattr(choices, name) is not None and not rules.terms_of(kind):
            raise InputError("parameters", name, f"the rule set {rules.name} has no {kind.value} term "
                             "to apply it to")


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


def _falsification(term: FalsificationFine, clause: Clause, inputs: ComplianceInputs, ch: Choices,
                   cur: str) -> Outcome:
    q = inputs.quality
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
    return Outcome(term.kind, Effect.PENALTY, clause, applies, None, _money(amount) if applies else 0.0,
                   formula if applies else "no finding of falsified data", f"{cut}{term.note}".strip())


def _quality(term: DataQualityTerm, clause: Clause, inputs: ComplianceInputs, cur: str) -> Outcome:
    q = inputs.quality
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
    return Outcome(term.kind, term.effect, clause, applies, None, _money(amount), formula, term.note)


def _money(x: float) -> float:
    return round(x, 2)
