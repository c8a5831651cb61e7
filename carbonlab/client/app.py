"""The console's Starlette app: routes, the token gate, static files, rendering.

`build_app(console, token)` mounts, for every page of `pages.PAGES`, `GET <path>` (the
whole page, rendered server-side) and `GET /events/<name>` (its live block as server-sent
events, `client.events`), plus the login form, `/healthz` and `/static`. A page the
console's role may not see answers 403 naming the role. A `ParamError` becomes 400 naming
the parameter (HTML for a browser, JSON `{"error", "field"}` when the request asks for
JSON); a node that does not answer becomes the page's error banner (`data-testid=
"node-error"`) with status 200 for the page, so the navigation keeps working while the
member is down. Templates are Jinja2 with autoescaping on; nothing the node returns is
ever marked safe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from carbonlab.asgi import DEFAULT_BODY_TIMEOUT_S, BodyGuard
from carbonlab.client import ParamError, auth, events
from carbonlab.client.context import Console
from carbonlab.client.nodeapi import NodeDown, NodeRefused
from carbonlab.client.pages import PAGES, Page, visible
from carbonlab.client.params import only_params
from carbonlab.client.timefmt import utc

HERE = Path(__file__).parent
MAX_FORM_BYTES = 4096


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["num"] = _num
    env.filters["utc"] = utc
    # a global, not an import: a page's live block is rendered on its own (Renderer.live_html),
    # without the template's top-level imports
    env.globals["node_error"] = env.get_template("macros.html").module.node_error  # type: ignore[attr-defined]
    return env


def _num(value: Any, digits: int = 1) -> str:
    """A figure as the pages print it: an em dash (U+2014) for none, thousands separated."""
    if value is None:
        return "\u2014"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


class Renderer:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.env = environment()

    def base(self, page: Page | None, request: Request) -> dict[str, Any]:
        member = self.console.member
        return {"console": self.console, "member": member, "pages": visible(self.console.role),
                "page": page, "query": request.url.query, "refresh_s": self.console.refresh_s,
                "error": None}

    async def context(self, page: Page, request: Request) -> dict[str, Any]:
        ctx = self.base(page, request)
        try:
            ctx.update(await page.view(self.console, request))
        except NodeDown as exc:
            ctx["error"] = str(exc)
        except NodeRefused as exc:
            if exc.status == 400 and exc.field:   # a parameter the page passed on to the node
                raise ParamError(exc.field, exc.message.removeprefix(f"{exc.field}: ")) from None
            ctx["error"] = f"the node refused: {exc.message}"
        return ctx

    def page_html(self, page: Page, ctx: dict[str, Any]) -> str:
        return self.env.get_template(f"{page.name}.html").render(ctx)

    def live_html(self, page: Page, ctx: dict[str, Any]) -> str:
        template = self.env.get_template(f"{page.name}.html")
        return "".join(template.blocks["live"](template.new_context(ctx)))

    def plain(self, name: str, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(name).render(ctx), status_code=status)


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def build_app(console: Console, token: str, *, body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S) -> Any:
    render = Renderer(console)

    def page_route(page: Page) -> Any:
        async def endpoint(request: Request) -> Response:
            refused = _refuse(page)
            if refused is not None:
                return refused
            ctx = await render.context(page, request)
            return HTMLResponse(render.page_html(page, ctx))
        return endpoint

    def events_route(page: Page) -> Any:
        async def endpoint(request: Request) -> Response:
            refused = _refuse(page)
            if refused is not None:
                return refused
            first = await _live(page, request)   # a bad parameter is a 400 now, not mid-stream
            return events.stream(lambda: _live(page, request), console.refresh_s, first)
        return endpoint

    async def _live(page: Page, request: Request) -> str:
        return render.live_html(page, await render.context(page, request))

    def _refuse(page: Page) -> Response | None:
        if page.visible_to(console.role):
            return None
        return JSONResponse({"error": f"page {page.name!r} is not for role {console.role or '(none)'}"},
                            status_code=403)

    async def home(request: Request) -> Response:
        only_params(request.query_params.multi_items(), ())
        first = visible(console.role)[0]
        return RedirectResponse(first.path, status_code=303)

    async def login_form(request: Request) -> Response:
        only_params(request.query_params.multi_items(), ("next",))
        ctx = render.base(None, request)
        ctx.update(next=_safe_next(request.query_params.get("next")), failed=False)
        return render.plain("login.html", ctx)

    async def login(request: Request) -> Response:
        body = await _small_body(request)
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        nxt = _safe_next(form.get("next"))
        if not auth.matches(token, form.get("token")):
            ctx = render.base(None, request)
            ctx.update(next=nxt, failed=True)
            return render.plain("login.html", ctx, status=401)
        response = RedirectResponse(nxt, status_code=303)
        response.set_cookie(auth.COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    async def logout(request: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(auth.COOKIE, path="/")
        return response

    async def healthz(request: Request) -> Response:
        only_params(request.query_params.multi_items(), ())
        return JSONResponse({"ok": True})

    async def param_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ParamError)
        if wants_json(request):
            return JSONResponse({"error": str(exc), "field": exc.field}, status_code=400)
        ctx = render.base(None, request)
        ctx.update(status=400, message=str(exc), field=exc.field)
        return render.plain("error.html", ctx, status=400)

    async def unauthorised(scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        if wants_json(request) or request.method != "GET":
            response: Response = JSONResponse(
                {"error": "token: missing or wrong (log in, or send Authorization: Bearer)",
                 "field": "token"}, status_code=401)
        else:
            ctx = render.base(None, request)
            ctx.update(next=_safe_next(request.url.path), failed=False)
            response = render.plain("login.html", ctx, status=401)
        await response(scope, receive, send)

    routes: list[Any] = [
        Route("/", home, methods=["GET"]),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    from carbonlab.client.approutes import routes as app_routes  # the pages' actions, uploads, downloads

    routes[:0] = app_routes(console)
    for page in PAGES:
        routes.append(Route(page.path, page_route(page), methods=["GET"]))
        routes.append(Route(f"/events/{page.name}", events_route(page), methods=["GET"]))
    app = Starlette(routes=routes, exception_handlers={ParamError: param_error})
    app.state.console = console
    return BodyGuard(auth.TokenGate(app, token, unauthorised), body_timeout_s)


async def _small_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise ParamError("body", f"Content-Length {declared} is larger than {MAX_FORM_BYTES} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ParamError("body", f"larger than {MAX_FORM_BYTES} bytes")
    return body


def _safe_next(raw: str | None) -> str:
    """Where to go after logging in: a path on this console only (no open redirect)."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw or len(raw) > 500:
        return "/"
    return raw
