"""The ledger explorer: blocks, their batches and verdicts, readings, and a reading's proof.

`/explorer` shows the newest `BLOCKS_SHOWN` blocks (from `GET /v1/head` and `/v1/blocks`),
one block in full with `?height=N` (header, certificate signers, every batch with its
verdict), and with `?meter=`, `?plant=`, `?unit=` or `?company=` the readings of that
selection (`GET /v1/readings`, newest page first), each linking to its proof.
`/explorer/proof?meter=M&seq=S` fetches the reading's proof from the member and judges it in
the console's backend against genesis (`client.proofcheck`): a clear valid or invalid with
the link that failed. Together with the emissions page's links this is the drill-down from
a plant's total to one reading and its verified proof.

Parameters (400 naming the one that is wrong): `height` (>= 1), `meter`, `plant`, `unit`,
`company` (genesis ids), `offset` (>= 0); the proof page `meter` and `seq` (both required).

Test ids: `blocks` (rows `block-<height>`), `block-detail`, `block-batches` (rows
`batch-<index>` with `data-accepted`), `readings` (rows `reading-<meter>-<seq>`, links
`proof-link-<meter>-<seq>`), `proof-verdict` (with `data-valid` = `true`/`false`),
`proof-problem`, `proof-reading`, `proof-signers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carbonlab.client import ParamError
from carbonlab.client.params import IDENT, read_params
from carbonlab.fields import spec

if TYPE_CHECKING:
    from starlette.requests import Request

    from carbonlab.client.context import Console

BLOCKS_SHOWN = 20
READINGS_SHOWN = 100


@dataclass(frozen=True)
class ExplorerParams:
    height: int | None = spec(None, lo=1, hi=2**62)
    meter: str | None = spec(None, pattern=IDENT)
    plant: str | None = spec(None, pattern=IDENT)
    unit: str | None = spec(None, pattern=IDENT)
    company: str | None = spec(None, pattern=IDENT)
    offset: int | None = spec(None, lo=0, hi=10**9)


@dataclass(frozen=True)
class ProofParams:
    meter: str = spec(pattern=IDENT)
    seq: int = spec(lo=0, hi=2**62)


async def view(console: Console, request: Request) -> dict[str, Any]:
    p = read_params(ExplorerParams, request.query_params.multi_items())
    if p.meter is not None and p.meter not in console.genesis.meter_by_id:
        raise ParamError("meter", f"{p.meter!r} is not a meter of genesis")
    head = await console.api.head()
    top = head.height if head else 0
    blocks = await console.api.blocks(max(1, top - BLOCKS_SHOWN + 1), top) if top else ()
    block = await console.api.block(p.height) if p.height is not None else None
    selection = {k: v for k, v in (("meter", p.meter), ("plant", p.plant), ("unit", p.unit),
                                   ("company", p.company)) if v is not None}
    readings: tuple[dict[str, Any], ...] = ()
    if selection:
        page = await console.api.readings(**selection, limit=READINGS_SHOWN, offset=p.offset or 0)
        readings = page.rows
    return {"params": p, "head": head, "blocks": tuple(reversed(blocks)), "block": block,
            "selection": selection, "readings": readings, "shown": READINGS_SHOWN}


async def proof_view(console: Console, request: Request) -> dict[str, Any]:
    from carbonlab.client.proofcheck import judge

    p = read_params(ProofParams, request.query_params.multi_items())
    if p.meter not in console.genesis.meter_by_id:
        raise ParamError("meter", f"{p.meter!r} is not a meter of genesis")
    proof = await console.api.proof(p.meter, p.seq)
    verdict = judge(console.genesis, p.meter, p.seq, proof)
    meter = console.genesis.meter_by_id[p.meter]
    return {"params": p, "verdict": verdict, "meter": meter}
