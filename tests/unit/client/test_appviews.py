"""The application pages' shared reading of a request's query string (a real Starlette Request)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from starlette.requests import Request

from carbonlab.client import ParamError
from carbonlab.client.appviews import run_context


def test_a_parameter_given_twice_is_refused_by_name() -> None:
    """Found by the outsider probe: `/allowances?year=2026&year=2025` showed 2025 (dict() kept the
    last), where every other page refuses a repeated parameter."""
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": "/planning", "headers": [],
                             "query_string": b"run=dispatch&company=company1&company=company2"}
    console = SimpleNamespace(member=None, genesis=SimpleNamespace(companies=(), meters=()))
    with pytest.raises(ParamError) as got:
        run_context(cast(Any, console), Request(scope), ("dispatch",))
    assert got.value.field == "company"
