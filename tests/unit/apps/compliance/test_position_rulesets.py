"""Each shipped rule set's outcome on cases computed by hand; each test names the clause it checks.

cn-ets: Interim Regulations on the Management of Carbon Emission Trading (2024), Art. 24 (a
shortfall), Art. 22 (falsified data), Art. 14 (buying, selling); eu-ets: Directive 2003/87/EC
Art. 16(3) and (4) (excess emissions penalty, indexed; the surrender obligation stands), Art. 13
(banking); and the consortium's data-quality terms in both.
"""

from __future__ import annotations

import dataclasses

import pytest

from carbonlab.apps.compliance.errors import InputError
from carbonlab.apps.compliance.model import Basis, DataQuality
from carbonlab.apps.compliance.outcomes import Choices, Outcome
from carbonlab.apps.compliance.position import Position, position
from carbonlab.apps.compliance.render import position_dict, position_table
from carbonlab.apps.compliance.ruleset import RuleSet, load_named
from carbonlab.apps.compliance.terms import Effect, TermKind

from .inputs import inputs

CN = load_named("cn-ets")
EU = load_named("eu-ets")


def outcome(p: Position, kind: TermKind, effect: Effect | None = None) -> Outcome:
    (found,) = [o for o in p.outcomes if o.kind is kind and (effect is None or o.effect is effect)]
    return found


# allocated 1,000,000 + bought 20,000 - sold 5,000 + banked 10,000 = 1,025,000 t held
HELD = dict(allocated_t=1_000_000, bought=((20_000, 75.0),), sold=((5_000, 82.0),), banked_t=10_000)


def test_cn_art24_shortfall_is_fined_five_times_the_average_price_by_default() -> None:
    """Art. 24: '处未清缴的碳排放配额清缴时限前1个月市场交易平均成交价格5倍以上10倍以下的罚款' (a fine of
    5-10 times the average price, in the month before the deadline, of the allowances not surrendered)."""
    p = position(inputs(emissions_t=1_100_000, **HELD), CN)
    assert (p.holdings_t, p.shortfall_t, p.surplus_t, p.not_surrendered_t) == (1_025_000, 75_000, 0, 75_000)
    fine = outcome(p, TermKind.SHORTFALL_FINE_MULTIPLE)
    assert fine.applies
    assert fine.clause.cite == "Interim Regulations 2024, Art. 24"
    assert fine.amount == 5 * 80.0 * 75_000 == 30_000_000
    assert p.penalties == 30_000_000
    assert p.bonuses == 0
    assert p.net == -30_000_000
    assert not p.compliant


def test_cn_art24_multiplier_is_a_parameter_within_five_to_ten() -> None:
    p = position(inputs(emissions_t=1_100_000, **HELD), CN, Choices(multiplier=10))
    assert outcome(p, TermKind.SHORTFALL_FINE_MULTIPLE).amount == 10 * 80.0 * 75_000
    with pytest.raises(InputError) as info:
        position(inputs(emissions_t=1_100_000, **HELD), CN, Choices(multiplier=12))
    assert info.value.field == "multiplier"
    assert "[5, 10]" in info.value.problem


def test_cn_art24_refusing_to_correct_deducts_the_shortfall_from_next_year() -> None:
    """Art. 24: '拒不改正的' (refusing to correct) '按照未清缴的碳排放配额等量核减其下一年度碳排放配额'
    (the allowances not surrendered are deducted, in equal amount, from next year's allocation)."""
    p = position(inputs(emissions_t=1_100_000, **HELD), CN)
    deduction = outcome(p, TermKind.ALLOCATION_DEDUCTION)
    assert deduction.effect is Effect.OBLIGATION
    assert deduction.quantity_t == 75_000
    assert "2026 allocation" in deduction.formula
    assert "refuses to correct" in deduction.note


def test_cn_art24_fine_is_on_what_was_not_surrendered_not_on_what_was_lacking() -> None:
    """Holding 1,025,000 t but surrendering 1,000,000 t of 1,100,000 t: 100,000 t not surrendered."""
    p = position(inputs(emissions_t=1_100_000, surrendered_t=1_000_000, **HELD), CN)
    assert (p.shortfall_t, p.not_surrendered_t, p.bankable_t) == (75_000, 100_000, 0)
    assert outcome(p, TermKind.SHORTFALL_FINE_MULTIPLE).amount == 5 * 80.0 * 100_000


def test_cn_exact_cover_surrendered_in_full_has_no_fine_and_no_surplus() -> None:
    p = position(inputs(emissions_t=1_025_000, surrendered_t=1_025_000, **HELD), CN)
    assert (p.surplus_t, p.shortfall_t, p.not_surrendered_t, p.bankable_t) == (0, 0, 0, 0)
    assert p.compliant
    assert p.penalties == 0
    assert p.asset_value == 0
    assert not outcome(p, TermKind.SHORTFALL_FINE_MULTIPLE).applies
    assert not outcome(p, TermKind.ALLOCATION_DEDUCTION).applies


def test_cn_art14_surplus_is_valued_at_the_market_price_and_good_data_earns_the_bonus() -> None:
    """25,000 t over at 80 CNY/t = 2,000,000 CNY (an asset); 1 % substituted <= 2 %: 20,000 CNY bonus."""
    p = position(inputs(emissions_t=1_000_000, quality=DataQuality(substituted_share=0.01), **HELD), CN)
    assert (p.surplus_t, p.shortfall_t, p.bankable_t) == (25_000, 0, 25_000)
    value = outcome(p, TermKind.SURPLUS_VALUE)
    assert value.effect is Effect.ASSET
    assert value.amount == 2_000_000
    assert "banked or sold" in value.note
    assert value.clause.cite == "Interim Regulations 2024, Art. 14"
    bonus = outcome(p, TermKind.SUBSTITUTED_HOURS, Effect.BONUS)
    assert bonus.applies
    assert bonus.amount == 20_000
    assert (p.asset_value, p.bonuses, p.penalties, p.net) == (2_000_000, 20_000, 0, 20_000)


def test_cn_data_quality_penalties_for_substituted_hours_and_late_uploads() -> None:
    """12.5 % substituted: 2.5 points over 10 % x 10,000 CNY = 25,000; 3 late uploads x 500 = 1,500."""
    q = DataQuality(substituted_share=0.125, late_uploads=3)
    p = position(inputs(emissions_t=1_025_000, quality=q, **HELD), CN)
    assert outcome(p, TermKind.SUBSTITUTED_HOURS, Effect.PENALTY).amount == 25_000
    assert not outcome(p, TermKind.SUBSTITUTED_HOURS, Effect.BONUS).applies
    assert outcome(p, TermKind.LATE_UPLOADS).amount == 1_500
    assert outcome(p, TermKind.LATE_UPLOADS).clause.id == "consortium-data-quality"
    assert p.penalties == 26_500
    assert p.net == -26_500


@pytest.mark.parametrize(("gain", "choices", "fine"), [
    (0.0, Choices(), 500_000),                            # no gain: 500,000-2,000,000, default the least
    (400_000.0, Choices(falsification_fine=2_000_000), 2_000_000),   # gain under the 500,000 floor
    (1_000_000.0, Choices(), 5_000_000),                  # 5 x the gain
    (1_000_000.0, Choices(gain_multiplier=10), 10_000_000),
])
def test_cn_art22_falsified_data_has_its_own_fine(gain: float, choices: Choices, fine: float) -> None:
    """Art. 22: '并处违法所得5倍以上10倍以下的罚款' (5-10 times the illegal gain) and
    '没有违法所得或者违法所得不足50万元的' (no gain, or under 500,000) '处50万元以上200万元以下的罚款'."""
    q = DataQuality(substituted_share=0.05, falsification_found=True, illegal_gain=gain)
    p = position(inputs(emissions_t=1_025_000, quality=q, **HELD), CN, choices)
    term = outcome(p, TermKind.FALSIFICATION_FINE)
    assert term.applies
    assert term.amount == fine
    assert term.clause.id == "art-22"
    assert "50%-100%" in term.note
    assert p.penalties == fine


def test_cn_no_finding_no_falsification_fine() -> None:
    p = position(inputs(emissions_t=1_025_000, **HELD), CN)
    assert not outcome(p, TermKind.FALSIFICATION_FINE).applies
    assert p.penalties == 0


EU_HELD = dict(allocated_t=40_000, bought=((1_000, 68.0),), currency="EUR", price=70.0, basis=Basis.CO2E)


def test_eu_art16_3_excess_emissions_penalty_is_eur_100_per_tonne_and_says_when_not_indexed() -> None:
    """Art. 16(3): 'The excess emissions penalty shall be EUR 100 for each tonne of carbon dioxide
    equivalent emitted for which the operator ... has not surrendered allowances.'"""
    p = position(inputs(emissions_t=42_000, **EU_HELD), EU)
    assert (p.holdings_t, p.shortfall_t, p.not_surrendered_t) == (41_000, 1_000, 1_000)
    fine = outcome(p, TermKind.SHORTFALL_FINE_PER_TONNE)
    assert fine.amount == 100 * 1_000
    assert fine.clause.cite == "Directive 2003/87/EC, Art. 16(3)"
    assert "NOT INDEXED" in fine.note
    assert p.currency == "EUR"


def test_eu_art16_4_the_years_indexed_figure_is_a_parameter() -> None:
    p = position(inputs(emissions_t=42_000, **EU_HELD), EU, Choices(penalty_per_t=120.5))
    fine = outcome(p, TermKind.SHORTFALL_FINE_PER_TONNE)
    assert fine.amount == 120_500
    assert "NOT INDEXED" not in fine.note
    with pytest.raises(InputError) as info:
        position(inputs(emissions_t=42_000, **EU_HELD), EU, Choices(penalty_per_t=90))
    assert info.value.field == "penalty_per_t"


def test_eu_art16_3_paying_the_penalty_does_not_release_the_surrender_obligation() -> None:
    """Art. 16(3): 'Payment of the excess emissions penalty shall not release the operator ... from
    the obligation to surrender an amount of allowances equal to those excess emissions'."""
    p = position(inputs(emissions_t=42_000, surrendered_t=41_000, **EU_HELD), EU)
    owed = outcome(p, TermKind.SURRENDER_OBLIGATION)
    assert owed.applies
    assert owed.effect is Effect.OBLIGATION
    assert owed.quantity_t == 1_000
    assert owed.amount == 0
    assert "1,000.000 t still to surrender" in owed.formula


def test_eu_exact_and_surplus() -> None:
    exact = position(inputs(emissions_t=41_000, surrendered_t=41_000, **EU_HELD), EU)
    assert exact.compliant
    assert exact.penalties == 0
    assert not outcome(exact, TermKind.SURRENDER_OBLIGATION).applies
    surplus = position(inputs(emissions_t=40_500, **EU_HELD), EU)     # Art. 13: kept or sold
    assert outcome(surplus, TermKind.SURPLUS_VALUE).amount == 500 * 70.0
    assert outcome(surplus, TermKind.SURPLUS_VALUE).clause.id == "art-13"


def test_eu_data_quality_terms_in_euro() -> None:
    q = DataQuality(substituted_share=0.15, late_uploads=2)
    p = position(inputs(emissions_t=41_000, quality=q, **EU_HELD), EU)
    assert p.penalties == 5 * 1_000 + 2 * 50


@pytest.mark.parametrize(("change", "field"), [
    (dict(basis=Basis.CO2), "emissions.basis"),          # eu-ets counts CO2e
    (dict(currency="CNY"), "market_price.currency"),
])
def test_inputs_that_do_not_fit_the_rule_set_are_refused(change: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as info:
        position(inputs(emissions_t=41_000, **{**EU_HELD, **change}), EU)  # type: ignore[arg-type]
    assert info.value.field == field


@pytest.mark.parametrize(("rules", "choices", "field"), [
    (EU, Choices(multiplier=5), "multiplier"),                 # eu-ets fines per tonne
    (CN, Choices(penalty_per_t=100), "penalty_per_t"),         # cn-ets fines a multiple of the price
    (EU, Choices(gain_multiplier=5), "gain_multiplier"),       # eu-ets: falsification is national law
])
def test_a_parameter_the_rule_set_has_no_term_for_is_refused(rules: RuleSet, choices: Choices,
                                                             field: str) -> None:
    currency, basis = ("EUR", Basis.CO2E) if rules is EU else ("CNY", Basis.CO2)
    case = inputs(emissions_t=10, allocated_t=100, currency=currency, basis=basis)
    with pytest.raises(InputError) as info:
        position(case, rules, choices)
    assert info.value.field == field
    assert "no" in info.value.problem


def test_a_trade_in_another_currency_counts_its_tonnes_and_leaves_its_money_out() -> None:
    """The chain's contract takes any three capital letters (`XXX`): refusing the trade refused the
    company's year for ever. Its tonnes count; its money, in no figure, is named in a note."""
    case = inputs(emissions_t=10, allocated_t=100, bought=((5, 9.0),), currency="EUR", price=70.0)
    case = dataclasses.replace(case, price=dataclasses.replace(case.price, currency="CNY"))
    p = position(case, CN)
    assert p.holdings_t == 105
    assert p.bought_t == 5
    [note] = p.notes
    assert note.startswith("bought[0]: 5.000 t at 9.00 EUR/t, in another currency than the rule set's CNY")
    assert position_dict(p)["notes"] == [note]
    assert f"note: {note}" in position_table(p)


def test_more_surrendered_or_sold_than_held_is_refused() -> None:
    with pytest.raises(InputError) as info:
        position(inputs(emissions_t=10, allocated_t=100, surrendered_t=150), CN)
    assert info.value.field == "surrendered_t"
    with pytest.raises(InputError) as info:
        position(inputs(emissions_t=10, allocated_t=100, sold=((150, 80.0),)), CN)
    assert info.value.field == "sold"
