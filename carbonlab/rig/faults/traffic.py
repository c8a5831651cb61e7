"""Hostile traffic the rig sends to a node's API: a batch from a gateway genesis does not name
(signed with a key of its own), and a committed batch sent again. The node's answer and the
batch's final status are the fault's typed `outcome()` (a `TrafficOutcome`) for the scenario's
expectations; there is nothing to heal."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from carbonlab.node import emissions
from carbonlab.node.crypto import Signer
from carbonlab.node.model import Basis, Batch, DataFlag, Reading
from carbonlab.rig.errors import HostError
from carbonlab.rig.faults.base import Fault, Param
from carbonlab.rig.faults.context import FaultContext
from carbonlab.rig.faults.records import FaultOutcome, TrafficOutcome


def _status(url: str, gateway: str, seq: int, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            last = httpx.get(f"{url}/v1/batches/{gateway}/{seq}", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            last = {"status": "unreachable"}
        if last.get("status") in ("committed", "rejected"):
            return last
        time.sleep(0.5)
    return last


class _Traffic(Fault):
    target_kind = "node"
    PARAMS = {"wait_s": Param(float, 30.0, "how long to wait for the batch's final status", minimum=0.0)}
    expected = ""

    def __init__(self, target: str, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(target, params)
        self.answered: TrafficOutcome | None = None

    def heal(self, ctx: FaultContext) -> str:
        return "nothing to heal"

    def outcome(self) -> FaultOutcome:
        return FaultOutcome(traffic=self.answered or TrafficOutcome(0, "no answer", (), self.expected))

    def post(self, url: str, batch: Batch) -> dict[str, Any]:
        try:
            reply = httpx.post(f"{url}/v1/batches", json=batch.to_json(), timeout=10)
        except httpx.HTTPError as exc:
            raise HostError(f"{url}: {exc}") from None
        answer = {"http": reply.status_code, **(reply.json() if reply.content else {})}
        final = _status(url, batch.gateway_id, batch.batch_seq, self.params["wait_s"]) \
            if reply.status_code in (200, 202) else answer
        reasons = tuple(dict.fromkeys(str(r) for r in (answer.get("reason"), final.get("reason")) if r))
        self.answered = TrafficOutcome(int(reply.status_code), str(final.get("status", "")), reasons,
                                       self.expected)
        return {"answer": answer, "final": final}


class Stranger(_Traffic):
    id = "traffic.stranger"
    summary = "a batch from a gateway genesis does not name, validly signed by its own key"
    expected = "rejected: unknown_gateway"

    def apply(self, ctx: FaultContext) -> str:
        ref = ctx.node(self.target)
        meter = min((m for m, b in ctx.meters.items() if b.emulated), default="m1")
        kg = emissions.co2_mass_kg(11.0, "wet", 8.0, 120.0, 140.0, 100.5, 60)
        start = int(time.time()) // 60 * 60 - 60
        reading = Reading(meter, 1, start, 60, 11.0, Basis.WET, 6.0, 8.0, 120.0, 140.0, 100.5, 60,
                          DataFlag.NORMAL, kg)
        batch = Batch(ctx.chain_id, f"stranger-{ctx.seed}", 1, (reading,)).signed(Signer.generate())
        out = self.post(ref.url, batch)
        return f"stranger batch to {self.target}: answer {out['answer']}, final {out['final']}"


class Replay(_Traffic):
    id = "traffic.replay"
    summary = "a committed batch sent again (must not be recorded twice)"
    PARAMS = {**_Traffic.PARAMS,
              "height": Param(int, 1, "take the first accepted batch at or above", minimum=1)}
    expected = "committed once (idempotent), never twice"

    def apply(self, ctx: FaultContext) -> str:
        ref = ctx.node(self.target)
        height = self.params["height"]
        for h in range(height, height + 200):
            block = httpx.get(f"{ref.url}/v1/blocks/{h}", params={"full": "1"}, timeout=5)
            if block.status_code != 200:
                break
            for entry in block.json()["batches"]:
                if entry.get("accepted") and entry.get("batch"):
                    out = self.post(ref.url, Batch.from_json(entry["batch"]))
                    b = entry["batch"]
                    return (f"replayed {b['gateway_id']}/{b['batch_seq']} (first at height {h}): "
                            f"answer {out['answer']}, final {out['final']}")
        raise HostError(f"{self.target}: no accepted batch at or above height {height} to replay")
