"""The console's only way to its member: a typed async client of the node's HTTP API.

Every call has a timeout (`timeout_s`, connect and read); a node that does not answer, or
answers 5xx or with a body that is not what the API promises, raises `NodeDown` naming the
URL and what went wrong, which the page shows instead of its figures. A call whose caller is
cancelled (a browser leaving a page or a live stream) is left to finish in its own task, and the
connection pool has no cap: httpcore 1.0 keeps a connection whose call is cancelled at the wrong
moment as 'CONNECTING' for good, and with a cap of 100 a burst of left streams made every later
call time out in the pool while the node was fine. A 4xx is the console
asking something wrong (a reading that does not exist): `NodeRefused`, carrying the node's
message and the field it named. Answers the node has a typed form for come back as that
type, read by the node's own `from_json` (`PeersReport`, `QueryResult`, `StructureResult`,
`SignedHead`); a proof stays the JSON document it is, because `check_proof` is what reads
(and judges) it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from carbonlab.client import ClientError

if TYPE_CHECKING:
    from carbonlab.node.ledger.head import SignedHead
    from carbonlab.node.peers import PeersReport
    from carbonlab.node.query.rollup import QueryResult
    from carbonlab.node.query.structure import StructureResult

DEFAULT_TIMEOUT_S = 5.0


class NodeDown(ClientError):
    """Raised when the member's API does not answer in time, answers 5xx or answers nonsense;
    the node's (or the network's) fault. The page says so instead of showing old figures."""


class NodeRefused(ClientError):
    """Raised when the member's API answers 4xx: the console asked for something that is not
    there or not allowed. Carries the node's status, message and the field it named."""

    def __init__(self, status: int, message: str, field: str | None) -> None:
        super().__init__(f"node answered {status}: {message}")
        self.status, self.message, self.field = status, message, field


@dataclass(frozen=True, slots=True)
class Rows:
    """A page of rows the node returned as JSON (readings, rejections, blocks)."""

    rows: tuple[dict[str, Any], ...]
    limit: int
    offset: int


class NodeApi:
    def __init__(self, base_url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        # no cap on connections: with one, a call that waits for the pool and is cancelled just as a
        # connection is handed to it leaves that connection 'CONNECTING' for good (httpcore 1.0),
        # and once the cap is reached so every call times out in the pool
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=httpx.Timeout(timeout_s),
                                       transport=transport, follow_redirects=False,
                                       limits=httpx.Limits(max_connections=None,
                                                           max_keepalive_connections=20))
        self._running: set[asyncio.Task[httpx.Response]] = set()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._uncancelled(self._http.get(path, params=clean))
        except httpx.TimeoutException:
            raise NodeDown(f"{self.base_url}{path}: no answer within {self.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise NodeDown(f"{self.base_url}{path}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 500:
            raise NodeDown(f"{self.base_url}{path}: the node answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise NodeDown(f"{self.base_url}{path}: the answer is not JSON") from None
        if response.status_code >= 400:
            message = body.get("error", "") if isinstance(body, dict) else ""
            field = body.get("field") if isinstance(body, dict) else None
            raise NodeRefused(response.status_code, str(message), None if field is None else str(field))
        return body

    async def _uncancelled(self, call: Coroutine[Any, Any, httpx.Response]) -> httpx.Response:
        """`call` in a task of its own that a cancelled caller leaves to finish (its timeouts
        end it): httpcore's pool can keep a connection whose call is cancelled midway as
        'CONNECTING' for good (a browser leaving a page or a live stream cancels the call), and
        after 100 of them every call waited for the pool: the page said the node did not answer."""
        task = asyncio.ensure_future(call)
        self._running.add(task)
        task.add_done_callback(self._finished)
        return await asyncio.shield(task)

    def _finished(self, task: asyncio.Task[httpx.Response]) -> None:
        self._running.discard(task)
        if not task.cancelled():
            task.exception()            # retrieved: a call its caller left is not an error to log

    async def _typed(self, path: str, read: Any, params: dict[str, Any] | None = None) -> Any:
        from carbonlab.node.errors import SchemaError

        body = await self.get_json(path, params)
        try:
            return read(body)
        # a reader may trip over a shape it does not check (a missing key, a number for an object):
        # the node's fault all the same, not the console's (it was a 500)
        except (SchemaError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise NodeDown(f"{self.base_url}{path}: the answer does not follow the API: "
                           f"{type(exc).__name__}: {exc}") from None

    async def peers(self) -> PeersReport:
        from carbonlab.node.peers import PeersReport

        result: PeersReport = await self._typed("/v1/peers", PeersReport.from_json)
        return result

    async def head(self) -> SignedHead | None:
        from carbonlab.node.ledger.head import SignedHead

        try:
            head: SignedHead = await self._typed("/v1/head", SignedHead.from_json)
        except NodeRefused as exc:
            if exc.status == 404:
                return None
            raise
        return head

    async def emissions_query(self, params: dict[str, str]) -> QueryResult:
        from carbonlab.node.query.rollup import QueryResult

        result: QueryResult = await self._typed("/v1/emissions/query", QueryResult.from_json, params)
        return result

    async def emissions_structure(self, params: dict[str, str]) -> StructureResult:
        from carbonlab.node.query.structure import StructureResult

        result: StructureResult = await self._typed("/v1/emissions/structure",
                                                    _structure_reader(StructureResult), params)
        return result

    async def blocks(self, lo: int, hi: int) -> tuple[dict[str, Any], ...]:
        body = await self.get_json("/v1/blocks", {"from": lo, "to": hi})
        return tuple(_rows(body, "blocks", self.base_url))

    async def block(self, height: int) -> dict[str, Any]:
        body = await self.get_json(f"/v1/blocks/{height}", {"full": "1"})
        if not isinstance(body, dict):
            raise NodeDown(f"{self.base_url}/v1/blocks/{height}: the answer is not an object")
        return body

    async def readings(self, **params: Any) -> Rows:
        body = await self.get_json("/v1/readings", params)
        rows = tuple(_rows(body, "readings", self.base_url))
        try:
            return Rows(rows, int(body.get("limit", 0)), int(body.get("offset", 0)))
        except (TypeError, ValueError):
            raise NodeDown(f"{self.base_url}/v1/readings: limit or offset is not an integer") from None

    async def rejections(self, limit: int = 50, offset: int = 0) -> Rows:
        body = await self.get_json("/v1/rejections", {"limit": limit, "offset": offset})
        return Rows(tuple(_rows(body, "rejections", self.base_url)), limit, offset)

    async def proof(self, meter_id: str, seq: int) -> Any:
        return await self.get_json(f"/v1/readings/{meter_id}/{seq}/proof")


def _structure_reader(cls: Any) -> Any:
    from carbonlab.node.schema import as_dict

    return lambda body: cls.from_json(as_dict(body, "structure"))


def _rows(body: Any, key: str, url: str) -> list[dict[str, Any]]:
    rows = body.get(key) if isinstance(body, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise NodeDown(f"{url}: the answer has no list of {key}")
    return rows
