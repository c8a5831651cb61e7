"""The compliance page: the company's position under a rule set, from the chain's records.

Data: the company-year's executed allowance records (`/v1/allowances/history`, read into
`apps.compliance`'s interface by `chainrecords.ChainRecords`), the share of substituted
readings from the query module, and the market price from the form or, when it is left empty,
the mean price of the year's transfers on the chain in the rule set's currency. The position
is `apps.compliance.position` (a pure function); every outcome term is shown with the clause it
comes from (its citation, summary and whether its wording was checked). A missing input (no
allocation, no verifier's statement, no price) is a 400 naming it.

Test ids: `compliance-form` (inputs `compliance-<field>`), `compliance-position`
(`position-emissions`, `position-holdings`, `position-surplus`, `position-shortfall`,
`position-compliant`, `position-penalties`, `position-net`), `compliance-outcomes` (a row
`outcome-<term kind>` with `data-applies`, its clause in `clause-<clause id>`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carbonlab.client import appdata, chainrecords
from carbonlab.client.appdata import offload
from carbonlab.client.appforms import ComplianceForm
from carbonlab.client.appviews import default_company, mapped, query_form, query_once, state, this_year

if TYPE_CHECKING:
    from starlette.requests import Request

    from carbonlab.apps.compliance.position import Position
    from carbonlab.client.context import Console


def compute(reader: appdata.NodeReader, form: ComplianceForm) -> Position:
    from carbonlab.apps.compliance.chainrecords import ChainRecords
    from carbonlab.apps.compliance.model import DataQuality, MarketPrice
    from carbonlab.apps.compliance.position import position
    from carbonlab.apps.compliance.records import assemble
    from carbonlab.apps.compliance.ruleset import load_named

    rules = load_named(form.rules)
    entries = chainrecords.history(reader, form.company, form.year)
    records = ChainRecords.from_entries(entries, f"{reader.url}/v1/allowances/history")
    price = (chainrecords.chain_price(reader, form.year, rules.currency) if form.price_per_t is None
             else MarketPrice(form.price_per_t, rules.currency, "given on the form"))
    quality = DataQuality(chainrecords.substituted_share(reader, form.company, form.year), form.late_uploads,
                          False, 0.0)
    market = chainrecords.ChainMarket(quality, price)
    inputs = assemble(records, market, form.company, form.year, rules.currency, source="chain")
    return position(inputs, rules)


async def view(console: Console, request: Request) -> dict[str, Any]:
    from carbonlab.apps.compliance.ruleset import shipped

    params = query_once(request)       # a parameter given twice is a 400 (dict() kept the last)
    out: dict[str, Any] = {"companies": appdata.company_ids(console.genesis), "rule_sets": shipped(),
                           "company": params.get("company") or default_company(console),
                           "year": params.get("year") or str(this_year()), "params": params, "position": None}
    if not params:
        return out
    app = state(console)
    with mapped(out):
        form = query_form(ComplianceForm, params)
        appdata.check_company(console.genesis, form.company)
        height = await offload("reading the height", lambda: _height(app.reader))
        out["position"] = await app.results.get(("compliance", form, height), "the position",
                                                lambda: compute(app.reader, form))
    return out


def _height(reader: appdata.NodeReader) -> Any:
    """The member's height: a new block may hold a new record, so a position is kept per height."""
    status = reader.get("/v1/status")
    if not isinstance(status, dict):
        raise appdata.NodeUnavailable(f"{reader.url}/v1/status", "the answer is not an object")
    return status.get("height")
