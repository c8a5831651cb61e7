"""The pages' backend without a node: prices from transfers, the result cache, the deadline."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

import anyio
import pytest

from carbonlab.apps.errors import InputError
from carbonlab.client import appdata
from carbonlab.client.appdata import ComputeTimeout, offload
from carbonlab.client.appviews import Results


def _t(d: date, hour: int = 12) -> int:
    return int(datetime(d.year, d.month, d.day, hour, tzinfo=UTC).timestamp())


def test_daily_prices_are_the_mean_of_each_days_trades_in_the_main_currency() -> None:
    days = [date(2026, 1, 1 + i) for i in range(30)]
    trades = [(_t(d), 80.0 + i, "CNY") for i, d in enumerate(days)]
    trades += [(_t(days[0], 15), 90.0, "CNY"), (_t(days[1]), 5.0, "EUR")]
    series = appdata.daily_prices(trades)
    assert series.currency == "CNY"
    assert series.dates == tuple(days)
    assert series.prices[0] == 85.0               # (80 + 90) / 2
    assert series.prices[1] == 81.0               # the EUR trade is another currency
    with pytest.raises(InputError, match="no transfer"):
        appdata.daily_prices([])
    with pytest.raises(InputError, match="at least 30"):
        appdata.daily_prices(trades[:10])


def test_a_price_csv_upload_is_named_csv_in_its_errors() -> None:
    with pytest.raises(InputError) as info:
        appdata.price_series_csv(b"date,price,currency\n2026-01-01,abc,CNY\n")
    assert info.value.where.startswith("csv line 2")
    with pytest.raises(InputError, match="UTF-8"):
        appdata.price_series_csv(b"\xff\xfe\x00")


def test_results_compute_once_for_concurrent_requests_and_keep_the_answer() -> None:
    calls: list[int] = []
    lock = threading.Lock()

    def slow() -> int:
        with lock:
            calls.append(1)
        time.sleep(0.2)
        return 42

    async def run() -> list[int]:
        results = Results()
        got: list[int] = []

        async def one() -> None:
            got.append(await results.get(("k", 1), "slow", slow))

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(one)
        got.append(await results.get(("k", 1), "slow", slow))
        return got

    assert anyio.run(run) == [42] * 5
    assert len(calls) == 1


def test_a_computation_past_its_deadline_is_a_named_timeout() -> None:
    async def run() -> None:
        await offload("the sleeper", lambda: time.sleep(1.0), timeout_s=0.1)

    started = time.monotonic()
    with pytest.raises(ComputeTimeout, match=r"the sleeper did not finish within 0\.1 s"):
        anyio.run(run)
    assert time.monotonic() - started < 0.9
