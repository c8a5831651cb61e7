"""A position and a rule set as text for a terminal, and a position as JSON (pure functions)."""

from __future__ import annotations

import json
from typing import Any

from carbonlab.apps.compliance.outcomes import Outcome
from carbonlab.apps.compliance.position import Position
from carbonlab.apps.compliance.ruleset import RuleSet
from carbonlab.apps.compliance.terms import TermKind


def position_dict(p: Position) -> dict[str, Any]:
    """The position as plain JSON values; every outcome with its clause's citation."""
    return {
        "company": p.company, "year": p.year, "rules": p.rules, "currency": p.currency, "basis": p.basis,
        "emissions_t": p.emissions_t,
        "holdings": {"allocated_t": p.allocated_t, "bought_t": p.bought_t, "sold_t": p.sold_t,
                     "banked_t": p.banked_t, "total_t": p.holdings_t},
        "surrendered_t": p.surrendered_t, "surplus_t": p.surplus_t, "shortfall_t": p.shortfall_t,
        "not_surrendered_t": p.not_surrendered_t, "bankable_t": p.bankable_t,
        "market_price_per_t": p.price_per_t, "compliant": p.compliant,
        "outcomes": [_outcome(o) for o in p.outcomes],
        "totals": {"penalties": p.penalties, "bonuses": p.bonuses, "net": p.net,
                   "surplus_value": p.asset_value},
        "notes": list(p.notes),
    }


def position_json(p: Position) -> str:
    return json.dumps(position_dict(p), ensure_ascii=False, sort_keys=True, indent=2)


def _outcome(o: Outcome) -> dict[str, Any]:
    return {"kind": o.kind.value, "effect": o.effect.value, "applies": o.applies,
            "quantity_t": o.quantity_t, "amount": o.amount, "formula": o.formula, "note": o.note,
            "clause": {"id": o.clause.id, "cite": o.clause.cite, "checked": o.clause.checked}}


def position_table(p: Position) -> str:
    cur, unit = p.currency, "t CO2e" if p.basis == "co2e" else "t CO2"
    rows = [("verified emissions", f"{p.emissions_t:,.3f} {unit}"),
            ("allocated", f"{p.allocated_t:,.3f} t"), ("bought", f"{p.bought_t:,.3f} t"),
            ("sold", f"{p.sold_t:,.3f} t"), (f"banked from {p.year - 1}", f"{p.banked_t:,.3f} t"),
            ("holdings", f"{p.holdings_t:,.3f} t"),
            ("surrendered", "not yet recorded" if p.surrendered_t is None else f"{p.surrendered_t:,.3f} t"),
            ("surplus", f"{p.surplus_t:,.3f} t"), ("shortfall", f"{p.shortfall_t:,.3f} t"),
            ("not surrendered", f"{p.not_surrendered_t:,.3f} t"),
            ("market price", f"{p.price_per_t:,.2f} {cur}/t")]
    out = [f"{p.company} {p.year} under {p.rules} ({cur})"]
    out += [f"  {k:<20} {v:>28}" for k, v in rows]
    out.append("")
    out.append(f"  {'term':<26} {'effect':<10} {'applies':<7} {'amount ' + cur:>18}  clause")
    for o in p.outcomes:
        amount = f"{o.amount:,.2f}" if o.amount or o.effect.value in ("penalty", "bonus", "asset") else "-"
        out.append(f"  {o.kind.value:<26} {o.effect.value:<10} {'yes' if o.applies else 'no':<7} "
                   f"{amount:>18}  {o.clause.cite}{'' if o.clause.checked else ' (not checked)'}")
        if o.applies:
            out.append(f"      {o.formula}")
        if o.applies and o.note:
            out.append(f"      {o.note}")
    out.append("")
    out.append(f"  penalties {p.penalties:,.2f} {cur}; bonuses {p.bonuses:,.2f} {cur}; "
               f"net {p.net:,.2f} {cur}; surplus value {p.asset_value:,.2f} {cur}")
    owed = [o for o in p.outcomes if o.applies and o.kind in (TermKind.SURRENDER_OBLIGATION,
                                                              TermKind.ALLOCATION_DEDUCTION)]
    for o in owed:
        out.append(f"  obligation: {o.formula} ({o.clause.cite})")
    out += [f"  note: {n}" for n in p.notes]
    return "\n".join(out)


def ruleset_text(r: RuleSet) -> str:
    h = r.header
    out = [f"{h.name}: {h.title}", f"  jurisdiction: {h.jurisdiction}", f"  currency: {h.currency}; "
           f"emissions counted as {h.emissions_basis.value}", f"  source: {h.source}",
           f"  checked as of: {h.as_of}", "", "clauses:"]
    for c in r.clauses:
        out.append(f"  [{c.id}] {c.cite}{'' if c.checked else '  (NOT CHECKED against the text)'}")
        out.append(f"      {c.summary}")
        if c.note:
            out.append(f"      note: {c.note}")
    out += ["", "terms:"]
    for t in r.terms:
        out.append(f"  {t.kind.value:<26} clause {t.clause}")
    return "\n".join(out)
