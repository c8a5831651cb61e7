"""The three templates: which tables of figures a report shows, computed from meter-month cells.

One pure function (`tables`) serves the build (cells from the query module) and the verifier
(cells summed from the proven readings), so the two can only differ where the cells do.

- `cn-power`: the power-generation facility layout of China's national ETS: per generating
  unit and month the CO2 (t), the gross generation (MWh) and the intensity (t CO2/MWh), the
  unit's year, and the company's total.
- `eu-mrr`: in the style of Annex X of the EU's Monitoring and Reporting Regulation
  (2018/2066): the installation(s), each CEMS emission source (measurement point) with its
  hours measured, substituted, expected and missing, and the missing-data treatment applied.
  The cells count reading intervals (`reading_interval_s` of genesis, e.g. 5 s), not hours: an
  hours column is intervals x interval_s / 3600 (a year of 5-second intervals is 8,760 h, not
  6,307,200), so the verifier recomputes it from the same counts.
- `ghg-scope1`: direct (scope 1) emissions by gas, their CO2e under the GWP set named, and
  the total.
Every template ends with the allowance account when allowance records are given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from carbonlab.apps.report.cells import month_label
from carbonlab.apps.report.model import Allowances, Cell, Row, Table, Template, Value
from carbonlab.node.genesis import Genesis
from carbonlab.node.gwp import GWP100, GwpSet
from carbonlab.node.query.rollup import Shares, add_optional

SUMS = ("co2_kg", "ch4_kg", "n2o_kg", "gross_mwh", "heat_input_gj")


class Acc(Shares):
    """Sums of cells."""

    def __init__(self) -> None:
        self.v: dict[str, float | None] = dict.fromkeys(SUMS)
        self.readings = self.substituted = self.expected = self.missing = 0

    def add(self, c: Cell) -> Acc:
        for name in SUMS:
            self.v[name] = add_optional(self.v[name], getattr(c, name))
        self.readings += c.readings
        self.substituted += c.substituted
        self.expected += c.expected
        self.missing += c.missing
        return self

    def t(self, name: str) -> float | None:
        x = self.v[name]
        return None if x is None else x / 1000

    @property
    def intensity(self) -> float | None:
        co2, mwh = self.v["co2_kg"], self.v["gross_mwh"]
        return None if co2 is None or not mwh else co2 / 1000 / mwh



def _group(cells: Iterable[Cell], key: Callable[[Cell], tuple[str, ...]]) -> dict[tuple[str, ...], Acc]:
    out: dict[tuple[str, ...], Acc] = {}
    for c in cells:
        out.setdefault(key(c), Acc()).add(c)
    return dict(sorted(out.items()))


def tables(template: Template, genesis: Genesis, cells: tuple[Cell, ...], gwp: GwpSet,
           allowances: Allowances | None) -> tuple[Table, ...]:
    info = genesis.meter_by_id
    whole = _group(cells, lambda c: ())[()] if cells else Acc()
    if template is Template.CN_POWER:
        power = ("co2_t", "gross_mwh", "intensity_t_per_mwh", "readings", "substituted_share")

        def pv(a: Acc) -> tuple[Value, ...]:
            return (a.t("co2_kg"), a.v["gross_mwh"], a.intensity, a.readings, a.substituted_share)

        monthly = _group(cells, lambda c: (info[c.meter].plant, info[c.meter].unit,
                                           month_label(c.month_start)))
        yearly = _group(cells, lambda c: (info[c.meter].plant, info[c.meter].unit))
        out = [Table("unit_monthly", "Unit-level monthly CO2, generation and intensity",
                     ("plant", "unit", "month"), power, tuple(Row(k, pv(a)) for k, a in monthly.items())),
               Table("unit_year", "Units: the year", ("plant", "unit"), power,
                     tuple(Row(k, pv(a)) for k, a in yearly.items())),
               Table("total", "Company total", ("company",), power, (Row(("total",), pv(whole)),))]
        emissions_t = whole.t("co2_kg") or 0.0
    elif template is Template.EU_MRR:
        source = ("co2_t", "hours_measured", "hours_substituted", "hours_expected", "hours_missing",
                  "substituted_share", "missing_share")

        step_s = genesis.params.reading_interval_s

        def hours(intervals: int) -> float:
            return intervals * step_s / 3600

        def sv(a: Acc) -> tuple[Value, ...]:
            return (a.t("co2_kg"), hours(a.readings - a.substituted), hours(a.substituted),
                    hours(a.expected), hours(a.missing), a.substituted_share, a.missing_share)

        plants = _group(cells, lambda c: (info[c.meter].plant,))
        sources = _group(cells, lambda c: (info[c.meter].plant, info[c.meter].unit, info[c.meter].stack,
                                           c.meter))
        out = [Table("installations", "Installations", ("installation",), source,
                     tuple(Row(k, sv(a)) for k, a in plants.items())),
               Table("cems_sources", "CEMS emission sources (measurement points)",
                     ("installation", "unit", "stack", "meter"), source,
                     tuple(Row(k, sv(a)) for k, a in sources.items())),
               Table("total", "Total emissions of the operator", ("company",), source,
                     (Row(("total",), sv(whole)),))]
        emissions_t = whole.t("co2_kg") or 0.0
    else:
        factors = GWP100[gwp]
        gases = (("co2", "co2_kg", 1.0), ("ch4", "ch4_kg", factors.ch4_fossil),
                 ("n2o", "n2o_kg", factors.n2o))
        co2e = sum((whole.t(col) or 0.0) * f for _, col, f in gases)
        rows = tuple(Row((g,), (whole.t(col), f, (whole.t(col) or 0.0) * f,
                                ((whole.t(col) or 0.0) * f / co2e) if co2e else 0.0))
                     for g, col, f in gases)
        out = [Table("by_gas", f"Scope 1 emissions by gas (GWP-100, {gwp.value})", ("gas",),
                     ("mass_t", "gwp100", "co2e_t", "share"), rows),
               Table("total", "Scope 1 total", ("company",), ("co2e_t", "readings", "substituted_share"),
                     (Row(("total",), (co2e, whole.readings, whole.substituted_share)),))]
        emissions_t = co2e
    if allowances is not None:
        a = allowances
        items = (("allocated", a.allocated_t), ("bought", a.bought_t), ("sold", a.sold_t),
                 ("banked", a.banked_t), ("holdings", a.holdings_t), ("surrendered", a.surrendered_t),
                 ("emissions", emissions_t), ("balance", a.holdings_t - emissions_t))
        out.append(Table("allowances", "Allowance account (t)", ("item",), ("t",),
                         tuple(Row((k,), (v,)) for k, v in items)))
    return tuple(out)


def notes(template: Template, gwp: GwpSet, interval_s: int) -> tuple[str, ...]:
    """The report's notes; `interval_s` is genesis's `reading_interval_s`."""
    common = ("Figures are sums of readings certified on the consortium's chain; the verification "
              "bundle proves each one (carbonlab report verify).",)
    if template is Template.EU_MRR:
        return (*common,
                f"Hours: each meter reports one reading per {interval_s:,}-second interval; an hours "
                f"column is a count of intervals x {interval_s:,} s / 3,600 s (hours_expected: every "
                "interval of the year; hours_measured: intervals with a measured reading; "
                "hours_substituted: with a substituted reading; hours_missing: with no reading).",
                "Missing-data treatment: an interval the CEMS could not measure is reported by the "
                "gateway with a substitute value flagged as substituted (MRR Art. 45: a conservative "
                "substitute); substituted intervals are counted in the totals and shown per source. "
                "Intervals with no reading at all are missing and are not in the totals.")
    if template is Template.GHG_SCOPE1:
        return (*common, f"CO2e by GWP-100 of IPCC {gwp.value} (CH4 fossil factor); a gas a meter does "
                         "not measure contributes nothing.")
    return (*common, "Intensity is t CO2 per MWh of gross generation reported on the unit's meters.")
