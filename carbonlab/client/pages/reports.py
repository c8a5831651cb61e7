"""The reports page: build a company-year's one-click report, download it, verify an uploaded bundle.

Build: `POST /reports/build` (company, year, template, GWP set) runs `apps.report.build` with
the member's API as its source (`report.sources.NodeApi`, the same as `carbonlab report build
--node`) off the event loop with a deadline, into the console's report directory; the page
then lists every report this console built, each with its PDF, XLSX, JSON and proofs, and the
whole bundle as a zip (`GET /reports/<id>/<file>`, `/reports/<id>/bundle.zip`).
Verify: `POST /reports/verify` takes a zip (multipart field `bundle`, at most
`UPLOAD_MAX_BYTES`); a hostile archive (not a zip, path traversal, a stray or linked entry, a
zip bomb) is refused with 400 naming why (`bundles.unpack`); a bundle is checked by
`apps.report.verify` with the console's own genesis and shown as passed, or failed with each
failing figure, reading or signature by name.

Test ids: `report-build-form` (inputs `report-company`, `report-year`, `report-template`,
`report-gwp`, button `report-build`), `reports-built` (a row `report-<id>`, links
`download-<id>-<file>` and `download-<id>-zip`), `report-verify-form` (`report-bundle` the
file input, `report-verify` the button); the verify answer: `verify-verdict` with
`data-ok` yes/no, `verify-problems` (rows `problem-<n>` with `data-kind`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carbonlab.apps.report.model import Template
from carbonlab.client import appdata
from carbonlab.client.appviews import default_company, state, this_year
from carbonlab.client.bundles import BUNDLE_FILES
from carbonlab.client.params import read_params
from carbonlab.fields import spec
from carbonlab.node.gwp import GwpSet

if TYPE_CHECKING:
    from starlette.requests import Request

    from carbonlab.client.context import Console


@dataclass(frozen=True)
class ReportsParams:
    report: str | None = spec(None, pattern=r"[A-Za-z0-9_.-]{1,120}")    # a report this console built


async def view(console: Console, request: Request) -> dict[str, Any]:
    p = read_params(ReportsParams, request.query_params.multi_items())
    app = state(console)
    files = {rid: [n for n in BUNDLE_FILES if (app.reports.root / rid / n).is_file()] for rid, _ in app.built}
    return {"companies": appdata.company_ids(console.genesis), "company": default_company(console),
            "year": this_year(), "templates": [t.value for t in Template], "gwps": [g.value for g in GwpSet],
            "built": app.built, "files": files, "new": p.report}
