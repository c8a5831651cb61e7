"""The node's HTTP API (Starlette): submit batches, ask about them, query the ledger.

Every ledger call goes through the service's query connection in a worker thread,
so no route blocks the trio loop that runs consensus. Client mistakes come back as
4xx JSON naming the field: 400 `{"error", "field"}` for unreadable or ill-typed
input (and for JSON nested deeper than `body.MAX_JSON_DEPTH`), 413 for a body over
`body.MAX_BODY_BYTES`, 415 for a body that is not `application/json`, 404 for unknown
things. Decisions about a batch are `carbonlab.node.decision.Decision`s, serialised by it:
422 for a batch the contract rejects (before ordering or by consensus: one shape), 409
for a different batch under a `(gateway_id, batch_seq)` already committed. A node with
`max_pending_batches` batches waiting for a decision answers a new one 503 with a
`Retry-After` header (nothing of it kept; `carbonlab_batches_refused_total` counts it).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from carbonlab.asgi import BodyGuard
from carbonlab.checks import shown
from carbonlab.node.api.body import (
    BATCH_MEDIA_TYPE,
    MAX_BODY_BYTES,
    check_media_type,
    read_json,
    read_limited,
)
from carbonlab.node.api.errors import EXCEPTION_HANDLERS, ApiError, only_params, path_int, query_int
from carbonlab.node.api.openapi import OPENAPI
from carbonlab.node.api.records import record_routes
from carbonlab.node.decision import Decision
from carbonlab.node.errors import Overloaded, SchemaError
from carbonlab.node.gwp import GwpSet
from carbonlab.node.ledger.errors import LedgerError
from carbonlab.node.ledger.render import block_json
from carbonlab.node.metrics import CONTENT_TYPE
from carbonlab.node.model import MAX_BATCH_BYTES, Batch
from carbonlab.node.query.filters import EmissionsFilter, FilterError, Level, Period, time_range
from carbonlab.node.query_names import FILTER_NAMES

if TYPE_CHECKING:
    from carbonlab.node.service import NodeService

E = TypeVar("E", bound=StrEnum)

MAX_BLOCK_RANGE = 100
MAX_WAIT_S = 30.0
GROUPS = ("company", "plant", "unit", "stack", "meter")
QUERY_PARAMS = (*FILTER_NAMES, "period", "level", "proofs")
READINGS_PARAMS = ("meter", "plant", "unit", "company", "since", "until", "max_height", "limit", "offset")
STRUCTURE_PARAMS = (*FILTER_NAMES, "gwp")
YES_NO = {"": False, "0": False, "false": False, "1": True, "true": True}


def build_app(node: NodeService) -> Starlette:
    async def submit(request: Request) -> Response:
        only_params(request, ("wait_ms",))
        try:
            # the binary route's Batch is the one the contract would decode from these bytes
            decoded = check_media_type(request, also=BATCH_MEDIA_TYPE) == BATCH_MEDIA_TYPE
            if decoded:
                batch = Batch.decode(await read_limited(request, MAX_BATCH_BYTES))
            else:
                batch = Batch.from_json(await read_json(request, "batch", checked=True))
        except SchemaError as exc:
            raise ApiError(400, str(exc), exc.field) from None
        wait_ms = query_int(request, "wait_ms", default=0, lo=0, hi=int(MAX_WAIT_S * 1000)) or 0
        try:
            decision = node.precheck(batch, decoded=decoded) or await node.submit(batch, wait_ms / 1000)
        except Overloaded as exc:
            raise ApiError(503, str(exc), "batch", {"Retry-After": str(exc.retry_after_s)}) from None
        return decision_response(decision)

    async def batch_status(request: Request) -> Response:
        only_params(request, ())
        seq = path_int(request, "batch_seq")
        decision = await node.batch_status(request.path_params["gateway_id"], seq)
        return JSONResponse(decision.to_json())   # a status read is 200 whatever the batch's fate

    async def status(request: Request) -> Response:
        only_params(request, ())
        return JSONResponse(node.status())

    async def peers(request: Request) -> Response:
        only_params(request, ())
        return JSONResponse(node.peers().to_json())

    async def healthz(request: Request) -> Response:
        ok = node.started.is_set()
        return JSONResponse({"ok": ok}, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        node.refresh_live()
        return Response(node.metrics.render(), media_type=CONTENT_TYPE)

    async def block(request: Request) -> Response:
        only_params(request, ("full",))
        height = path_int(request, "height")
        full = request.query_params.get("full", "") in ("1", "true")
        found = await node.query(lambda ledger: ledger.block(height))
        if found is None:
            raise ApiError(404, f"height: no block {height}", "height")
        return JSONResponse(block_json(found, with_batches=full))

    async def blocks(request: Request) -> Response:
        only_params(request, ("from", "to"))
        lo = query_int(request, "from", default=1, lo=0)
        hi = query_int(request, "to", default=None, lo=0)
        assert lo is not None
        hi = lo + MAX_BLOCK_RANGE - 1 if hi is None else hi
        if hi < lo or hi - lo >= MAX_BLOCK_RANGE:
            raise ApiError(400, f"to: must be within from..from+{MAX_BLOCK_RANGE - 1}", "to")
        found = await node.query(lambda ledger: ledger.blocks(lo, hi))
        return JSONResponse({"blocks": [block_json(b) for b in found]})

    def _known_meter(meter: str | None) -> None:
        if meter is not None and meter not in node.genesis.meter_by_id:
            raise ApiError(404, f"meter: unknown meter {shown(meter)}", "meter")

    async def readings(request: Request) -> Response:
        only_params(request, READINGS_PARAMS)
        q = request.query_params
        meter = q.get("meter")
        _known_meter(meter)
        args: dict[str, Any] = {
            "meter": meter, "plant": q.get("plant"), "unit": q.get("unit"), "company": q.get("company"),
            "since": query_int(request, "since"), "until": query_int(request, "until"),
            "max_height": query_int(request, "max_height", lo=0),
            "limit": query_int(request, "limit", default=100, lo=1, hi=10_000),
            "offset": query_int(request, "offset", default=0, lo=0)}
        rows = await _ledger_call(lambda ledger: ledger.readings(**args))
        return JSONResponse({"readings": rows, "limit": args["limit"], "offset": args["offset"]})

    async def emissions(request: Request) -> Response:
        only_params(request, ("group_by", "since", "until"))
        group_by = request.query_params.get("group_by", "company")
        if group_by not in GROUPS:
            raise ApiError(400, f"group_by: {shown(group_by)} is not one of {', '.join(GROUPS)}", "group_by")
        try:   # the query's own range rule and words (since before until, 1970..9999)
            since, until = time_range(request.query_params.get("since"),
                                      request.query_params.get("until"))
        except FilterError as exc:
            raise ApiError(400, str(exc), exc.field) from None
        rows = await _ledger_call(lambda ledger: ledger.emissions(group_by=group_by, since=since,
                                                                   until=until))
        return JSONResponse({"group_by": group_by, "emissions": rows})

    async def emissions_query(request: Request) -> Response:
        q = request.query_params
        only_params(request, QUERY_PARAMS)
        flt = _filter(request)
        period = _choice(Period, "period", q.get("period") or "day")
        level = _choice(Level, "level", q.get("level") or "company")
        proofs = YES_NO.get(q.get("proofs", "").lower())
        if proofs is None:
            raise ApiError(400, f"proofs: {shown(q['proofs'])} is not one of 0, 1, false, true", "proofs")
        result = await _ledger_call(lambda ledger: ledger.emissions_query(
            flt, period=period, level=level, proofs=proofs))
        return JSONResponse(result.to_json())

    async def emissions_structure(request: Request) -> Response:
        only_params(request, STRUCTURE_PARAMS)
        flt = _filter(request)
        gwp = _choice(GwpSet, "gwp", (request.query_params.get("gwp") or "AR5").upper())
        result = await _ledger_call(lambda ledger: ledger.emissions_structure(flt, gwp))
        return JSONResponse(result.to_json())

    async def proof(request: Request) -> Response:
        only_params(request, ())
        meter = request.path_params["meter_id"]
        _known_meter(meter)
        seq = path_int(request, "seq")
        found = await _ledger_call(lambda ledger: ledger.reading_proof(meter, seq))
        if found is None:
            raise ApiError(404, f"seq: no committed reading {seq} of meter {meter!r}", "seq")
        return JSONResponse(found)

    async def rejections(request: Request) -> Response:
        only_params(request, ("gateway", "limit", "offset"))
        gateway = request.query_params.get("gateway")
        limit = query_int(request, "limit", default=100, lo=1, hi=10_000)
        offset = query_int(request, "offset", default=0, lo=0)
        rows = await _ledger_call(lambda ledger: ledger.rejections(gateway=gateway, limit=limit,
                                                                    offset=offset))
        return JSONResponse({"rejections": [r.to_json() for r in rows], "limit": limit, "offset": offset})

    async def head(request: Request) -> Response:
        only_params(request, ())
        found = await node.query(lambda ledger: ledger.signed_head())
        if found is None:
            raise ApiError(404, "head: no block committed yet", "head")
        return JSONResponse(found.to_json())

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def _ledger_call(fn: Any) -> Any:
        try:
            return await node.query(fn)
        except LedgerError as exc:
            raise ApiError(400, str(exc), exc.field or "query") from None
        except FilterError as exc:
            raise ApiError(400, str(exc), exc.field) from None

    def _filter(request: Request) -> EmissionsFilter:
        try:
            flt = EmissionsFilter.from_params(dict(request.query_params))
            flt.check(node.genesis)
        except FilterError as exc:
            raise ApiError(400, str(exc), exc.field) from None
        return flt

    routes = [
        Route("/v1/batches", submit, methods=["POST"]),
        Route("/v1/batches/{gateway_id}/{batch_seq}", batch_status, methods=["GET"]),
        Route("/v1/status", status, methods=["GET"]),
        Route("/v1/peers", peers, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/v1/blocks/{height}", block, methods=["GET"]),
        Route("/v1/blocks", blocks, methods=["GET"]),
        Route("/v1/readings", readings, methods=["GET"]),
        Route("/v1/readings/{meter_id}/{seq}/proof", proof, methods=["GET"]),
        Route("/v1/emissions", emissions, methods=["GET"]),
        Route("/v1/emissions/query", emissions_query, methods=["GET"]),
        Route("/v1/emissions/structure", emissions_structure, methods=["GET"]),
        Route("/v1/rejections", rejections, methods=["GET"]),
        Route("/v1/head", head, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        *record_routes(node),
    ]
    return Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS,
                     middleware=[Middleware(BodyGuard, body_timeout_s=node.config.api_body_timeout_s,
                                            drain_max_bytes=MAX_BODY_BYTES)])


def _choice(kind: type[E], name: str, raw: str) -> E:
    try:
        return kind(raw)
    except ValueError:
        raise ApiError(400, f"{name}: {shown(raw)} is not one of {', '.join(m.value for m in kind)}",
                       name) from None


def decision_response(decision: Decision) -> JSONResponse:
    """The answer to a submission: 200 committed, 202 accepted, 409 conflict, 422 rejected."""
    return JSONResponse(decision.to_json(), status_code=decision.http_status)
