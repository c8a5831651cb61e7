"""The application pages' routes besides their GET page: the actions, builds, uploads and downloads.

    POST /allowances/action       sign and submit the organisation's record (form: kind + body, and
                                  the form's one-time token: sent again, the same record; sentforms.py)
    POST /reports/build           build a company-year's report from the member's API
    POST /reports/verify          verify an uploaded bundle (multipart, field `bundle`)
    GET  /reports/{id}/{file}     one file of a built report (only the bundle's file names)
    GET  /reports/{id}/bundle.zip the whole bundle as a zip
    POST /forecasts/price         the price forecast from an uploaded CSV (multipart, field `csv`)

Every body is read with its cap before it is parsed (`appforms.read_body`), every field
checked into a typed form; the answers are HTML pages in the console's frame, or JSON when the
request asks for it (`Accept: application/json`): a bad field is 400 naming it (413 for a body
over its cap, 415 for another content type), an action the role may not take 403 (nothing is
signed), a member that does not answer 502, a computation past its deadline 504. Builds,
verifications and forecasts run off the event loop (`appdata.offload`). The token gate in
front of the console's app covers these routes like the pages (`routes(console)` is mounted
inside `client.app.build_app`'s app).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from carbonlab.apps.errors import InputError
from carbonlab.client import actions, appdata, bundles, sentforms
from carbonlab.client.actions import ActionRefused
from carbonlab.client.appdata import ComputeTimeout, NodeUnavailable, offload
from carbonlab.client.appforms import (
    FORM_MAX_BYTES,
    UPLOAD_MAX_BYTES,
    FormError,
    ReportForm,
    Upload,
    parse,
    read,
)
from carbonlab.client.appviews import data_uri, state
from carbonlab.client.params import only_params
from carbonlab.node.allowances.records import SignedRecord

if TYPE_CHECKING:
    from carbonlab.client.context import Console


def routes(console: Console) -> list[Route]:
    from carbonlab.client.app import Renderer, wants_json
    from carbonlab.client.pages import by_name

    render = Renderer(console)

    def answer(request: Request, page: str, template: str, data: dict[str, Any],
               status: int = 200) -> Response:
        if wants_json(request):
            return JSONResponse(data.get("json", {}), status_code=status)
        ctx = render.base(_still(by_name(page)), request)
        ctx.update(data)
        return render.plain(template, ctx, status)

    def failed(request: Request, page: str, status: int, message: str, field: str | None) -> Response:
        if wants_json(request):
            return JSONResponse({"error": message, "field": field}, status_code=status)
        ctx = render.base(_still(by_name(page)), request)
        ctx.update(status=status, message=message, field=field)
        return render.plain("error.html", ctx, status)

    def guarded(page: str, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                response: Response = await handler(request)
                return response
            except FormError as exc:
                return failed(request, page, exc.status, str(exc), exc.field)
            except InputError as exc:
                return failed(request, page, 400, str(exc), exc.where)
            except ActionRefused as exc:
                return failed(request, page, 403, str(exc), "kind")
            except NodeUnavailable as exc:
                return failed(request, page, 502, f"the member's node does not answer: {exc}", None)
            except ComputeTimeout as exc:
                return failed(request, page, 504, str(exc), None)
            except ValueError as exc:       # a ReportError's kin: the user's input, named
                return failed(request, page, 400, str(exc), getattr(exc, "field", None))
        return endpoint

    async def form_of(request: Request, cap: int) -> tuple[dict[str, str], dict[str, Upload]]:
        from carbonlab.client.appforms import read_body

        body = await read_body(request.stream(), cap, request.headers.get("content-length"))
        return parse(request.headers.get("content-type", ""), body)

    async def action(request: Request) -> Response:
        app = state(console)
        text, _ = await form_of(request, FORM_MAX_BYTES)
        if app.org is None:
            raise ActionRefused("(none)", text.get("kind", "?"), "this console names no member")
        org = app.org
        token = text.pop(sentforms.FIELD, None)

        def sign() -> SignedRecord:
            return actions.build(console.genesis, org, text.get("kind", ""), text)

        # the same form sent again (same token) submits the same signed record: never a second one
        record = sign() if token is None else app.sent.record(token, text, sign)
        status = await offload("waiting for the contract", lambda: actions.submit(app.reader.url, record),
                               actions.WAIT_S + 15)
        data = {"record": record, "status": status, "outcome": actions.outcome_text(status),
                "json": {**status.to_json(), "outcome": actions.outcome_text(status)}}
        return answer(request, "apps_allowances", "apps_action.html", data)

    async def build(request: Request) -> Response:
        from carbonlab.apps.report.model import ReportError

        app = state(console)
        text, _ = await form_of(request, FORM_MAX_BYTES)
        form = read(ReportForm, text)
        appdata.check_company(console.genesis, form.company)
        try:
            report_id, built = await offload("the report build", lambda: app.reports.build(
                app.reader.url, console.genesis, form))
        except ReportError as exc:
            raise FormError(exc.field.lstrip("-"), exc.problem) from None
        summary = (f"{form.company} {form.year} {form.template.value}: {built.readings:,} readings, "
                   f"{built.bundle_bytes:,} bytes")
        app.built.insert(0, (report_id, summary))
        if wants_json(request):
            return JSONResponse({"id": report_id, "readings": built.readings, "bytes": built.bundle_bytes,
                                 "files": f"/reports/{report_id}/"}, status_code=201)
        return RedirectResponse(f"/reports?report={report_id}", status_code=303)

    async def verify(request: Request) -> Response:
        text, files = await form_of(request, UPLOAD_MAX_BYTES)
        unknown = sorted(set(text) | (set(files) - {"bundle"}))
        if unknown:
            raise FormError(unknown[0], "unknown field; the form sends only `bundle`")
        upload = files.get("bundle")
        if upload is None:
            raise FormError("bundle", "no file uploaded")
        data_in, genesis = upload.data, console.genesis
        result = await offload("verifying the bundle", lambda: bundles.verify_upload(data_in, genesis))
        data = {"verified": result, "filename": upload.filename,
                "json": {"ok": result.ok, "summary": result.summary(),
                         "problems": [{"kind": p.kind.value, "where": p.where, "detail": p.detail}
                                      for p in result.problems]}}
        return answer(request, "apps_reports", "apps_verified.html", data)

    async def download(request: Request) -> Response:
        only_params(request.query_params.multi_items(), ())
        app = state(console)
        path = app.reports.file(request.path_params["report_id"], request.path_params["name"])
        return FileResponse(path, filename=path.name)

    async def bundle_zip(request: Request) -> Response:
        only_params(request.query_params.multi_items(), ())
        app = state(console)
        report_id = request.path_params["report_id"]
        data = await offload("zipping the bundle", lambda: app.reports.zip_bytes(report_id))
        return Response(data, media_type="application/zip",
                        headers={"content-disposition": f'attachment; filename="{report_id}.zip"'})

    async def price_csv(request: Request) -> Response:
        from carbonlab.client.appforms import PriceForecastForm

        text, files = await form_of(request, 16 * 1024 * 1024)
        upload = files.get("csv")
        if upload is None or set(files) - {"csv"}:
            raise FormError("csv", "upload one CSV file as field `csv`")
        form = read(PriceForecastForm, {"source": "csv", **text})
        series = appdata.price_series_csv(upload.data)
        got = await offload("the price forecast", lambda: appdata.price_forecast(
            series, form.weeks, f"the uploaded {upload.filename or 'CSV'}"))
        data = {"price": got, "price_chart": data_uri(got.png),
                "json": {"currency": got.series.currency, "cadence": got.forecast.cadence.value,
                         "dates": [str(d) for d in got.forecast.dates],
                         "median": list(got.forecast.median), "lo": list(got.forecast.lo),
                         "hi": list(got.forecast.hi)}}
        return answer(request, "apps_forecasts", "apps_price.html", data)

    return [Route("/allowances/action", guarded("apps_allowances", action), methods=["POST"]),
            Route("/reports/build", guarded("apps_reports", build), methods=["POST"]),
            Route("/reports/verify", guarded("apps_reports", verify), methods=["POST"]),
            Route("/reports/{report_id}/bundle.zip", guarded("apps_reports", bundle_zip), methods=["GET"]),
            Route("/reports/{report_id}/{name}", guarded("apps_reports", download), methods=["GET"]),
            Route("/forecasts/price", guarded("apps_forecasts", price_csv), methods=["POST"])]



def _still(page: Any) -> Any:
    """The page for the navigation of an answer page, which has no live block of its own."""
    return None if page is None else dataclasses.replace(page, live=False)
