"""The contract's checks of a reading's wire-version-2 channels (CH4, N2O, gross load, heat
input), apart from the version-1 checks in `contract` so each can change on its own.

A meter's genesis entry says which channels it has (`channels.py`). For each one:

* presence: a declared channel must be in every reading (a gateway may not leave CH4 out
  to report less), and an undeclared one must not be;
* a gas: the unit and basis genesis states, the concentration inside the genesis range,
  and the mass equal to the recomputation from concentration and flow
  (`emissions.gas_mass_kg`) under the relative tolerance of `co2_kg` with a 1 mg floor
  (`emissions.gas_mass_matches`);
* load: the interval's average gross MW (gross_mwh / hours) and heat input in MW thermal
  (heat_input_gj / seconds * 1000) inside their genesis ranges, and gross output at most
  `MAX_GROSS_EFFICIENCY` of heat input;
* substitution: a version-2 reading marked `substituted` cannot carry flag N (the flag
  says why the interval had no valid data), and one not marked `substituted` must rest on
  at least one valid sample. (Version-1 readings are not held to this, so the verdicts of
  ledgers written before version 2 do not change.)

Every problem names the field, as data and at the head of its text.
"""

from __future__ import annotations

from dataclasses import dataclass

from carbonlab.node import emissions
from carbonlab.node.emissions import GJ_PER_MWH, MAX_GROSS_EFFICIENCY, Gas
from carbonlab.node.genesis import MeterInfo
from carbonlab.node.model import DataFlag, Reading


@dataclass(frozen=True, slots=True)
class ChannelProblem:
    reason: str        # a `contract.Reason` value
    field: str
    problem: str


def channel_problem(meter: MeterInfo, r: Reading, path: str) -> ChannelProblem | None:
    """The first problem with `r`'s version-2 channels under `meter`'s genesis entry."""
    if not meter.gases and meter.load.gross_mw is None and meter.load.heat_input_mw is None \
            and r.wire_version == 1:
        return None   # the common case of every ledger before version 2: nothing to check
    for gas in (Gas.CH4, Gas.N2O):
        found = _gas_problem(meter, r, gas, path)
        if found is not None:
            return found
    found = _load_problem(meter, r, path)
    if found is not None:
        return found
    if r.substituted and r.flag is DataFlag.NORMAL:
        return ChannelProblem("malformed", f"{path}.flag", "a substituted reading cannot be "
                              "flagged N: the flag says why the interval had no valid data")
    if not r.substituted and r.valid_samples == 0:
        return ChannelProblem("malformed", f"{path}.substituted", "false, but valid_samples is "
                              "0: an interval without valid samples must be substituted")
    return None


def _gas_problem(meter: MeterInfo, r: Reading, gas: Gas, path: str) -> ChannelProblem | None:
    conc, unit, basis, kg = (getattr(r, f"{gas}_{k}") for k in ("conc", "unit", "basis", "kg"))
    channel = meter.gases.get(gas)
    if channel is None:
        if kg is not None:
            return ChannelProblem("channel_mismatch", f"{path}.{gas}_kg", f"meter {meter.id!r} "
                                  f"has no {gas} channel in genesis")
        return None
    if kg is None:
        return ChannelProblem("channel_mismatch", f"{path}.{gas}_kg", f"missing: meter "
                              f"{meter.id!r} has a {gas} channel in genesis")
    if unit is not channel.unit:
        return ChannelProblem("channel_mismatch", f"{path}.{gas}_unit", f"{unit.value!r} but meter "
                              f"{meter.id!r}'s {gas} channel reports {channel.unit.value!r}")
    if basis.value != channel.basis:
        return ChannelProblem("channel_mismatch", f"{path}.{gas}_basis", f"{basis.value!r} but "
                              f"meter {meter.id!r}'s {gas} channel is on a {channel.basis!r} basis")
    lo, hi = channel.range
    if not lo <= conc <= hi:
        return ChannelProblem("out_of_range", f"{path}.{gas}_conc", f"{conc} {unit.value} is "
                              f"outside meter {meter.id!r}'s {gas} range [{lo}, {hi}]")
    computed = emissions.gas_mass_kg(gas, conc, unit, basis.value, r.h2o_pct, r.flow_m3_s,
                                     r.temp_c, r.pressure_kpa, r.interval_s)
    if not emissions.gas_mass_matches(kg, computed):
        return ChannelProblem("gas_mismatch", f"{path}.{gas}_kg", f"{kg} does not match the "
                              f"recomputed {computed!r} kg")
    return None


def _load_problem(meter: MeterInfo, r: Reading, path: str) -> ChannelProblem | None:
    # the genesis range (MW averages) as interval totals, computed as the gateway computes a
    # total from an average (MW x s / 3600, MW x s / 1000), so a range end is exact
    checks = (("gross_mwh", r.gross_mwh, meter.load.gross_mw, 3600.0, "MWh", "MW (electrical)"),
              ("heat_input_gj", r.heat_input_gj, meter.load.heat_input_mw, 1000.0, "GJ",
               "MW (thermal)"))
    for name, value, bounds, per, unit, what in checks:
        if bounds is None:
            if value is not None:
                return ChannelProblem("channel_mismatch", f"{path}.{name}", f"meter {meter.id!r} "
                                      f"has no {name} channel in genesis")
            continue
        if value is None:
            return ChannelProblem("channel_mismatch", f"{path}.{name}", f"missing: meter "
                                  f"{meter.id!r} has a {name} channel in genesis")
        lo, hi = bounds[0] * r.interval_s / per, bounds[1] * r.interval_s / per
        if not lo <= value <= hi:
            return ChannelProblem("out_of_range", f"{path}.{name}", f"{value} {unit} over "
                                  f"{r.interval_s} s is outside [{lo!r}, {hi!r}], meter "
                                  f"{meter.id!r}'s range [{bounds[0]}, {bounds[1]}] {what}")
    if r.gross_mwh is not None and r.heat_input_gj is not None:
        limit_gj = r.heat_input_gj * MAX_GROSS_EFFICIENCY
        if r.gross_mwh * GJ_PER_MWH > limit_gj * (1 + 1e-9):
            return ChannelProblem("load_mismatch", f"{path}.gross_mwh", f"{r.gross_mwh} MWh is more "
                                  f"than {MAX_GROSS_EFFICIENCY} of the heat input "
                                  f"{r.heat_input_gj} GJ ({limit_gj / GJ_PER_MWH!r} MWh)")
    return None
