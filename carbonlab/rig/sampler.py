"""Samples the lab once a second while a scenario runs: each node's height and view (its API),
and now and then the emissions committed so far; a thread, stopped by `stop()`."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


def node_status(url: str, timeout_s: float = 0.7) -> dict[str, Any] | None:
    try:
        reply = httpx.get(f"{url}/v1/status", timeout=timeout_s)
        return dict(reply.json()) if reply.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


def total_co2_kg(url: str) -> float | None:
    try:
        rows = httpx.get(f"{url}/v1/emissions", params={"group_by": "company"}, timeout=2.0).json()
    except (httpx.HTTPError, ValueError):
        return None
    items: list[Any] = rows.get("emissions", []) if isinstance(rows, dict) else []
    return sum((float(r.get("co2_kg") or 0.0) for r in items if isinstance(r, dict)), 0.0)


@dataclass
class Sample:
    t: float                                   # wall clock (time.time())
    heights: dict[str, int | None]
    views: dict[str, int | None]
    co2_kg: float | None = None


@dataclass
class Sampler:
    urls: dict[str, str]
    period_s: float = 1.0
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self, with_co2: bool = False) -> Sample:
        heights: dict[str, int | None] = {}
        views: dict[str, int | None] = {}
        for member, url in self.urls.items():
            status = node_status(url)
            heights[member] = None if status is None else int(status["height"])
            views[member] = None if status is None else int(status["view"])
        co2 = None
        if with_co2:
            up = [m for m in heights if heights[m] is not None]
            best = max(up, key=lambda m: heights[m] or 0, default=None)
            co2 = total_co2_kg(self.urls[best]) if best else None
        s = Sample(time.time(), heights, views, co2)
        self.samples.append(s)
        return s

    def _loop(self) -> None:
        n = 0
        while not self._stop.is_set():
            self.sample(with_co2=n % 5 == 0)
            n += 1
            self._stop.wait(self.period_s)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="rig-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def primary(self) -> str | None:
        for url in self.urls.values():
            status = node_status(url)
            if status is not None and status.get("primary"):
                return str(status["primary"])
        return None
