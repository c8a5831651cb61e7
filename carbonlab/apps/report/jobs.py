"""Report builds for a server: the client's backend builds reports off the chain's members.

Theory of operation. Building a company-year's report is CPU-bound Python for seconds to tens
of seconds (`bench report`: 10 s and a 58 MB bundle for 20 stacks' hourly year) and verifying
it longer. A consensus member must not do that: a node is one trio process whose consensus
loop, timers and libp2p streams share one interpreter, and a worker thread still holds the GIL
for pure-Python work, so a build on a member would stall its votes and look to the others like
a slow or faulty replica. Members therefore serve only the cheap paged reads a report is
assembled from (`/v1/emissions/query`, `/v1/readings`, `/v1/blocks/{h}?full=1`,
`/v1/allowances/history`), and the report is built by whoever wants it: the CLI, or a server
such as the client's backend, which calls this module.

`ReportJobs` runs each build as a child process (`carbonlab report build`, the same code and
messages as the CLI) so the server's event loop and its other pages are never blocked and a
build past `timeout_s` can really be stopped: it is killed by its PID and the temporary
directory it leaves is removed (`build.remove_stale`). A request is read into the typed
`ReportRequest` first, so a hostile body is refused naming its field before anything runs.
At most `max_running` builds run at once; further submissions are refused (`JobsBusy`) rather
than queued without bound. A finished job's files are served by name from its manifest (no
path from the request reaches the file system) and as one zip of the bundle.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import zipfile
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from carbonlab import fields, jsonfile
from carbonlab.apps.report.model import YEARS, ReportError, Template
from carbonlab.apps.report.tempdirs import remove_stale
from carbonlab.fields import FieldError, spec
from carbonlab.node.gwp import GwpSet
from carbonlab.node.model import MAX_ID_LEN

_CHILD = "import sys; from carbonlab.cli import main; sys.exit(main(sys.argv[1:]))"
BUNDLE_EXTRA = ("manifest.json", "statement.json")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportRequest:
    """What a report build is asked for (`POST` body of a report page or API)."""

    company: str = spec(check=fields.longest(MAX_ID_LEN))
    year: int = spec(lo=YEARS[0], hi=YEARS[1])
    template: Template = spec()
    gwp: GwpSet = spec(GwpSet.AR5)

    @classmethod
    def from_json(cls, raw: Any) -> ReportRequest:
        """ReportError naming `body.<field>` for a body that breaks a rule."""
        try:
            return fields.build(cls, raw, file="body", prefix="body.")
        except FieldError as exc:
            raise ReportError(exc.field or "body", exc.problem) from None


class JobState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    TIMED_OUT = "timed_out"


@dataclass
class Job:
    id: str
    request: ReportRequest
    out: Path
    state: JobState = JobState.RUNNING
    problem: str = ""                    # the build's own message when it failed
    pid: int | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state.value, "problem": self.problem or None,
                "company": self.request.company, "year": self.request.year,
                "template": self.request.template.value, "gwp": self.request.gwp.value}


class JobsBusy(ReportError):
    """Raised by `submit` when `max_running` builds are already running (try again later)."""


class ReportJobs:
    """Builds from one source (`--node URL` with the caller's genesis, or a ledger file) into
    directories under `root`, one per job."""

    def __init__(self, root: Path, *, genesis: Path, node: str | None = None, ledger: Path | None = None,
                 timeout_s: float = 300.0, max_running: int = 1) -> None:
        if (node is None) == (ledger is None):
            raise ReportError("source", "give exactly one of node and ledger")
        self.root, self.timeout_s, self.max_running = root, timeout_s, max_running
        self.source = ["--node", node, "--genesis", str(genesis)] if node is not None else \
            ["--ledger", str(ledger)]
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        root.mkdir(parents=True, exist_ok=True)

    def submit(self, request: ReportRequest) -> Job:
        with self.lock:
            running = sum(j.state is JobState.RUNNING for j in self.jobs.values())
            if running >= self.max_running:
                raise JobsBusy("jobs", f"{running} report build(s) running; at most {self.max_running}")
            job_id = secrets.token_hex(8)
            job = self.jobs[job_id] = Job(job_id, request, self.root / job_id)
        argv = ["report", "build", "--company", request.company, "--year", str(request.year),
                "--template", request.template.value, "--gwp", request.gwp.value, *self.source,
                "--out", str(job.out)]
        child = subprocess.Popen([sys.executable, "-c", _CHILD, *argv], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, start_new_session=True)
        job.pid = child.pid
        threading.Thread(target=self._wait, args=(job, child), daemon=True).start()
        return job

    def _wait(self, job: Job, child: subprocess.Popen[bytes]) -> None:
        try:
            _, err = child.communicate(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)       # its own session: the build and nothing else
            child.communicate()
            remove_stale(self.root)
            job.state, job.problem = JobState.TIMED_OUT, f"the build took more than {self.timeout_s:g} s"
        else:
            text = err.decode("utf-8", "replace").strip()
            if child.returncode == 0:
                job.state = JobState.DONE
            else:
                job.state = JobState.FAILED
                job.problem = text.splitlines()[-1].removeprefix("carbonlab: error: ") if text else \
                    f"the build exited with {child.returncode}"
        job.done.set()

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise ReportError("id", f"no report job {job_id[:32]!r}")
        return job

    def _finished(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.state is not JobState.DONE:
            raise ReportError("id", f"report job {job.id} is {job.state.value}, not done")
        return job

    def files(self, job_id: str) -> tuple[str, ...]:
        """The bundle's file names: its manifest's list, the manifest, and the statement if any."""
        job = self._finished(job_id)
        listed = jsonfile.load(job.out / "manifest.json")["files"]
        return (*sorted(listed), *(n for n in BUNDLE_EXTRA if (job.out / n).is_file()))

    def file(self, job_id: str, name: str) -> Path:
        if name not in self.files(job_id):
            raise ReportError("file", f"{name[:64]!r} is not a file of report {job_id}")
        return self.jobs[job_id].out / name

    def zip(self, job_id: str) -> Path:
        """The bundle as one zip (`<id>.zip` beside the report directory, written once)."""
        names = self.files(job_id)
        path = self.root / f"{job_id}.zip"
        if not path.is_file():
            tmp = self.root / f".{job_id}.zip.tmp"
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
                for name in names:
                    z.write(self.jobs[job_id].out / name, f"report-{job_id}/{name}")
            tmp.replace(path)
        return path

    def close(self) -> None:
        """Kill the builds still running (by the PIDs this object started)."""
        for job in self.jobs.values():
            if job.state is JobState.RUNNING and job.pid is not None:
                with contextlib.suppress(ProcessLookupError):    # it ended meanwhile
                    os.killpg(job.pid, signal.SIGKILL)
        for job in self.jobs.values():
            job.done.wait(30)
