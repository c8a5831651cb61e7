"""The topology's `companies:` section: the organisation hierarchy that goes into genesis.

    companies:
      - id: genco-a
        name: "Generation company A"
        member: n1                 # the power-company member that represents it
        plants:
          - id: plant-a
            name: "Plant A"
            units:
              - {id: u1, name: "Unit 1", capacity_mw: 600, min_mw: 240, ramp_mw_per_h: 300, fuel: coal}

Optional: without it, the hierarchy is derived from the meters (ids as names, no unit
figures, companies represented by the power-company members in turn). With it, every meter's
company, plant and unit must be in it, and each company's member must be a power-company
member. The classes and their field rules are genesis's own (`carbonlab.node.organisation`),
so a topology is checked by the same rules genesis is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carbonlab.node.organisation import Company, check_meters, companies_from_json, derived

if TYPE_CHECKING:
    from carbonlab.lab.topology import Topology


def companies_of(raw: Any, topo: Topology) -> tuple[Company, ...]:
    """The section read and checked against `topo`'s meters and members (SchemaError naming the
    field), or derived from the meters when `raw` is None."""
    if raw is None:
        return derived([(m.company, m.plant, m.unit) for m in topo.meters],
                       [m.id for m in topo.members if m.role == "power-company"])
    companies = companies_from_json(raw, "companies", file=topo.path)
    check_meters(companies, [(f"meters[{i}]", m.company, m.plant, m.unit)
                             for i, m in enumerate(topo.meters)],
                 {m.id: m.role for m in topo.members}, "companies")
    return companies
