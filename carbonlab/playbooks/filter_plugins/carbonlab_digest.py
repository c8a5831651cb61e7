"""Ansible filter `carbonlab_digest`: the SHA-256 of values' canonical JSON (keys sorted, no
spaces). group_vars/all.yml digests everything a service is laid out and run from; the service
module keeps that digest on the host, and a rerun skips a service whose digest is unchanged."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def carbonlab_digest(value: Any, *more: Any) -> str:
    text = json.dumps([value, *more], sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"carbonlab_digest": carbonlab_digest}
