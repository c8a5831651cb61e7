"""What the application pages share: per-console state, cached computations, errors mapped.

Theory of operation. A page's view runs for the page and again for every live refresh (the
same view renders the live block, `client.events`), so a view must be cheap. The cheap parts
(balances, history, the company's figures to date) are fetched each time; the expensive
computations (a dispatch MILP, a forecast, a compliance position over the chain's records)
are keyed by their typed form and kept in `Results` for `RESULT_TTL_S`, computed once even
when several requests ask at the same moment (one lock per key), off the event loop through
`appdata.offload` with its deadline. So the live refresh re-reads the chain every interval but
re-solves nothing until the result expires or the form changes.

`state(console)` is the console's `AppState` (its reader of the member's API, the reports it
built, its results and who it signs as), made on first use. Errors are mapped to the shell's
(h16srv's) typed errors: a form field (`FormError`) or an apps input (`InputError`) becomes a
`ParamError` (400 naming the field), an infeasible plan a `ParamError` naming the constraint,
a member that does not answer a `NodeDown` (the page's error banner).
"""

from __future__ import annotations

import base64
import dataclasses
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from carbonlab.apps.compliance.errors import InputError as ComplianceInputError
from carbonlab.apps.errors import InfeasibleError, InputError
from carbonlab.apps.report.model import ReportError
from carbonlab.client import ParamError
from carbonlab.client.actions import Organisation
from carbonlab.client.appdata import ComputeTimeout, NodeReader, NodeUnavailable, offload
from carbonlab.client.appforms import FORM_MAX_BYTES, FormError
from carbonlab.client.bundles import Reports
from carbonlab.client.nodeapi import NodeDown
from carbonlab.client.params import only_params, read_params
from carbonlab.client.sentforms import SentForms

if TYPE_CHECKING:
    from carbonlab.client.context import Console

T = TypeVar("T")

RESULT_TTL_S = 300.0
RESULTS_KEPT = 32


class Results:
    """Computed results by key, each kept `RESULT_TTL_S`, at most `RESULTS_KEPT`."""

    def __init__(self) -> None:
        self._done: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._locks: dict[Any, anyio.Lock] = {}

    async def get(self, key: Any, what: str, fn: Callable[[], T]) -> T:
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:
            hit = self._done.get(key)
            if hit is not None and time.monotonic() - hit[0] < RESULT_TTL_S:
                value: T = hit[1]
                return value
            value = await offload(what, fn)
            self._done[key] = (time.monotonic(), value)
            self._done.move_to_end(key)
            while len(self._done) > RESULTS_KEPT:
                old, _ = self._done.popitem(last=False)
                self._locks.pop(old, None)
            return value


@dataclass
class AppState:
    reader: NodeReader
    org: Organisation | None
    reports: Reports = field(default_factory=Reports)
    results: Results = field(default_factory=Results)
    built: list[tuple[str, str]] = field(default_factory=list)     # (report id, summary), newest first
    sent: SentForms = field(default_factory=SentForms)           # action forms already sent, by token


_STATES: dict[int, AppState] = {}


def state(console: Console) -> AppState:
    found = _STATES.get(id(console))
    if found is None:
        org = None
        if console.member is not None:
            key = None
            if console.key_file is not None:
                from carbonlab.node.crypto import Signer

                key = Signer.load(console.key_file)
            org = Organisation.of(console.genesis, console.member.id, key)
        found = _STATES[id(console)] = AppState(NodeReader(console.api.base_url, console.genesis), org)
    return found


def close_state(console: Console) -> None:
    """Forget the console's state and remove the reports it built (its process is ending)."""
    found = _STATES.pop(id(console), None)
    if found is not None:
        found.reports.close()


@contextmanager
def mapped(out: dict[str, Any] | None = None) -> Iterator[None]:
    """Turn the apps' and the backend's errors into the console shell's typed errors. Given the
    page's context `out`, a member that does not answer (or a computation past its deadline) is
    its `error` banner instead, so the page keeps its forms (raised, the view's context was lost
    and the template failed: a 500)."""
    try:
        yield
    except FormError as exc:
        raise ParamError(exc.field, exc.problem) from None
    except InputError as exc:
        raise ParamError(exc.where, exc.problem) from None
    except ComplianceInputError as exc:
        raise ParamError(exc.field, exc.problem) from None
    except InfeasibleError as exc:
        raise ParamError(exc.constraint, f"infeasible: {exc.detail}") from None
    except ReportError as exc:
        raise ParamError(exc.field, exc.problem) from None
    except (NodeUnavailable, ComputeTimeout, NodeDown) as exc:
        if out is None:
            raise NodeDown(str(exc)) from None
        out["error"] = str(exc)
    except ModuleNotFoundError as exc:   # a host whose wheelhouse has carbonlab without its `apps` extra
        message = (f"this page needs the Python package {exc.name!r}, which this console's host does not "
                   "have: install carbonlab with its `apps` extra there (pip install 'carbonlab[apps]'); "
                   "the other pages work without it")
        if out is None:
            raise NodeDown(message) from None
        out["error"] = message


def query_form(cls: type[T], params: Mapping[str, str], *, ignore: tuple[str, ...] = ()) -> T:
    """A typed form from a page's query parameters (`query_once`'s), read by the console's one
    parameter parser (`params.read_params`: strict ASCII numbers, echoes cut; ParamError naming
    the field). A value may be as long as a form's body (a series of demands)."""
    return read_params(cls, params.items(), extra=ignore, max_chars=FORM_MAX_BYTES)


def data_uri(png: bytes) -> str:
    """A PNG inlined in the page, so the chart needs no second request (and no route)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def default_company(console: Console) -> str:
    from carbonlab.client.actions import represented
    from carbonlab.client.appdata import company_ids

    if console.member is not None:
        own = represented(console.genesis, console.member.id)
        if own:
            return own[0]
    companies = company_ids(console.genesis)
    return companies[0] if companies else ""


def run_context(console: Console, request: Any,
                runs: Mapping[str, type]) -> tuple[dict[str, str], str, dict[str, Any]]:
    """(the query parameters, the computation asked for by `run`, the context every form page
    starts from); a parameter given twice, one that no form of `runs` (a run's name: its form's
    class) takes, or a `run` that is none of `runs`, is a 400 naming it."""
    from carbonlab.client.appdata import company_ids

    params = query_once(request)
    names = {f.name for form in runs.values() for f in dataclasses.fields(form)}
    only_params(params.items(), sorted({"run", *names}))
    run = params.get("run", "")
    if run not in ("", *runs):
        raise ParamError("run", f"must be one of {', '.join(runs)}, got {run!r}")
    out = {"companies": company_ids(console.genesis),
           "company": params.get("company") or default_company(console), "run": run, "params": params,
           "year": this_year()}
    return params, run, out


def query_once(request: Any) -> dict[str, str]:
    """The query parameters; one given twice is a 400 naming it (dict() would keep the last)."""
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in params:
            raise ParamError(name, "given more than once")
        params[name] = value
    return params


def this_year() -> int:
    return time.gmtime().tm_year
