"""Reading a Retry-After header (RFC 9110 10.2.3: "either an HTTP-date or a number of seconds")."""

from __future__ import annotations

import pytest

from carbonlab.gateway.uplink import retry_after_s

NOW = 1_700_000_000.0   # 2023-11-14 22:13:20 GMT


@pytest.mark.parametrize(("header", "seconds"), [
    ("1", 1.0),
    ("0", 0.0),
    (" 120 ", 120.0),
    ("1.5", 1.5),
    ("Tue, 14 Nov 2023 22:13:50 GMT", 30.0),
    ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),     # a date in the past: no wait
])
def test_seconds_and_http_dates_are_read(header: str, seconds: float) -> None:
    assert retry_after_s(header, NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("header", [None, "", "soon", "-1", "nan", "inf", "Tue, 14 Nov 2023 22:13:50",
                                    "32 Foo 2023"])
def test_absent_or_unreadable_headers_read_as_none(header: str | None) -> None:
    assert retry_after_s(header, NOW) is None
