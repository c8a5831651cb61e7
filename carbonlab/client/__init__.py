"""The members' web console: one per organisation, talking only to its own member's API.

Theory of operation. `carbonlab client` serves a Starlette app (`client.app.build_app`) on
hypercorn, bound only to the address it is given (default 127.0.0.1). Every request but the
login form, the static files and `/healthz` must carry the organisation's token (a cookie set
by the login form, or an `Authorization: Bearer` header); anything else gets 401
(`client.auth`). A page (`client.pages.Page`) is a path, a title, the genesis roles that see
it and an async function that fetches what it shows from the member's API through
`client.nodeapi.NodeApi` (httpx with a timeout on every call) and returns the template's
context. The page is rendered server-side first, so it is readable before any script runs;
its live region is then re-rendered by the same template block and pushed to the browser as
server-sent events (`client.events`) every refresh interval, so a page never reloads and
there is one rendering path. When the node does not answer, the page shows a named error
instead of stale figures. Whatever the console shows as verified (a reading's proof) is
checked here, in the console's backend, against genesis (which the console is given as a
file, never fetched from the node it checks).
"""

from __future__ import annotations

from carbonlab.errors import CarbonlabError


class ClientError(CarbonlabError):
    """Raised for a console that cannot start or serve: bad options, an unreadable or
    too-open token file, a genesis that does not load. The operator's fault."""


class ParamError(ClientError, ValueError):
    """Raised for a request's query or form parameter the console cannot accept; `field`
    names it. The browser's (or the person's) fault: answered with a 400 naming the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
