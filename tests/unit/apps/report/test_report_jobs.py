"""`ReportJobs`: report builds as child processes for a server (the client's backend), with a
timeout that really stops them, files served by manifest name only, the bundle as one zip, and
request bodies refused by field. Real processes, a real SQLite ledger."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from carbonlab.apps.report.jobs import JobsBusy, JobState, ReportJobs, ReportRequest
from carbonlab.apps.report.model import ReportError
from carbonlab.cli import main
from tests.unit.node.query.small_ledger import build as build_ledger

REQUEST = {"company": "acme", "year": 2023, "template": "eu-mrr"}


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[tuple[ReportJobs, Path]]:
    ledger, genesis = tmp_path / "ledger.sqlite", tmp_path / "genesis.json"
    build_ledger(ledger).genesis.save(genesis)
    j = ReportJobs(tmp_path / "reports", genesis=genesis, ledger=ledger, timeout_s=120)
    try:
        yield j, genesis
    finally:
        j.close()


def test_a_job_builds_serves_its_files_and_zip_and_verifies(jobs: tuple[ReportJobs, Path], tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    j, genesis = jobs
    job = j.submit(ReportRequest.from_json(REQUEST))
    assert job.done.wait(120)
    assert job.state is JobState.DONE, job.problem
    assert j.files(job.id) == ("proofs.json", "report.json", "report.pdf", "report.xlsx", "manifest.json")
    assert j.file(job.id, "report.pdf").read_bytes().startswith(b"%PDF")
    for hostile in ("../genesis.json", "/etc/passwd", "report.json/..", ".", ""):
        with pytest.raises(ReportError) as err:
            j.file(job.id, hostile)
        assert err.value.field == "file"
    with zipfile.ZipFile(j.zip(job.id)) as z:
        z.extractall(tmp_path / "unzipped")
    assert main(["report", "verify", str(tmp_path / "unzipped" / f"report-{job.id}"),
                 "--genesis", str(genesis)]) == 0
    assert j.get(job.id).to_json()["state"] == "done"
    with pytest.raises(ReportError) as err:
        j.get("nope")
    assert err.value.field == "id"


def test_a_failed_build_says_why_by_the_builds_own_message(jobs: tuple[ReportJobs, Path]) -> None:
    j, _ = jobs
    job = j.submit(ReportRequest.from_json({**REQUEST, "company": "initech"}))
    assert job.done.wait(120)
    assert job.state is JobState.FAILED
    assert job.problem.startswith("--company:"), job.problem
    with pytest.raises(ReportError, match="is failed, not done"):
        j.files(job.id)


def test_a_build_past_its_timeout_is_killed_and_leaves_nothing(jobs: tuple[ReportJobs, Path]) -> None:
    j, _ = jobs
    j.timeout_s = 0.05          # the child cannot even import carbonlab in that time
    job = j.submit(ReportRequest.from_json(REQUEST))
    assert job.done.wait(60)
    assert job.state is JobState.TIMED_OUT
    assert job.problem == "the build took more than 0.05 s"
    assert list(j.root.iterdir()) == []


def test_builds_beyond_max_running_are_refused(jobs: tuple[ReportJobs, Path]) -> None:
    j, _ = jobs
    first = j.submit(ReportRequest.from_json(REQUEST))
    with pytest.raises(JobsBusy, match="at most 1"):
        j.submit(ReportRequest.from_json(REQUEST))
    assert first.done.wait(120)


@pytest.mark.parametrize(("body", "field"), [
    ({**REQUEST, "year": "2023"}, "body.year"),
    ({**REQUEST, "year": 1e308}, "body.year"),
    ({**REQUEST, "year": 99999}, "body.year"),
    ({**REQUEST, "template": "../../etc"}, "body.template"),
    ({**REQUEST, "gwp": "AR9"}, "body.gwp"),
    ({**REQUEST, "company": "x" * 10_000}, "body.company"),
    ({**REQUEST, "company": ["acme"]}, "body.company"),
    ({"year": 2023, "template": "eu-mrr"}, "body.company"),
    ({**REQUEST, "out": "/tmp/x"}, "body.out"),
])
def test_a_hostile_request_body_is_refused_naming_its_field(body: Any, field: str) -> None:
    with pytest.raises(ReportError) as err:
        ReportRequest.from_json(body)
    assert err.value.field == field, err.value


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ReportError) as err:
        ReportRequest.from_json([1, 2])
    assert err.value.field.startswith("body")
