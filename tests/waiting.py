"""Waiting for an event with a deadline, never for a fixed time.

A test that sleeps "long enough" is slow when the machine is idle and flaky when it is
loaded. These helpers poll a predicate quickly until it holds and fail naming what did not
happen (and the last value seen) when the deadline passes. One variant per event loop the
tests use: plain threads, trio (libp2p) and asyncio (pymodbus). A sleep that IS the behaviour
under test ("nothing commits during 2 s") stays a sleep, with a comment saying so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Literal, TypeVar

import trio

T = TypeVar("T")
# what a predicate returns: its value once the event happened, else None or False
Predicate = Callable[[], T | Literal[False] | None]
POLL_S = 0.05


class WaitTimeout(AssertionError):
    """Raised when the awaited event did not happen within the deadline: the system under
    test's fault (or a deadline too short for the machine), named by `what`."""

    def __init__(self, what: str, timeout_s: float, last: object) -> None:
        super().__init__(f"{what}: not within {timeout_s} s (last seen: {last!r})")
        self.what = what
        self.timeout_s = timeout_s
        self.last = last


def wait_until(predicate: Predicate[T], timeout_s: float, what: str, poll_s: float = POLL_S) -> T:
    """Call `predicate` until it returns something truthy, and return that; raise WaitTimeout
    naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise WaitTimeout(what, timeout_s, last)
        time.sleep(poll_s)


async def trio_wait_until(predicate: Predicate[T], timeout_s: float, what: str,
                          poll_s: float = POLL_S) -> T:
    """`wait_until` inside trio: the predicate runs on the loop and must not block."""
    deadline = trio.current_time() + timeout_s
    while True:
        last = predicate()
        if last:
            return last
        if trio.current_time() >= deadline:
            raise WaitTimeout(what, timeout_s, last)
        await trio.sleep(poll_s)


async def trio_wait_until_in_thread(predicate: Predicate[T], timeout_s: float, what: str,
                                    poll_s: float = POLL_S) -> T:
    """`wait_until` inside trio for a blocking predicate (an HTTP call): it runs in a worker thread."""
    deadline = trio.current_time() + timeout_s
    while True:
        last = await trio.to_thread.run_sync(predicate)
        if last:
            return last
        if trio.current_time() >= deadline:
            raise WaitTimeout(what, timeout_s, last)
        await trio.sleep(poll_s)


async def asyncio_wait_until(predicate: Predicate[T], timeout_s: float, what: str,
                             poll_s: float = POLL_S) -> T:
    """`wait_until` inside asyncio: the predicate runs on the loop and must not block."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        last = predicate()
        if last:
            return last
        if loop.time() >= deadline:
            raise WaitTimeout(what, timeout_s, last)
        await asyncio.sleep(poll_s)
