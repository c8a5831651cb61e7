"""The application modules' one way to ask a member's API for JSON (`get`).

Files are read by the project's one strict JSON reader, `carbonlab.jsonfile` (a key given twice,
bytes that are not UTF-8, nesting too deep: each a `JsonFileError`); `get` reads an answer's
body with it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carbonlab.checks import gist
from carbonlab.jsonfile import JsonFileError, loads

if TYPE_CHECKING:
    import httpx

def get(http: httpx.Client, base_url: str, path: str, params: dict[str, Any] | None = None) -> Any:
    """The parsed 200 answer of a member's API to GET `path` (the application modules' one way to
    ask a node); `JsonFileError` naming the URL when the call fails, the status is not 200, or the
    answer is not JSON this module accepts. Callers turn it into their own error naming `--node`."""
    import httpx

    where = f"{base_url}{path}"
    try:
        answer = http.get(path, params=params)
    except httpx.HTTPError as exc:
        raise JsonFileError(f"{where}: {exc}") from None
    if answer.status_code != 200:
        raise JsonFileError(f"{where}: HTTP {answer.status_code}{_why(answer)}")
    try:
        return loads(answer.content)
    except JsonFileError as exc:
        raise JsonFileError(f"{where}: the answer is not JSON ({exc.problem})") from None


def _why(answer: httpx.Response) -> str:
    """What a refusal said, in one short line: the API's own `{"error": ...}`, or a hint when the
    answer is a web page (a console's port, a proxy's login), never the page itself."""
    try:
        body = loads(answer.content)
    except JsonFileError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return f": {gist(body['error'], 200)}"
    if "html" in answer.headers.get("content-type", "").lower():
        return " (a web page, not a member's API: is this the member API's address?)"
    return f": {gist(answer.text)}" if answer.text.strip() else ""
