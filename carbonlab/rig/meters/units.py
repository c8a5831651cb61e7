"""The profile's gas values (ppm, dry) in the unit and basis a register map's channel states.

The profile models the flue gas once; a meter behind a map that reads CH4 in mg/m3 on wet
gas serves the same gas in that unit: ppm dry x (1 - H2O/100) on a wet basis, and
x M / 22.414 L/mol for mg/m3 at 273.15 K and 101.325 kPa (`emissions.mg_m3_of`, the
conversion the gateway and the contract use the other way round).
"""

from __future__ import annotations

from collections.abc import Mapping

from carbonlab.gateway.registermap import GAS_CHANNELS, MeterRegisterMap
from carbonlab.node.emissions import Gas, mg_m3_of


def in_map_units(values: Mapping[str, float], regmap: MeterRegisterMap) -> dict[str, float]:
    """`values` with each gas the map has in its channel's unit and basis (4 decimals)."""
    out = dict(values)
    for name in GAS_CHANNELS:
        if name not in values or not regmap.has(name):
            continue
        spec = regmap.channel(name)
        value = values[name]
        if spec.basis == "wet":
            value *= (100.0 - values["h2o_pct"]) / 100.0
        out[name] = round(mg_m3_of(value, spec.unit, Gas(name)), 4)
    return out
