"""Where a report's readings come from: a ledger file, or a member's API.

Both give the same three things: genesis, the query module's meter-by-month roll-up of the
company-year (`carbonlab.node.query`, run in-process on the file or by the node's
`/v1/emissions/query`), and the per-block multi-proofs of the readings it sums (`proofs.py`):
those of the blocks up to the height the roll-up is as of, so readings committed while the
report is built (a live chain) are in neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import httpx

from carbonlab.apps import jsonfile
from carbonlab.apps.report import chainrecords, proofs
from carbonlab.apps.report.chainrecords import BundleRecords
from carbonlab.apps.report.model import ReportError
from carbonlab.errors import CarbonlabError
from carbonlab.jsonfile import JsonFileError
from carbonlab.node import merkle
from carbonlab.node.allowances.answers import RecordEntry
from carbonlab.node.errors import NodeError, SchemaError
from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger.render import certificate_from_json, header_from_json
from carbonlab.node.model import Batch
from carbonlab.node.query import EmissionsFilter, Level, Period, QueryResult, open_source

TIMEOUT_S = 60.0
PAGE = 10_000


class ReportSource(Protocol):
    @property
    def genesis(self) -> Genesis: ...
    def monthly(self, flt: EmissionsFilter) -> QueryResult: ...
    def proofs(self, meters: Iterable[str], since: int, until: int, upto: int) -> dict[str, Any]: ...
    def chain_records(self, company: str, year: int) -> BundleRecords | None: ...
    def close(self) -> None: ...


def _request(item: dict[str, Any]) -> bytes:
    """A request's bytes from a full block's item: a batch as JSON, anything else (an allowance
    record) as hex."""
    if item.get("batch") is not None:
        return Batch.from_json(item["batch"]).encode()
    return bytes.fromhex(item["request"])


class LedgerFile:
    """A ledger file, read with its own copy of genesis; a `genesis` the caller gives (its
    `--genesis`, read from `genesis_path`) must be that copy, or the file is refused: a report
    is never built from a ledger of another chain than the caller named."""

    def __init__(self, path: Path, genesis: Genesis | None = None,
                 genesis_path: Path | None = None) -> None:
        try:
            self.source = open_source(path)
        except NodeError as exc:      # names the file already
            raise ReportError("--ledger", str(exc)) from None
        if genesis is not None and genesis.hash != self.source.genesis.hash:
            self.source.close()
            raise ReportError("--genesis", f"{genesis_path}: not the genesis of the ledger {path} "
                                           f"(hash {genesis.hash.hex()[:16]}, the ledger's "
                                           f"{self.source.genesis.hash.hex()[:16]})")

    @property
    def genesis(self) -> Genesis:
        return self.source.genesis

    def monthly(self, flt: EmissionsFilter) -> QueryResult:
        return self.source.query(flt, period=Period.MONTH, level=Level.METER)

    def proofs(self, meters: Iterable[str], since: int, until: int, upto: int) -> dict[str, Any]:
        return proofs.collect(self.source.ledger, self.genesis, meters, since, until, upto)

    def chain_records(self, company: str, year: int) -> BundleRecords | None:
        return chainrecords.from_ledger(self.source.ledger, self.genesis, company, year)

    def close(self) -> None:
        self.source.close()


class NodeApi:
    """A member's API; `genesis` is the caller's copy (the node's answers are checked against it
    by `report verify`, never trusted for it)."""

    def __init__(self, url: str, genesis: Genesis) -> None:
        self.url = url.rstrip("/")
        self._genesis = genesis
        self.http = httpx.Client(base_url=self.url, timeout=TIMEOUT_S)

    @property
    def genesis(self) -> Genesis:
        return self._genesis

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return jsonfile.get(self.http, self.url, path, params)
        except JsonFileError as exc:
            raise ReportError("--node", exc.problem) from None

    def monthly(self, flt: EmissionsFilter) -> QueryResult:
        params = {**flt.params(), "period": Period.MONTH.value, "level": Level.METER.value}
        answer = self._get("/v1/emissions/query", params)
        try:
            return QueryResult.from_json(answer)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise ReportError("--node", f"{self.url}/v1/emissions/query: not a query result "
                                        f"({type(exc).__name__}: {exc})") from None

    def proofs(self, meters: Iterable[str], since: int, until: int, upto: int) -> dict[str, Any]:
        try:
            return self._proofs(meters, since, until, upto)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            if isinstance(exc, CarbonlabError):
                raise
            raise ReportError("--node", f"{self.url}: an answer of an unexpected shape "
                                        f"({type(exc).__name__}: {exc})") from None

    def _proofs(self, meters: Iterable[str], since: int, until: int, upto: int) -> dict[str, Any]:
        wanted = set(meters)
        companies = {self._genesis.meter_by_id[m].company for m in wanted}
        used: dict[int, dict[int, list[int]]] = {}
        for company in sorted(companies):
            offset = 0
            while True:
                page = self._get("/v1/readings", {"company": company, "since": since, "until": until,
                                                  "max_height": upto, "limit": PAGE,
                                                  "offset": offset})["readings"]
                for r in page:
                    if r["meter_id"] in wanted:
                        used.setdefault(r["height"], {}).setdefault(r["batch_idx"], []).append(r["idx"])
                if len(page) < PAGE:
                    break
                offset += PAGE
        blocks = []
        for height in sorted(used):
            block = self._get(f"/v1/blocks/{height}", {"full": "1"})
            header = header_from_json(block["header"], f"block {height}.header")
            certificate_from_json(block["certificate"], f"block {height}.certificate")
            requests = [_request(b) for b in block["batches"]]
            if merkle.root(requests) != header.batches_root:
                raise ReportError("--node", f"block {height}: the batches served do not hash to its "
                                            "batches_root")
            blocks.append({"header": block["header"], "certificate": block["certificate"],
                           "batches": [proofs.batch_entry(requests, i, sorted(idxs))
                                       for i, idxs in sorted(used[height].items())]})
        return {"format": proofs.FORMAT, "chain_id": self._genesis.chain_id,
                "genesis_hash": self._genesis.hash.hex(), "blocks": blocks}

    def chain_records(self, company: str, year: int) -> BundleRecords | None:
        """The company-year's records from `/v1/allowances/history`, their blocks from
        `/v1/blocks/{h}?full=1` (each proof is checked by `report verify`, not trusted here).
        A company genesis does not list in `companies` can hold none (the contract refuses them)."""
        if all(c.id != company for c in self._genesis.companies):
            return None
        try:
            raw = self._get("/v1/allowances/history", {"company": company, "year": year})["records"]
            entries = [RecordEntry.from_json(e, f"records[{i}]") for i, e in enumerate(raw)]
        except (KeyError, TypeError, SchemaError) as exc:
            raise ReportError("--node", f"{self.url}/v1/allowances/history: not a record history "
                                        f"({type(exc).__name__}: {exc})") from None
        try:
            return chainrecords.assemble(self._genesis, entries, self._block_requests)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            if isinstance(exc, CarbonlabError):
                raise
            raise ReportError("--node", f"{self.url}: a block of an unexpected shape "
                                        f"({type(exc).__name__}: {exc})") from None

    def _block_requests(self, height: int) -> tuple[dict[str, Any], dict[str, Any], tuple[bytes, ...]]:
        block = self._get(f"/v1/blocks/{height}", {"full": "1"})
        return block["header"], block["certificate"], tuple(_request(b) for b in block["batches"])

    def close(self) -> None:
        self.http.close()


