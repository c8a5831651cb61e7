"""ASGI pieces shared by the node's API and the members' console (both served by hypercorn).

`CloseIfBodyUnread` marks `Connection: close` on a response sent before its request's body was
read to the end: a 401, 413 or 415 answered from the head alone. Hypercorn closes such a
connection once the response is out (HTTP/1.1 cannot start the next request before the body is
through), but without telling the client, which then sends its next request on a socket that is
closing and gets "Server disconnected without sending a response". Whether the body had arrived by
then is a matter of timing, so the failure came and went (CI, 2026-12-03). With the header the
client knows not to reuse the connection (RFC 9112, 9.6), every time.
"""

from __future__ import annotations

from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]


def _declares_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"transfer-encoding":
            return True
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
    return False


class CloseIfBodyUnread:
    """ASGI middleware: `Connection: close` on a response that starts before the body was read."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not _declares_body(scope.get("headers", [])):
            await self.app(scope, receive, send)
            return
        read_to_end = False

        async def receive_tracked() -> Message:
            nonlocal read_to_end
            message: Message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                read_to_end = True
            return message

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start" and not read_to_end:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive_tracked, send_marked)
