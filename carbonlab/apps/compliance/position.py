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
surrender, not the lack of allowances). Each outcome term (`outcomes.py`) carries the clause it
comes from, its tonnes, its amount in the rule set's currency and the formula with its figures.
Totals: penalties and bonuses are money paid and received; the
surplus value is an asset (what the surplus fetches at the market price), reported apart.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from carbonlab.apps.compliance.errors import InputError
from carbonlab.apps.compliance.model import ComplianceInputs
from carbonlab.apps.compliance.outcomes import Account, Choices, Outcome, choices_fit, outcome
from carbonlab.apps.compliance.ruleset import RuleSet
from carbonlab.apps.compliance.terms import Effect


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
    notes: tuple[str, ...] = ()     # what the figures leave out, and why

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
    choices_fit(choices, rules)
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
    account = Account(ledger.year, inputs.price.price_per_t, not_surrendered, bankable)
    outcomes = tuple(outcome(term, account, inputs.quality, rules, choices) for term in rules.terms)
    return dataclasses.replace(base, outcomes=outcomes, notes=foreign_trades(inputs, rules.currency))


def foreign_trades(inputs: ComplianceInputs, currency: str) -> tuple[str, ...]:
    """A note per trade priced in another currency than the rule set's. The chain's contract
    takes any three capital letters (an old ledger may hold `XXX`), so such a trade is not refused
    (that would refuse the company's year for ever): its tonnes count in the holdings like any
    other, and its money, which no figure of the position uses, is left out of them."""
    return tuple(f"{side}[{i}]: {t.quantity_t:,.3f} t at {t.price_per_t:,.2f} {t.currency}/t, in another "
                 f"currency than the rule set's {currency}: its tonnes are counted, its money is left out "
                 f"of the {currency} figures"
                 for side, trades in (("bought", inputs.ledger.bought), ("sold", inputs.ledger.sold))
                 for i, t in enumerate(trades) if t.currency != currency)


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
    if ledger.holdings_t < 0:
        raise InputError(src, "sold", f"sold {ledger.sold_t:g} t, more than allocated + bought + banked "
                         f"({ledger.allocated_t + ledger.bought_t + ledger.banked_t:g} t)")
    if ledger.surrendered_t is not None and ledger.surrendered_t > ledger.holdings_t:
        raise InputError(src, "surrendered_t", f"surrendered {ledger.surrendered_t:g} t, more than held "
                         f"({ledger.holdings_t:g} t)")
