"""A member's API, read and written for allowance records (the CLI's and the apps' client).

Every call has a timeout; an unreachable node, an answer that is not the documented shape,
or a 4xx is an `AllowanceClientError` naming the URL and, for a 4xx, the field the node
named. The answers are read into the node's own types (`answers.py`), so a client holds
exactly what a ledger query would have returned.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from carbonlab.node.allowances.answers import Balance, RecordEntry, RecordStatus, entries_from_json
from carbonlab.node.allowances.jsonform import record_json
from carbonlab.node.allowances.records import Kind, SignedRecord
from carbonlab.node.errors import NodeError, SchemaError

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")
DEFAULT_TIMEOUT_S = 10.0


class AllowanceClientError(NodeError):
    """Raised when a member's API cannot be reached, refuses a request (4xx: the caller's
    fault, `field` names what) or answers outside the documented shape (the node's fault)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AllowanceClient:
    def __init__(self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def chain_id(self) -> str:
        found = self._get("/v1/status", {})
        if not isinstance(found, dict) or not isinstance(found.get("chain_id"), str):
            raise AllowanceClientError(f"{self.url}/v1/status: no chain_id in the answer")
        return str(found["chain_id"])

    def submit(self, record: SignedRecord, wait_s: float = 0.0) -> RecordStatus:
        """POST the record; with `wait_s`, the node waits that long for its block. A 422 (never
        acceptable) comes back as the refused status it carries."""
        body = json.dumps(record_json(record)).encode()
        answer = self._call("POST", "/v1/records", {"wait_ms": int(wait_s * 1000)}, body,
                            ok=(200, 202, 422), timeout_s=self.timeout_s + wait_s)
        return self._read(RecordStatus.from_json, answer, "/v1/records")

    def status(self, record_id: str) -> RecordStatus:
        answer = self._call("GET", f"/v1/records/{record_id}", {}, None, ok=(200, 404))
        return self._read(RecordStatus.from_json, answer, "/v1/records/{id}")

    def balance(self, company: str, year: int) -> Balance:
        answer = self._get("/v1/allowances/balance", {"company": company, "year": year})
        return self._read(Balance.from_json, answer, "/v1/allowances/balance")

    def history(self, company: str, year: int | None = None, kind: Kind | None = None) -> list[RecordEntry]:
        params = _params(company=company, year=year, kind=kind)
        answer = self._get("/v1/allowances/history", params)
        return self._read(_entries, answer, "/v1/allowances/history")

    def records(self, year: int | None = None, kind: Kind | None = None) -> list[RecordEntry]:
        answer = self._get("/v1/allowances/records", _params(year=year, kind=kind))
        return self._read(_entries, answer, "/v1/allowances/records")

    def last_seq(self, member: str) -> int | None:
        """The member's last executed record seq (None before its first record)."""
        path = f"/v1/allowances/signers/{member}"
        return self._read(_last_seq, self._get(path, {}), path)

    # -- plumbing ---------------------------------------------------------------------
    def _get(self, path: str, params: dict[str, Any]) -> Any:
        return self._call("GET", path, params, None, ok=(200,))

    def _call(self, method: str, path: str, params: dict[str, Any], body: bytes | None, *,
              ok: tuple[int, ...], timeout_s: float | None = None) -> Any:
        import httpx

        where = f"{self.url}{path}"
        try:
            response: httpx.Response = httpx.request(
                method, where, params=params, content=body, timeout=timeout_s or self.timeout_s,
                headers={"content-type": "application/json"} if body is not None else None)
        except httpx.HTTPError as exc:
            raise AllowanceClientError(f"{where}: cannot reach the node ({exc})") from None
        try:
            answer = response.json()
        except ValueError:
            raise AllowanceClientError(f"{where}: HTTP {response.status_code}, not JSON") from None
        if response.status_code not in ok:
            field = answer.get("field") if isinstance(answer, dict) else None
            error = answer.get("error") if isinstance(answer, dict) else answer
            raise AllowanceClientError(f"{where}: HTTP {response.status_code}: {error}", field)
        return answer

    def _read(self, reader: Callable[[Any], T], answer: Any, path: str) -> T:
        try:
            return reader(answer)
        except SchemaError as exc:
            raise AllowanceClientError(f"{self.url}{path}: unexpected answer ({exc})", exc.field) from None


def _last_seq(answer: Any) -> int | None:
    seq = answer["last_seq"]
    if seq is not None and (type(seq) is not int or seq < 0):
        raise ValueError(f"last_seq: not a seq: {seq!r}")
    return seq


def _entries(answer: Any) -> list[RecordEntry]:
    if not isinstance(answer, dict):
        raise SchemaError("answer", f"must be an object, got {type(answer).__name__}")
    return entries_from_json(answer.get("records"), "records")


def _params(**values: Any) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, Kind) else v) for k, v in values.items() if v is not None}
