"""Ansible callback: where a playbook's time goes, written as a table.

Enabled by the lab for every run (`ANSIBLE_CALLBACKS_ENABLED=carbonlab_timing`); it writes
`CARBONLAB_TIMING_FILE` (tab-separated: seconds, hosts, task) once the play ends, the
slowest task first, so `logs/site-timing.tsv` says which steps cost what. A task's time is
from its start to the start of the next one (what the play waited for).
"""

from __future__ import annotations

import os
import time
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: carbonlab_timing
type: aggregate
short_description: per-task wall time of a carbonlab lab playbook, as a table
description: writes seconds, host count and task name per task to CARBONLAB_TIMING_FILE
requirements: []
"""


class CallbackModule(CallbackBase):  # type: ignore[misc]  # ansible ships no type information
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "carbonlab_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._start = time.monotonic()
        self._current: tuple[str, float] | None = None
        self._hosts: set[str] = set()
        self._rows: dict[str, list[float]] = {}      # task -> [seconds, hosts]

    def _close(self) -> None:
        now = time.monotonic()
        if self._current is not None:
            name, began = self._current
            row = self._rows.setdefault(name, [0.0, 0.0])
            row[0] += now - began
            row[1] = max(row[1], float(len(self._hosts)))
        self._current = None
        self._hosts = set()

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._close()
        self._current = (f"{task.get_name()}", time.monotonic())

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        self.v2_playbook_on_task_start(task, False)

    def _ran(self, result: Any, *args: Any, **kwargs: Any) -> None:
        self._hosts.add(result._host.get_name())

    v2_runner_on_ok = _ran
    v2_runner_on_failed = _ran
    v2_runner_on_unreachable = _ran

    def v2_playbook_on_stats(self, stats: Any) -> None:
        self._close()
        path = os.environ.get("CARBONLAB_TIMING_FILE")
        if not path:
            return
        total = time.monotonic() - self._start
        rows = sorted(self._rows.items(), key=lambda kv: -kv[1][0])
        with open(path, "w") as out:
            out.write(f"{total:.2f}\t-\t(whole playbook)\n")
            for name, (seconds, hosts) in rows:
                out.write(f"{seconds:.2f}\t{int(hosts)}\t{name}\n")
