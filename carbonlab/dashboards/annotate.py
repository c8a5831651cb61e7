"""Marks rig faults on Grafana: one annotation per fault applied or healed.

Annotations are organisation-wide and tagged `carbonlab-rig`, `fault:<id>`, `action:<apply|heal>`;
every carbonlab dashboard shows the `carbonlab-rig` tag as its "Rig faults" annotation layer.
The rig creates an `Annotator` only when a Grafana is configured (`from_env` returns None
otherwise), so a rig run without Grafana is unchanged.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any, Literal

from carbonlab.checks import shown
from carbonlab.dashboards import push
from carbonlab.dashboards.errors import PushError
from carbonlab.dashboards.model import RIG_ANNOTATION_TAG

Action = Literal["apply", "heal"]
URL_ENV = "CARBONLAB_GRAFANA_URL"
TOKEN_ENV = "CARBONLAB_GRAFANA_TOKEN"


class Annotator:
    def __init__(self, url: str, token: str | None, *, timeout_s: float = 5.0) -> None:
        self._api = push.connect(url, token, timeout_s)

    @classmethod
    def from_env(cls) -> Annotator | None:
        """An Annotator for $CARBONLAB_GRAFANA_URL (token $CARBONLAB_GRAFANA_TOKEN), or None when unset."""
        url = os.environ.get(URL_ENV, "").strip()
        return cls(url, os.environ.get(TOKEN_ENV) or None) if url else None

    def fault(self, fault_id: str, action: Action, detail: str = "", *, at_ms: int | None = None,
              tags: Sequence[str] = ()) -> int:
        """Post one annotation for a fault applied or healed; returns Grafana's annotation id.
        `tags` are added to the standard ones (the rig adds target, scenario and seed)."""
        if action not in ("apply", "heal"):
            raise PushError(f"annotation action {action!r} is not one of apply, heal")
        if not fault_id.strip():
            raise PushError("annotation fault id is empty")
        when = at_ms if at_ms is not None else time.time_ns() // 1_000_000
        verb = "applied" if action == "apply" else "healed"
        text = f"fault {fault_id} {verb}" + (f": {detail}" if detail else "")
        all_tags = [RIG_ANNOTATION_TAG, f"fault:{fault_id}", f"action:{action}", *tags]
        reply: Any = self._api.call(  # one error policy for every Grafana call
            f"annotate fault {fault_id}",
            lambda a: a.annotations.add_annotation(time_from=when, time_to=when, tags=all_tags, text=text),
        )
        if not isinstance(reply.get("id"), int):
            raise PushError(f"Grafana answered the annotation of fault {fault_id} with {shown(reply)}, no id")
        return int(reply["id"])
