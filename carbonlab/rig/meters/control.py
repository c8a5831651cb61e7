"""The run-time control endpoint of a meters process: a small JSON-over-HTTP/1.1 server on a
single address (`control_listen` in METERS.yaml: loopback, or the host's lab address), and a
client for it.

    GET    /healthz                 -> {"ok": true}
    GET    /meters                  -> {"meters": [{"id", "transport", "address", "device_id", "faults",
                                                    "status", "served"}, ...]}
    GET    /meters/{id}             -> one of the above
    PUT    /meters/{id}/faults      body {"offline": true, "slow_s": 2.5, ...} -> the meter, faults merged
    DELETE /meters/{id}/faults      -> the meter, every fault cleared
    PUT    /faults                  body {...} -> the same change on every meter

Unknown meters answer 404, bad fault names or values 400 with {"error": "..."} naming the
field and what is allowed. The server speaks just enough HTTP/1.1 for curl, httpx and the
rig (one request per connection, Content-Length bodies); it never binds every interface.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from carbonlab.rig.errors import HostError
from carbonlab.rig.meters.errors import MetersConfigError

Handler = Callable[[str, str, Any], Awaitable[tuple[int, Any]]]
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Error"}
MAX_BODY = 65536


class ControlServer:
    def __init__(self, host: str, port: int, handler: Handler) -> None:
        self.host, self.port, self._handler = host, port, handler
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen; `MetersConfigError` naming `control_listen` when the address cannot be bound
        (the port in use, an address not this host's), as a meter's own port is reported."""
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as exc:
            why = os.strerror(exc.errno) if exc.errno else str(exc)
            raise MetersConfigError(f"field 'control_listen': cannot listen on {self.host}:{self.port} "
                                    f"({why}); is the port in use by another process?") from None
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, body = await asyncio.wait_for(self._one(reader), timeout=10.0)
        except (TimeoutError, ValueError, UnicodeDecodeError, asyncio.IncompleteReadError) as exc:
            status, body = 400, {"error": f"bad request: {exc}"}
        payload = json.dumps(body).encode()
        writer.write(f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload)
        try:
            await writer.drain()
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader) -> tuple[int, Any]:
        request_line = (await reader.readline()).decode("latin-1").split()
        if len(request_line) != 3:
            raise ValueError("malformed request line")
        method, target = request_line[0], request_line[1]
        length = 0
        while (line := (await reader.readline()).decode("latin-1").strip()):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if not 0 <= length <= MAX_BODY:
            raise ValueError(f"body of {length} bytes; at most {MAX_BODY}")
        body = json.loads(await reader.readexactly(length)) if length else None
        try:
            return await self._handler(method, target.split("?")[0], body)
        except MetersConfigError as exc:
            return 400, {"error": str(exc)}


class ControlClient:
    """What tests and the rig use to switch faults in a running meters process."""

    def __init__(self, base_url: str, timeout_s: float = 5.0) -> None:
        self._base_url = base_url
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout_s)

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        """The answer's JSON. A request the meters process refused (4xx: an unknown meter, a bad
        fault) raises `MetersConfigError`; no answer, or one that is not the endpoint's, `HostError`."""
        try:
            reply = await self._http.request(method, path, json=body)
            data = reply.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise HostError(f"meters control {self._base_url}: {method} {path}: {exc}") from None
        if 400 <= reply.status_code < 500:
            raise MetersConfigError(f"{method} {path}: {reply.status_code}: {data.get('error', data)}")
        if reply.status_code != 200:
            raise HostError(f"meters control {self._base_url}: {method} {path}: {reply.status_code} {data}")
        return data

    async def meters(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = (await self._call("GET", "/meters"))["meters"]
        return data

    async def meter(self, meter_id: str) -> dict[str, Any]:
        data: dict[str, Any] = await self._call("GET", f"/meters/{meter_id}")
        return data

    async def set_faults(self, meter_id: str, **faults: Any) -> dict[str, Any]:
        data: dict[str, Any] = await self._call("PUT", f"/meters/{meter_id}/faults", faults)
        return data

    async def clear_faults(self, meter_id: str) -> dict[str, Any]:
        data: dict[str, Any] = await self._call("DELETE", f"/meters/{meter_id}/faults")
        return data

    async def aclose(self) -> None:
        await self._http.aclose()
