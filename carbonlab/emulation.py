"""What a topology and a METERS.yaml may say about an emulated meter's unit: its load profile.

Declared here, at the top of the tree, so that the lab validates a meter's profile when it
loads the topology (not first on the meters host during provisioning) and the rig's meters
process reads it with the very same rules (`carbonlab.fields`).
"""

from __future__ import annotations

from dataclasses import dataclass

from carbonlab.fields import spec


def _above_zero(value: float) -> str | None:
    return None if value > 0 else f"must be above 0, got {value!r}"


def _starts_above_zero(value: tuple[float, float]) -> str | None:
    return None if value[0] > 0 else f"must be [min, max] seconds with 0 < min <= max, got {list(value)!r}"


@dataclass(frozen=True, slots=True)
class ProfileSpec:
    capacity_mw: float = spec(600.0, lo=0.0)
    co2_basis: str = spec("wet", choices=("wet", "dry"))   # the basis the CO2 analyser reports
    min_load: float = spec(0.4, lo=0.0, hi=1.0, check=_above_zero)   # minimum stable load, of capacity
    ramp_per_min: float = spec(0.015, lo=0.0)      # fraction of capacity per minute
    trips_per_day: float = spec(0.5, lo=0.0)
    hold_s: tuple[float, float] = spec((300.0, 3600.0), lo=0.0, check=_starts_above_zero)
    off_s: tuple[float, float] = spec((300.0, 1800.0), lo=0.0, check=_starts_above_zero)
    startup_s: float = spec(1200.0, lo=0.0)
    initial_load: float | None = spec(None, lo=0.0, hi=1.0)  # None: seeded in [min_load, 1]; 0: start cold
    noise: float = spec(0.003, lo=0.0)             # relative noise per second

    @property
    def full_flow_m3_s(self) -> float:
        return 1.35 * self.capacity_mw   # about 810 m3/s actual at 600 MW
