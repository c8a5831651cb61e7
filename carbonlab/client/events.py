"""Live updates: a page's live block pushed as server-sent events.

Theory of operation. `GET /events/<page>` (with the page's own query string) answers
`text/event-stream`. The first event is the live block rendered when the request came; then
every `refresh_s` the block is rendered again through the same view and template and sent
as an `event: live` only when it changed, with a comment line otherwise so proxies and the
browser see the stream alive. The browser's script (`static/console.js`) swaps the block's
HTML in place; `EventSource` reconnects by itself after an error, and the server ends each
stream after `MAX_STREAM_S` (the browser then reconnects, picking up a new session cookie
or a restarted console), so no stream lives forever. A node that stops answering shows up
in the pushed block as the error banner within one refresh interval.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
from starlette.responses import StreamingResponse

MAX_STREAM_S = 300.0
RETRY_MS = 2000


def frame(html: str) -> str:
    """One SSE event carrying `html` (every line prefixed with `data: `)."""
    lines = html.splitlines() or [""]
    return "event: live\n" + "".join(f"data: {line}\n" for line in lines) + "\n"


async def _frames(render: Callable[[], Awaitable[str]], refresh_s: float,
                  first: str) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n" + frame(first)
    last = first
    ends = time.monotonic() + MAX_STREAM_S
    while time.monotonic() < ends:
        await anyio.sleep(refresh_s)
        html = await render()
        if html != last:
            last = html
            yield frame(html)
        else:
            yield ": unchanged\n\n"


def stream(render: Callable[[], Awaitable[str]], refresh_s: float, first: str) -> StreamingResponse:
    return StreamingResponse(_frames(render, refresh_s, first), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
