"""The year-end outlook against the allowances on the chain, priced under the company's rule set.

Theory of operation. The year-end forecast (`emissions.year_end_paths`) gives simulated
totals of the company's year. The chain gives its allowance account for that compliance
year (`Balance`: allocated, bought, sold, surrendered, from the contract's accepted records),
so holdings = allocated + bought - sold (carry-over from the year before is not on the chain
yet: 0). Each simulated total is put through the compliance module's own `position`
(`apps/compliance/position.py`) as if the verifier had signed it off, with the surrender not
yet recorded (the company is taken to surrender what it holds), under the rule set
(`cn-ets`, `eu-ets`, or a file) at the given market price. Per path that gives:

- the shortfall max(total - holdings, 0) and the surplus max(holdings - total, 0);
- the fine: the rule set's shortfall terms that apply (a multiple of the price, or a fixed
  sum per tonne), with the authority's parameters at the rule set's documented defaults;
- the tonnes still owed (an obligation term: the EU's surrender obligation, China's deduction
  from next year's allocation), valued at the market price: they must be bought either way;
- the surplus's value (the rule set's surplus term).

The outlook is the mean of each over the paths, the shortfall's probability (the share of
paths with a shortfall) and the 90 % interval of the cost. Paths with the same total share
one position, so 2,000 paths cost at most 2,000 small pure calls (~0.3 ms each).

The forecast counts CO2; a rule set that counts CO2e is refused rather than compared
against a smaller figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from carbonlab.apps.compliance.model import (
    AllowanceLedger,
    Basis,
    ComplianceInputs,
    DataQuality,
    MarketPrice,
    Trade,
    VerifiedEmissions,
)
from carbonlab.apps.compliance.position import position
from carbonlab.apps.compliance.ruleset import RuleSet
from carbonlab.apps.compliance.terms import SHORTFALL_KINDS, Effect
from carbonlab.apps.errors import InputError
from carbonlab.node.allowances.answers import Balance


@dataclass(frozen=True, slots=True)
class ChainOutlook:
    company: str
    year: int
    rules: str
    currency: str
    price_per_t: float
    price_basis: str                 # where the price came from
    allocated_t: int
    bought_t: int
    sold_t: int
    surrendered_t: int
    holdings_t: int                  # allocated + bought - sold
    paths: int
    shortfall_probability: float
    expected_shortfall_t: float
    expected_surplus_t: float
    expected_fine: float             # the rule set's shortfall fines
    expected_owed_value: float       # tonnes still owed, at the price
    expected_cost: float             # fine + owed value
    cost_lo: float                   # 90 % interval of the cost over the paths
    cost_hi: float
    expected_surplus_value: float


@dataclass(frozen=True, slots=True)
class _PathCost:
    fine: float
    owed_t: float
    surplus_value: float


def outlook(totals_t: Sequence[float], balance: Balance, rules: RuleSet, *, price_per_t: float,
            price_basis: str = "given") -> ChainOutlook:
    """The outlook of `totals_t` (simulated year totals, t CO2) against `balance` under `rules`."""
    import numpy as np

    if rules.header.emissions_basis is not Basis.CO2:
        raise InputError("--rules", f"the rule set {rules.name} counts {rules.header.emissions_basis.value}; "
                         "the emission forecast counts CO2 (use a rule set on a CO2 basis)")
    if not totals_t:
        raise InputError("paths", "no simulated totals")
    market = MarketPrice(price_per_t=price_per_t, currency=rules.currency, basis=price_basis)
    account = AllowanceLedger(
        company=balance.company, year=balance.year, allocated_t=float(balance.allocated_t),
        # the trades' prices do not enter a position's fines: the quantities do
        bought=(Trade(float(balance.bought_t), 0.0, rules.currency),) if balance.bought_t else (),
        sold=(Trade(float(balance.sold_t), 0.0, rules.currency),) if balance.sold_t else ())
    if account.holdings_t < 0:
        raise InputError("--node/--ledger", f"{balance.company} {balance.year}: sold more than it holds")
    costs: dict[float, _PathCost] = {}
    for total in totals_t:
        if total not in costs:
            emissions = VerifiedEmissions(total_t=float(total), basis=Basis.CO2, verifier="forecast")
            p = position(ComplianceInputs(account, emissions, DataQuality(), market), rules)
            applying = [o for o in p.outcomes if o.applies]
            costs[total] = _PathCost(
                fine=sum(o.amount for o in applying
                         if o.kind in SHORTFALL_KINDS and o.effect is Effect.PENALTY),
                owed_t=max((o.quantity_t or 0.0 for o in applying if o.effect is Effect.OBLIGATION),
                           default=0.0),
                surplus_value=p.asset_value)
    totals = np.asarray(totals_t, dtype=float)
    fine = np.array([costs[t].fine for t in totals_t])
    owed = np.array([costs[t].owed_t for t in totals_t]) * price_per_t
    cost = fine + owed
    holdings = account.holdings_t
    return ChainOutlook(
        balance.company, balance.year, rules.name, rules.currency, price_per_t, price_basis,
        balance.allocated_t, balance.bought_t, balance.sold_t, balance.surrendered_t, int(holdings),
        len(totals), float((totals > holdings).mean()), float(np.clip(totals - holdings, 0, None).mean()),
        float(np.clip(holdings - totals, 0, None).mean()), float(fine.mean()), float(owed.mean()),
        float(cost.mean()), float(np.quantile(cost, 0.05)), float(np.quantile(cost, 0.95)),
        float(np.mean([costs[t].surplus_value for t in totals_t])))
