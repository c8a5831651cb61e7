"""Running a playbook from the lab, showing progress, and reading its outcome.

The playbook's plain (default callback, no colour) output goes to a log file; while it
runs, each `TASK [...]` header is shown as progress. `parse_output` is a pure parser of
that text: per-host recap counts and, for a failure, the host, the task and the
message, so an error can say which host, which step and where the log is.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from carbonlab.lab.errors import StepError

PLAYBOOKS = Path(__file__).resolve().parents[1] / "playbooks"
RECAP_RE = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                      r"(?:\s+skipped=(\d+))?")
TASK_RE = re.compile(r"^TASK \[(.*)\] \**$")
OK_RE = re.compile(r"^ok: \[([^\]]+)\] => \{$")
MSG_RE = re.compile(r'^    "msg": "(.*)"$')
# `fatal: [h]: FAILED! => {...}` for a task, `failed: [h] (item=label) => {...}` for each failed
# item of a loop (Ansible prints no `fatal:` line for a loop)
FAIL_RE = re.compile(r"^(?:fatal|failed): \[([^\]]+)\](?:(?: =>)? \(item=.*?\))?"
                     r"(?:: (?:FAILED|UNREACHABLE)!)? => (\{.*)$")


@dataclass(frozen=True)
class Recap:
    ok: int
    changed: int
    unreachable: int
    failed: int


@dataclass
class PlaybookResult:
    recap: dict[str, Recap] = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)   # (host, task, message)

    @property
    def changed(self) -> int:
        return sum(r.changed for r in self.recap.values())


def parse_output(text: str) -> PlaybookResult:
    result = PlaybookResult()
    task = "(before any task)"
    in_recap = False
    for line in text.splitlines():
        if match := TASK_RE.match(line):
            task = match.group(1)
        elif line.startswith("PLAY RECAP"):
            in_recap = True
        elif (match := FAIL_RE.match(line)) and not in_recap:
            result.failures.append((match.group(1), task, _message(match.group(2))))
        elif in_recap and (match := RECAP_RE.match(line)):
            ok, changed, unreachable, failed = (int(match.group(i)) for i in range(2, 6))
            result.recap[match.group(1)] = Recap(ok, changed, unreachable, failed)
    return result


def _message(payload: str) -> str:
    try:
        data = json.loads(payload)
    except ValueError:
        return payload[:300]
    if not isinstance(data, dict):
        return payload[:300]
    parts = [str(data.get("msg", "")).strip(), str(data.get("stderr", "")).strip()[-300:]]
    return " | ".join(p for p in parts if p) or payload[:300]


def run_playbook(playbook: str, inventory: Path, log: Path, *, env: dict[str, str],
                 progress: Callable[[str], None], timeout_s: float = 900,
                 extra_args: tuple[str, ...] = (),
                 on_start: Callable[[int], None] | None = None) -> PlaybookResult:
    """Run `playbooks/<playbook>`; raise StepError naming host, task and log on any failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    lab_dir = inventory.parent
    tmp = lab_dir / "ansible"
    full_env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
                "ANSIBLE_RETRY_FILES_ENABLED": "False", "ANSIBLE_FORKS": "32",
                "ANSIBLE_LOCAL_TEMP": str(tmp / "local"), "ANSIBLE_REMOTE_TMP": str(tmp / "remote"),
                "ANSIBLE_HOME": str(tmp), "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_PIPELINING": "True",
                "ANSIBLE_DEPRECATION_WARNINGS": "False", "ANSIBLE_STDOUT_CALLBACK": "default",
                "ANSIBLE_CALLBACK_RESULT_FORMAT": "json", "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "False",
                "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
                "ANSIBLE_CALLBACKS_ENABLED": "carbonlab_timing",
                "CARBONLAB_TIMING_FILE": str(log.with_name(log.stem + "-timing.tsv")), **env}
    binary = Path(sys.executable).parent / "ansible-playbook"
    argv = [str(binary), "-i", str(inventory), str(PLAYBOOKS / playbook), *extra_args]
    with open(log, "w") as out:
        out.write(f"# {' '.join(argv)}\n")
        out.flush()
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=full_env,
                                 stdin=subprocess.DEVNULL)
        if on_start is not None:
            on_start(child.pid)
        deadline = time.monotonic() + timeout_s
        seen = 0
        shown: set[str] = set()
        try:
            while child.poll() is None:
                if time.monotonic() > deadline:
                    child.kill()
                    child.wait(10)
                    raise StepError("controller", playbook, f"ansible-playbook ran past {timeout_s} s",
                                    str(log))
                seen = _show_tasks(log, seen, shown, progress)
                time.sleep(0.2)
        except BaseException:
            if child.poll() is None:
                child.kill()
                child.wait(10)
            raise
    _show_tasks(log, seen, shown, progress)
    result = parse_output(log.read_text())
    if result.failures:
        host, task, message = result.failures[0]
        raise StepError(host, task, message, str(log))
    if child.returncode != 0:
        raise StepError("controller", playbook, f"ansible-playbook exited {child.returncode}", str(log))
    return result


def _show_tasks(log: Path, seen: int, shown: set[str], progress: Callable[[str], None]) -> int:
    """Show each task once (a role included in a loop repeats its headers), not the
    argument-spec checks Ansible adds."""
    lines = log.read_text().splitlines()
    host = ""
    for line in lines[seen:]:
        match = TASK_RE.match(line)
        if match and match.group(1) not in shown and "Validating arguments" not in match.group(1):
            shown.add(match.group(1))
            progress(f"  {match.group(1)}")
        elif ok := OK_RE.match(line):
            host = ok.group(1)
        elif (said := MSG_RE.match(line)) and host:
            # What a debug task says to the user (Grafana skipped, say) is shown, not only logged.
            progress(f"    {host}: {said.group(1)}")
    return len(lines)
