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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carbonlab.client.pages.emissions import TIME
from carbonlab.client.params import IDENT, read_params
from carbonlab.fields import spec

if TYPE_CHECKING:
    from starlette.requests import Request

    from carbonlab.client.context import Console


@dataclass(frozen=True)
class StructureParams:
    company: str | None = spec(None, pattern=IDENT)
    plant: str | None = spec(None, pattern=IDENT)
    unit: str | None = spec(None, pattern=IDENT)
    stack: str | None = spec(None, pattern=IDENT)
    since: str | None = spec(None, pattern=TIME)
    until: str | None = spec(None, pattern=TIME)
    gwp: str = spec("AR5", choices=("AR5", "AR6"))


def link(level: str, name: str) -> str:
    from urllib.parse import urlencode

    nxt = {"company": "plant", "plant": "unit", "unit": "stack", "stack": "meter"}.get(level, "company")
    return "/emissions?" + urlencode({level: name, "level": nxt, "period": "hour"})


async def view(console: Console, request: Request) -> dict[str, Any]:
    p = read_params(StructureParams, request.query_params.multi_items())
    params = {k: v for k, v in (("company", p.company), ("plant", p.plant), ("unit", p.unit),
                                ("stack", p.stack), ("since", p.since), ("until", p.until))
              if v is not None}
    result = await console.api.emissions_structure({**params, "gwp": p.gwp})
    return {"params": p, "result": result, "link": link}
