"""Fault marks on Grafana: one annotation for every fault the rig applies and heals.

Only when a Grafana is configured: `--grafana-url`/`--grafana-token` on `carbonlab rig run`,
`--rig-grafana-url`/`--rig-grafana-token` for the pytest plugin, or else
$CARBONLAB_GRAFANA_URL/$CARBONLAB_GRAFANA_TOKEN. The annotation is
posted through `carbonlab.dashboards.annotate.Annotator` (standard tags `carbonlab-rig`,
`fault:<id>`, `action:<apply|heal>`) with the rig's own tags `target:<id>`, `scenario:<name>`
and `seed:<n>`, at the time the journal recorded. Grafana being slow or away never fails a
scenario: each failed post is logged, counted, and listed in the scenario's run.json.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from carbonlab.rig.faults.records import FaultRecord

log = logging.getLogger(__name__)


@dataclass
class GrafanaMarks:
    annotator: Any                  # carbonlab.dashboards.annotate.Annotator (or anything with .fault)
    url: str = ""
    scenario: str = ""
    seed: int | None = None
    posted: int = 0
    failures: list[str] = field(default_factory=list)

    def __call__(self, record: FaultRecord, action: str) -> None:
        when = record.applied_at if action == "apply" else record.healed_at
        detail = f"{record.target}: {record.applied if action == 'apply' else record.healed}"
        tags = [f"target:{record.target}", f"scenario:{self.scenario or '-'}",
                f"seed:{'-' if self.seed is None else self.seed}"]
        try:
            self.annotator.fault(record.fault, action, detail[:500],
                                 at_ms=int(when * 1000) if when is not None else None, tags=tags)
        except Exception as exc:  # noqa: BLE001 - Grafana must never fail a scenario: count, log, go on
            why = f"{action} {record.fault} {record.target}: {exc}"
            self.failures.append(why)
            log.warning("Grafana annotation not posted (%s)", why)
        else:
            self.posted += 1

    def summary(self) -> dict[str, Any]:
        return {"url": self.url, "posted": self.posted, "failed": len(self.failures),
                "failures": self.failures}


def grafana_marks(url: str | None = None, token: str | None = None) -> GrafanaMarks | None:
    """Marks for the Grafana at `url` (else $CARBONLAB_GRAFANA_URL), or None when none is configured."""
    import os

    from carbonlab.dashboards.annotate import TOKEN_ENV, URL_ENV, Annotator

    url = (url or os.environ.get(URL_ENV, "")).strip()
    if not url:
        return None
    token = token or os.environ.get(TOKEN_ENV) or None
    return GrafanaMarks(Annotator(url, token), url=url)
