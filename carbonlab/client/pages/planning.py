"""The planning page: a company's dispatch under a carbon price or cap, and a multi-year pathway.

Data: the company's units are those genesis gives limits for (capacity, minimum load, ramp);
each unit's CO2 curve is fitted from the chain's committed interval readings that carry a load
(`/v1/emissions/query?period=interval&level=unit`, `appdata.unit_models`). The dispatch and
pathway MILPs are `apps.planning`'s (HiGHS), run off the event loop with a deadline and kept
for a while (`appviews.Results`), so the live refresh does not re-solve them. Inputs are query
parameters of a GET form (`run=dispatch` or `run=pathway`), checked by `appforms.DispatchForm`
/ `PathwayForm`: a bad field is a 400 naming it; an infeasible problem names its constraint
(`demand`, `cap`, `ramp`). The schedule is drawn as a stacked area PNG (`apps.plots`).

Test ids: `planning-dispatch-form`, `planning-pathway-form`, inputs `dispatch-<field>` and
`pathway-<field>`, `planning-units` (the fitted units table, a row `unit-<id>`),
`dispatch-result` (with `dispatch-cost`, `dispatch-emissions`, `dispatch-shadow-price`,
`dispatch-cap-binding`, `dispatch-schedule` the table, `dispatch-chart` the PNG),
`pathway-result` (`pathway-cost`, `pathway-years`, `pathway-actions`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carbonlab.client import appdata
from carbonlab.client.appforms import DispatchForm, PathwayForm, numbers
from carbonlab.client.appviews import data_uri, mapped, query_form, run_context, state

if TYPE_CHECKING:
    from starlette.requests import Request

    from carbonlab.client.context import Console


async def view(console: Console, request: Request) -> dict[str, Any]:
    params, run, out = run_context(console, request, {"dispatch": DispatchForm, "pathway": PathwayForm})
    out.update(units=None, dispatch=None, pathway=None, chart=None)
    app = state(console)
    if not run:
        return out
    with mapped(out):
        form: DispatchForm | PathwayForm = (
            query_form(DispatchForm, params, ignore=("run",)) if run == "dispatch"
            else query_form(PathwayForm, params, ignore=("run",)))
        appdata.check_company(console.genesis, form.company)
        fuel = form.fuel_cost_per_mwh
        units = await app.results.get(("units", form.company, fuel), "fitting the unit curves",
                                      lambda: appdata.unit_models(app.reader, form.company, fuel))
        if isinstance(form, DispatchForm):
            dform, demand = form, numbers(form.demand_mw)
            result = await app.results.get(("dispatch", dform), "the dispatch MILP", lambda: appdata.dispatch(
                units, demand, dform.carbon_price, dform.cap_t, dform.time_limit_s))
            out.update(units=units, dispatch=result.result, demand=demand, chart=data_uri(result.png))
        else:
            pform = form
            path = await app.results.get(("pathway", pform), "the pathway MILP", lambda: appdata.pathway(
                units, pform.first_year, numbers(pform.demand_mwh), pform.first_cap_t, pform.decline,
                pform.carbon_price))
            out.update(units=units, pathway=path)
    out["curve_text"] = appdata.curve_text
    return out
