"""What planning and forecasts read from the chain (issue 14's allowance records and the
committed readings): the trading centre's transfers with their prices and settlement days, a
company's allowance balance, its committed emissions so far, and the query module's answers
(the unit curves' interval readings), from a ledger file or a member's API.

Theory of operation. Both sources give the node's own typed answers (`RecordEntry`,
`Balance`, `QueryResult` in `carbonlab.node`), so nothing here re-reads a schema:
`LedgerChain` calls the ledger's queries on a read-only file (with the ledger's copy of
genesis, or a trusted one given with `--genesis`, which must match), `ApiChain` the member's
routes: `/v1/allowances/records` and `/v1/allowances/balance` through the node's own
`AllowanceClient`, `/v1/blocks/{height}` and `/v1/emissions/query` directly, each with a
timeout. Only records the contract accepted count. A
transfer's day is the UTC day of the block that settled it (the block's certified
timestamp: every member dates it alike). Errors are `InputError` naming the option
(`--node`, `--ledger`) and what was wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from carbonlab.apps.errors import InputError
from carbonlab.checks import shown, url_problem
from carbonlab.node.allowances.answers import Balance, RecordEntry
from carbonlab.node.allowances.records import Kind, Transfer
from carbonlab.node.errors import NodeError, SchemaError
from carbonlab.node.genesis import Genesis
from carbonlab.node.query import EmissionsFilter, Gas, Level, Period, QueryResult

if TYPE_CHECKING:
    from carbonlab.node.allowances.client import AllowanceClient

TIMEOUT_S = 30.0
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SettledTransfer:
    """A transfer the contract accepted, with the UTC day of the block that settled it."""

    day: date
    height: int
    transfer: Transfer


class ChainSource(Protocol):
    @property
    def genesis(self) -> Genesis | None: ...   # a ledger's own (or the trusted) copy; None from an API
    def query(self, flt: EmissionsFilter, period: Period, level: Level) -> QueryResult: ...
    def transfers(self, year: int | None = None) -> list[SettledTransfer]: ...
    def balance(self, company: str, year: int) -> Balance: ...
    def emitted_t(self, company: str, since: int, until: int) -> float: ...
    def close(self) -> None: ...


def _day(timestamp_ms: int) -> date:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).date()


def _settled(entries: list[RecordEntry], day_of: Any) -> list[SettledTransfer]:
    return [SettledTransfer(day_of(e.height), e.height, e.record.body) for e in entries
            if e.accepted and isinstance(e.record.body, Transfer)]


def _co2_t(result: QueryResult) -> float:
    return sum(r.co2_kg or 0.0 for r in result.rows) / 1000.0


def _year_filter(company: str, since: int, until: int) -> EmissionsFilter:
    return EmissionsFilter(company=company, gases=(Gas.CO2,), since=since, until=until)


class LedgerChain:
    def __init__(self, path: Path, genesis: Path | None = None) -> None:
        from carbonlab.node.query import open_source

        if path.is_dir():
            raise InputError(f"--ledger {path}", "is a directory, not a ledger file")
        if not path.is_file():
            raise InputError(f"--ledger {path}", "no such ledger file")
        try:
            trusted = Genesis.load(genesis) if genesis is not None else None
            self.source = open_source(path, trusted)
        except (NodeError, OSError, ValueError) as exc:
            raise InputError(f"--ledger {path}", str(exc)) from None
        self.ledger = self.source.ledger

    @property
    def genesis(self) -> Genesis | None:
        return self.source.genesis

    def query(self, flt: EmissionsFilter, period: Period, level: Level) -> QueryResult:
        return self.source.query(flt, period=period, level=level, max_rows=None)

    def transfers(self, year: int | None = None) -> list[SettledTransfer]:
        def day_of(height: int) -> date:
            block = self.ledger.block(height)
            assert block is not None   # the entry's own block
            return _day(block.header.timestamp_ms)

        return _settled(self.ledger.allowance_records(year, Kind.TRANSFER), day_of)

    def balance(self, company: str, year: int) -> Balance:
        return self.ledger.allowance_balance(company, year)

    def emitted_t(self, company: str, since: int, until: int) -> float:
        return _co2_t(self.query(_year_filter(company, since, until), Period.YEAR, Level.COMPANY))

    def close(self) -> None:
        self.source.close()


def node_url(text: str) -> str:
    """A member's API URL as given (`http://host:port`), or an `InputError` naming `--node`: the
    one check of every `--node` (the CLI's argparse type and `ApiChain`). httpx raises
    `InvalidURL`, which is not an `HTTPError`, for `http://256.0.0.1` or `http://[::1`."""
    import httpx

    problem = url_problem(text)         # the one rule of a server's URL (also the gateway's nodes)
    if problem is not None:
        raise InputError("--node", problem)
    try:
        httpx.URL(text)                 # what httpx itself would still refuse
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise InputError("--node", f"invalid URL {shown(text)} ({exc})") from None
    return text


class ApiChain:
    def __init__(self, url: str) -> None:
        import httpx

        self.url = node_url(url).rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=TIMEOUT_S)
        self._days: dict[int, date] = {}

    @property
    def genesis(self) -> Genesis | None:
        return None

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        from carbonlab.apps import jsonfile
        from carbonlab.jsonfile import JsonFileError

        try:
            return jsonfile.get(self.http, self.url, path, params)
        except JsonFileError as exc:
            raise InputError("--node", exc.problem) from None

    def _typed(self, path: str, read: Any) -> Any:
        try:
            return read()
        except (SchemaError, KeyError, TypeError, ValueError) as exc:
            raise InputError("--node", f"{self.url}{path}: an answer of an unexpected shape "
                                       f"({exc})") from None

    def _day_of(self, height: int) -> date:
        from carbonlab.node.ledger.render import header_from_json

        if height not in self._days:
            path = f"/v1/blocks/{height}"
            block = self._get(path)
            header = self._typed(path, lambda: header_from_json(block["header"], "header"))
            self._days[height] = _day(header.timestamp_ms)
        return self._days[height]

    def _allowances(self, call: Callable[[AllowanceClient], T]) -> T:
        """The node's own allowance client (`node/allowances/client.py`), its errors as ours."""
        from carbonlab.node.allowances.client import AllowanceClient, AllowanceClientError

        try:
            return call(AllowanceClient(self.url, TIMEOUT_S))
        except AllowanceClientError as exc:
            raise InputError("--node", str(exc)) from None

    def transfers(self, year: int | None = None) -> list[SettledTransfer]:
        entries = self._allowances(lambda c: c.records(year, Kind.TRANSFER))
        return _settled(entries, self._day_of)

    def balance(self, company: str, year: int) -> Balance:
        return self._allowances(lambda c: c.balance(company, year))

    def emitted_t(self, company: str, since: int, until: int) -> float:
        return _co2_t(self.query(_year_filter(company, since, until), Period.YEAR, Level.COMPANY))

    def query(self, flt: EmissionsFilter, period: Period, level: Level) -> QueryResult:
        """The member's `/v1/emissions/query`: the node's query over its ledger (at most its
        row limit; a longer answer is the node's 4xx, named)."""
        path = "/v1/emissions/query"
        answer = self._get(path, {**flt.params(), "period": period.value, "level": level.value})
        return self._typed(path, lambda: QueryResult.from_json(answer))  # type: ignore[no-any-return]

    def close(self) -> None:
        self.http.close()


def open_chain(*, node: str | None = None, ledger: Path | None = None,
               genesis: Path | None = None) -> ChainSource:
    """A member's API (`node`) or a ledger file (`ledger`, optionally checked against `genesis`)."""
    if (node is None) == (ledger is None):
        raise InputError("--node/--ledger", "give one source of allowance records: a member's API "
                         "(--node URL) or a ledger file (--ledger FILE)")
    if node is not None:
        if genesis is not None:
            raise InputError("--genesis", "goes with --ledger (a member's API answers for its own chain)")
        return ApiChain(node)
    assert ledger is not None
    return LedgerChain(ledger, genesis)
