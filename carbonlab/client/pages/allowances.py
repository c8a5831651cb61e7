"""The allowances page: a company's balance and history for a year, and the actions this
organisation's role may sign.

Data: `/v1/allowances/balance?company=&year=` (allocated, bought, sold, surrendered, held:
typed `Balance`) and `/v1/allowances/history?company=&year=` (every executed record, refused
ones with the contract's reason), both refreshed live. The action forms shown are exactly
`actions.allowed_kinds` for this console's member (its genesis role, and for a power company
the companies it represents); each posts to `POST /allowances/action`, which signs the record
with the organisation's key on this side, submits it to the member and shows the contract's
answer (committed at height H, or refused: reason). Any other kind posted by hand is refused
there with 403 and nothing is signed.

Test ids: `allowances-filter` (inputs `allowances-company`, `allowances-year`),
`allowances-balance` (`balance-allocated`, `balance-bought`, `balance-sold`,
`balance-surrendered`, `balance-held`), `allowances-history` (a row `record-<id prefix 12>` with
`data-status` committed/refused), `allowances-actions` (one form `action-form-<kind>` per
allowed kind, inputs `action-<kind>-<field>`, the hidden one-time token `action-<kind>-form-token`
(client/sentforms.py: the form sent twice makes one record), button `action-<kind>-submit`; the section says
`no-actions` when the role may sign none); the answer page: `action-outcome` with
`data-status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carbonlab.client import actions, appdata, chainrecords, sentforms
from carbonlab.client.appdata import offload
from carbonlab.client.appviews import default_company, mapped, state, this_year
from carbonlab.client.nodeapi import NodeDown
from carbonlab.client.params import IDENT, read_params
from carbonlab.fields import spec
from carbonlab.node.allowances.records import BODY_OF, body_fields

if TYPE_CHECKING:
    from starlette.requests import Request

    from carbonlab.client.context import Console


@dataclass(frozen=True)
class AllowancesParams:
    company: str | None = spec(None, pattern=IDENT)
    year: int | None = spec(None, lo=1990, hi=2200)     # the node's allowance years


async def view(console: Console, request: Request) -> dict[str, Any]:
    p = read_params(AllowancesParams, request.query_params.multi_items())
    company = p.company or default_company(console)
    year = p.year or this_year()
    app = state(console)
    kinds = actions.allowed_kinds(console.genesis, app.org) if app.org is not None else ()
    out: dict[str, Any] = {
        "companies": appdata.company_ids(console.genesis), "company": company, "year": year,
        # each form with a fresh one-time token: sent twice, it makes one record (client/sentforms.py)
        "kinds": [(k.value, body_fields(k), BODY_OF[k], sentforms.new_token()) for k in kinds],
        "balance": None, "history": [],
        "represented": actions.represented(console.genesis, console.member.id) if console.member else (),
        "signs_as": app.org.member if app.org and app.org.key else None}
    try:
        with mapped():
            appdata.check_company(console.genesis, company)
            out["balance"], out["history"] = await offload("reading the allowances", lambda: (
                chainrecords.balance(app.reader, company, year),
                chainrecords.history(app.reader, company, year)))
    except NodeDown as exc:     # the page and its forms stay, with the banner (its data was all lost: a 500)
        out["error"] = str(exc)
    return out
