"""The page registry: every page of the console, in navigation order.

A `Page` is its path, its title, where it sits in the navigation, the genesis roles that
see it (`None`: every organisation) and `view`, an async function of (console, request)
returning the template's context. Its template is `templates/<name>.html`, extending
`base.html` and putting what changes in `{% block live %}`: the app renders the whole page
for a GET, and only that block for the live updates (`client.events`), so both come from
one template. A view raises `ParamError` for a bad query parameter and lets `NodeDown`
through; the app turns them into a 400 naming the parameter and an error banner.

Engineers adding pages append to `PAGES` (one entry per page, nothing else changes here).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carbonlab.client.pages import chain, emissions, explorer, rig, structure

if TYPE_CHECKING:
    from starlette.requests import Request

    from carbonlab.client.context import Console

View = Callable[["Console", "Request"], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Page:
    name: str                          # template name, nav test id `nav-<name>`
    path: str
    title: str
    order: int
    view: View
    roles: frozenset[str] | None = None   # genesis roles that see it; None: everyone
    live: bool = True                     # pushes its live block over server-sent events
    nav: bool = True                      # listed in the navigation (a detail page is not)

    def visible_to(self, role: str | None) -> bool:
        return self.roles is None or (role is not None and role in self.roles)


PAGES: list[Page] = [
    Page("chain", "/chain", "Chain", 10, chain.view),
    Page("emissions", "/emissions", "Emissions", 20, emissions.view),
    Page("explorer", "/explorer", "Ledger explorer", 30, explorer.view),
    Page("proof", "/explorer/proof", "Reading proof", 31, explorer.proof_view, live=False, nav=False),
    Page("structure", "/structure", "Structure", 40, structure.view),
    Page("rig", "/rig", "Rig", 110, rig.view),
]


def visible(role: str | None) -> list[Page]:
    """The navigation: pages listed there that `role` may see, in order."""
    return sorted((p for p in PAGES if p.nav and p.visible_to(role)), key=lambda p: p.order)


def by_name(name: str) -> Page | None:
    return next((p for p in PAGES if p.name == name), None)


# the application modules' pages (h16app): allowances, compliance, reports, planning, forecasts
from carbonlab.client.pages import allowances, compliance, forecasts, planning, reports  # noqa: E402

PAGES += [
    Page("apps_allowances", "/allowances", "Allowances", 60, allowances.view),
    Page("apps_compliance", "/compliance", "Compliance", 70, compliance.view),
    Page("apps_reports", "/reports", "Reports", 80, reports.view),
    Page("apps_planning", "/planning", "Planning", 90, planning.view),
    Page("apps_forecasts", "/forecasts", "Forecasts", 100, forecasts.view),
]
