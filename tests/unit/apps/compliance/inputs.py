"""Building typed inputs for the compliance tests (one place, so each test states only its figures)."""

from __future__ import annotations

from carbonlab.apps.compliance.model import (
    AllowanceLedger,
    Basis,
    ComplianceInputs,
    DataQuality,
    MarketPrice,
    Trade,
    VerifiedEmissions,
)


def inputs(*, emissions_t: float, allocated_t: float, bought: tuple[tuple[float, float], ...] = (),
           sold: tuple[tuple[float, float], ...] = (), banked_t: float = 0.0,
           surrendered_t: float | None = None, price: float = 80.0, currency: str = "CNY",
           basis: Basis = Basis.CO2, quality: DataQuality | None = None) -> ComplianceInputs:
    ledger = AllowanceLedger(
        company="north-power", year=2025, allocated_t=allocated_t,
        bought=tuple(Trade(q, p, currency) for q, p in bought),
        sold=tuple(Trade(q, p, currency) for q, p in sold), banked_t=banked_t, surrendered_t=surrendered_t)
    gwp = "AR5" if basis is Basis.CO2E else None
    return ComplianceInputs(ledger, VerifiedEmissions(emissions_t, basis, gwp, "verifier-1", "ab" * 32),
                            quality or DataQuality(substituted_share=0.05),
                            MarketPrice(price, currency, "average of the month before the deadline"))
