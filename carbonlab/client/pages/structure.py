"""The structure page: the organisation's tree (company -> plant -> unit -> stack) with each
node's CO2e, its share of the whole, intensity, measured share and change on the previous
period of the same length; and the whole's split by gas.

Data: one `GET /v1/emissions/structure` (node's structure module, `docs/query.md`), typed
as node's `StructureResult`. A group links to the emissions page scoped to it, a stack to the
emissions page by meter, whose rows link to the explorer's readings (and from there
to a reading's proof).

Parameters (400 naming the one that is wrong): `company`, `plant`, `unit`, `stack`,
`since`, `until`, `gwp` (AR5, AR6).

Test ids: `structure-tree` (rows `tree-<level>-<name>`), `structure-gases` (rows
`gas-<gas>`), `structure-total`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carbonlab.client.params import Scope, read_params

if TYPE_CHECKING:
    from starlette.requests import Request

    from carbonlab.client.context import Console


def link(level: str, name: str) -> str:
    from urllib.parse import urlencode

    nxt = {"company": "plant", "plant": "unit", "unit": "stack", "stack": "meter"}.get(level, "company")
    return "/emissions?" + urlencode({level: name, "level": nxt, "period": "hour"})


async def view(console: Console, request: Request) -> dict[str, Any]:
    p = read_params(Scope, request.query_params.multi_items())
    result = await console.api.emissions_structure({**p.filter(), "gwp": p.gwp})
    return {"params": p, "result": result, "link": link}
