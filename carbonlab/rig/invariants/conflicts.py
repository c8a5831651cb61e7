"""Conflicting resubmissions, read from the nodes' /metrics after a scenario.

A node refuses (409) a batch whose (gateway_id, batch_seq) is already committed with
different content, and counts it in `carbonlab_batches_conflicting_total{gateway}`. An
honest gateway never signs two different batches under one batch_seq, so any count is a
finding: a gateway that lost its counter and re-signed, or a second holder of its key.
The readings of the refused batch are in that gateway's dead letters, not on the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families

from carbonlab.rig.errors import RigError
from carbonlab.rig.invariants.result import InvariantResult

METRIC = "carbonlab_batches_conflicting"


def conflict_counts(metrics_text: str) -> dict[str, int]:
    """gateway -> conflicting submissions, from one node's Prometheus text."""
    out: dict[str, int] = {}
    for family in text_string_to_metric_families(metrics_text):
        if family.name == METRIC:
            for sample in family.samples:
                if sample.name == f"{METRIC}_total" and sample.value:
                    out[sample.labels["gateway"]] = int(sample.value)
    return out


def read_conflicts(url: str, timeout_s: float = 10.0) -> dict[str, int]:
    try:
        reply = httpx.get(f"{url}/metrics", timeout=timeout_s)
        reply.raise_for_status()
    except httpx.HTTPError as exc:
        raise RigError(f"{url}/metrics: {exc}") from None
    return conflict_counts(reply.text)


def conflicts(per_node: Mapping[str, Mapping[str, int]],
              unanswered: Mapping[str, str] | None = None) -> InvariantResult:
    """`per_node`: member -> gateway -> conflicting submissions that member refused;
    `unanswered`: member -> why its /metrics could not be read (reported, not judged)."""
    evidence = [f"{member}: {count} from gateway {gateway}"
                for member, counts in sorted(per_node.items()) for gateway, count in sorted(counts.items())]
    evidence += [f"{member}: not counted ({why})" for member, why in sorted((unanswered or {}).items())]
    total = sum(sum(c.values()) for c in per_node.values())
    data = {"conflicts": total, "by_node": {m: dict(c) for m, c in per_node.items()}}
    if total:
        return InvariantResult("conflicts", False, f"{total} submission(s) of a different batch under a "
                               "committed (gateway_id, batch_seq), refused with 409", evidence, data)
    return InvariantResult("conflicts", True, f"no conflicting resubmission on {len(per_node)} nodes",
                           evidence, data)
