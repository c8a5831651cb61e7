"""The shared wait helpers return the event's value, and fail naming what did not happen."""

from __future__ import annotations

import asyncio
import itertools

import pytest
import trio
import trio.lowlevel

from tests.waiting import (
    WaitTimeout,
    asyncio_wait_until,
    trio_wait_until,
    trio_wait_until_in_thread,
    wait_until,
)


def test_wait_until_returns_the_first_truthy_value() -> None:
    counter = itertools.count()
    assert wait_until(lambda: [n] if (n := next(counter)) >= 3 else [], 10, "third poll") == [3]


def test_wait_until_names_what_did_not_happen_and_the_last_value() -> None:
    with pytest.raises(WaitTimeout, match=r"the meter came back: not within 0.1 s \(last seen: 0\)"):
        wait_until(lambda: 0, 0.1, "the meter came back", poll_s=0.01)


def test_trio_variants() -> None:
    async def main() -> None:
        event = trio.Event()

        async def set_later() -> None:
            await trio.lowlevel.checkpoint()
            event.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(set_later)
            assert await trio_wait_until(event.is_set, 10, "event set")
        assert await trio_wait_until_in_thread(lambda: "done", 10, "thread") == "done"
        with pytest.raises(WaitTimeout, match="never"):
            await trio_wait_until(lambda: None, 0.1, "never", poll_s=0.01)
        with pytest.raises(WaitTimeout, match="never either"):
            await trio_wait_until_in_thread(lambda: False, 0.1, "never either", poll_s=0.01)
    trio.run(main)


def test_asyncio_variant() -> None:
    async def main() -> None:
        event = asyncio.Event()
        asyncio.get_running_loop().call_soon(event.set)
        assert await asyncio_wait_until(event.is_set, 10, "event set")
        with pytest.raises(WaitTimeout, match="never"):
            await asyncio_wait_until(lambda: 0, 0.1, "never", poll_s=0.01)
    asyncio.run(main())
