"""The API's allowance routes (issue 14, item 1): submit a signed record, follow it, and read
balances, a company's history and the records of a year.

    POST /v1/records                                  a signed record (jsonform.py); 202
    GET  /v1/records/{id}                             its RecordStatus
    GET  /v1/allowances/balance?company=&year=        a Balance
    GET  /v1/allowances/history?company=&year=&kind=  the company's RecordEntry list
    GET  /v1/allowances/records?year=&kind=           every executed record of a year (e.g. all
                                                      transfers with their prices)
    GET  /v1/allowances/signers/{member}              a member's last executed record seq (what
                                                      its next record's seq must exceed)

A record that cannot be read is a 400 naming the field; one that can never be accepted
whatever the ledger holds (another chain, a signer genesis does not name, a signature that
does not verify, a signer whose role may not make the kind, a company genesis does not name, a
surrender by another company's member) a 422 before ordering, as a batch's stateless checks
are; everything else is ordered (202 with its id and `status_url`) and the contract's
decision, refusals with their reason, is at the status URL once executed. Query parameters
are checked before any ledger call, on every route (a record's status too): unknown or
repeated ones, a year outside 1990..2200, a kind not in the four are 400s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from carbonlab.checks import shown
from carbonlab.node.allowances.answers import RecordState
from carbonlab.node.allowances.jsonform import record_from_json
from carbonlab.node.allowances.records import Kind
from carbonlab.node.api.body import read_json
from carbonlab.node.api.errors import ApiError, only_params, query_int
from carbonlab.node.errors import SchemaError

if TYPE_CHECKING:
    from carbonlab.node.service import NodeService

MAX_WAIT_S = 30.0


def record_routes(node: NodeService) -> list[Route]:
    async def submit(request: Request) -> Response:
        raw = await read_json(request, "record")
        only_params(request, ("wait_ms",))
        try:
            record = record_from_json(raw)
        except SchemaError as exc:
            raise ApiError(400, str(exc), exc.field) from None
        wait_ms = query_int(request, "wait_ms", default=0, lo=0, hi=int(MAX_WAIT_S * 1000)) or 0
        refused = node.precheck_record(record)
        if refused is not None:
            return JSONResponse(refused.to_json(), status_code=422)
        status = await node.submit_record(record, wait_ms / 1000)
        body = {**status.to_json(), "status_url": f"/v1/records/{status.id}"}
        return JSONResponse(body, status_code=200 if status.final else 202)

    async def status(request: Request) -> Response:
        only_params(request, ())
        record_id = request.path_params["record_id"]
        if len(record_id) != 64 or any(c not in "0123456789abcdef" for c in record_id):
            raise ApiError(400, f"id: must be 64 lowercase hex digits, got {record_id[:80]!r}", "id")
        found = await node.record_status(record_id)
        return JSONResponse(found.to_json(), status_code=404 if found.status is RecordState.UNKNOWN else 200)

    async def balance(request: Request) -> Response:
        only_params(request, ("company", "year"))
        company, year = _company(request, node), _year(request, required=True)
        assert year is not None
        found = await node.query(lambda ledger: ledger.allowance_balance(company, year))
        return JSONResponse(found.to_json())

    async def history(request: Request) -> Response:
        only_params(request, ("company", "year", "kind"))
        company, year, kind = _company(request, node), _year(request), _kind(request)
        found = await node.query(lambda ledger: ledger.allowance_history(company, year, kind))
        return JSONResponse({"company": company, "year": year, "kind": kind,
                             "records": [e.to_json() for e in found]})

    async def records(request: Request) -> Response:
        only_params(request, ("year", "kind"))
        year, kind = _year(request), _kind(request)
        found = await node.query(lambda ledger: ledger.allowance_records(year, kind))
        return JSONResponse({"year": year, "kind": kind, "records": [e.to_json() for e in found]})

    async def signer(request: Request) -> Response:
        only_params(request, ())
        member = request.path_params["member"]
        if member not in node.genesis.member_ids:
            raise ApiError(404, f"member: {shown(member)} is not a member in genesis; members: "
                                f"{', '.join(node.genesis.member_ids)}", "member")
        state = await node.query(lambda ledger: ledger.allowances)
        return JSONResponse({"signer": member, "last_seq": state.last_seq.get(member)})

    return [Route("/v1/records", submit, methods=["POST"]),
            Route("/v1/records/{record_id}", status, methods=["GET"]),
            Route("/v1/allowances/balance", balance, methods=["GET"]),
            Route("/v1/allowances/history", history, methods=["GET"]),
            Route("/v1/allowances/records", records, methods=["GET"]),
            Route("/v1/allowances/signers/{member}", signer, methods=["GET"])]


def _company(request: Request, node: NodeService) -> str:
    company = request.query_params.get("company", "")
    known = [c.id for c in node.genesis.companies]
    if not company:
        raise ApiError(400, "company: required", "company")
    if company not in known:
        raise ApiError(404, f"company: {company[:80]!r} is not a company in genesis; companies: "
                            f"{', '.join(known) or '(none)'}", "company")
    return company


def _year(request: Request, *, required: bool = False) -> int | None:
    year = query_int(request, "year", default=None, lo=1990, hi=2200)
    if year is None and required:
        raise ApiError(400, "year: required", "year")
    return year


def _kind(request: Request) -> Kind | None:
    raw = request.query_params.get("kind", "")
    if not raw:
        return None
    try:
        return Kind(raw)
    except ValueError:
        raise ApiError(400, f"kind: {raw[:80]!r} is not one of {', '.join(k.value for k in Kind)}",
                       "kind") from None
