"""`lab down` acts only on what lies inside its own lab directory and on processes it can tell
are the lab's, whatever an edited or copied state file says.

An outsider's finds: a `dir` record `/lab/../victim` passed the textual check and `down`
deleted `/victim`; an `ansible` record whose `started` was null made `down` signal whatever
process then had that PID (an unrelated `sleep` of the same user)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from carbonlab.cli import main
from carbonlab.lab.resources import HostProcess, LabDir, Link, Netns, NftTable, PidfileDir, PlaybookRun


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def _state(lab_dir: Path, records: list[dict[str, object]]) -> None:
    lab_dir.mkdir(parents=True, exist_ok=True)
    (lab_dir / "state.json").write_text(json.dumps({
        "lab_id": "pfive", "provider": "local", "topology": "base.yaml", "phase": "healthy",
        "resources": records, "facts": {}}) + "\n")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait(timeout=10)


def test_a_recorded_path_leading_out_by_dotdot_or_symlink_is_left_alone(tmp_path: Path) -> None:
    lab_dir = tmp_path / "cs7"
    victims = [tmp_path / name for name in ("victim4", "victim5", "victim6")]
    for victim in victims:
        victim.mkdir()
        (victim / "keep").write_text("x")
    (victims[2] / "a.pid").write_text("999999999\n")          # a dead PID: `down` drops such a pidfile
    lab_dir.mkdir()
    (lab_dir / "hosts").symlink_to(victims[1])
    _state(lab_dir, [{"kind": "dir", "path": f"{lab_dir}/../victim4"},
                     {"kind": "dir", "path": str(lab_dir / "hosts")},
                     {"kind": "pidfiles", "path": f"{lab_dir}/../victim6"}])
    rc, out, err = _run("lab", "down", "--lab-dir", str(lab_dir))
    assert (rc, err) == (0, "")
    assert all((victim / "keep").exists() for victim in victims)
    assert (victims[2] / "a.pid").exists()
    assert (f"leaving 3 recorded object(s) alone: {lab_dir}/../victim4 (that is {victims[0]}) is outside "
            f"{lab_dir}; {lab_dir / 'hosts'} (that is {victims[1]}) is outside {lab_dir}; "
            f"{lab_dir}/../victim6 (that is {victims[2]}) is outside {lab_dir}") in out
    assert json.loads((lab_dir / "state.json").read_text())["resources"] == []


def test_a_path_inside_the_lab_still_goes(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    inside = lab_dir / "hosts" / "node1"
    inside.mkdir(parents=True)
    _state(lab_dir, [{"kind": "dir", "path": f"{lab_dir}/hosts/../hosts"}])
    assert _run("lab", "down", "--lab-dir", str(lab_dir))[0] == 0
    assert not (lab_dir / "hosts").exists()
    assert lab_dir.exists()


@pytest.mark.parametrize(("record", "problem"), [
    (LabDir("/x/lab"), "/x/lab is the lab directory itself"),
    (LabDir("hosts"), "hosts is not an absolute path"),
    (LabDir("/x/lab/../lab2/hosts"), "/x/lab/../lab2/hosts (that is /x/lab2/hosts) is outside /x/lab"),
    (PidfileDir("/x/lab2/run"), "/x/lab2/run is outside /x/lab"),
    (PlaybookRun(999_999_999, 5, "/x/other/inventory.yml"), "/x/other/inventory.yml is outside /x/lab"),
    (Netns("eth0"), "netns 'eth0' is not a name a lab gives (they start cl-)"),
    (Link("eth0"), "link 'eth0' is not a name a lab gives (they start clb or clv)"),
    (NftTable("inet", "filter"), "nft_table 'filter' is not a name a lab gives (they start cl_ or clrig_)"),
    (LabDir("/x/lab/hosts"), ""),
    (Link("clbpfive"), ""),
])
def test_each_kind_says_why_down_leaves_it(record: LabDir, problem: str) -> None:
    assert record.refusal(Path("/x/lab")) == problem


def test_a_pid_recorded_without_start_time_is_signalled_only_if_it_is_the_labs(
        tmp_path: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    lab_dir = tmp_path / "lab"
    inventory = lab_dir / "inventory.yml"
    unrelated = subprocess.Popen(["sleep", "600"])
    playbook = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()",
                                 "ansible-playbook", "-i", str(inventory), "site.yml"])
    host = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()", "unshare",
                             str(lab_dir / "hosts" / "node1" / "init.sh")])
    processes.extend([unrelated, playbook, host])
    _state(lab_dir, [{"kind": "ansible", "pid": unrelated.pid, "started": None, "inventory": str(inventory)},
                     {"kind": "host_process", "host": "node2", "pid": unrelated.pid, "started": None},
                     {"kind": "host_process", "host": "node1", "pid": host.pid, "started": None},
                     {"kind": "ansible", "pid": playbook.pid, "started": None, "inventory": str(inventory)}])
    rc, out, err = _run("lab", "down", "--lab-dir", str(lab_dir))
    assert (rc, err) == (0, "")
    assert playbook.wait(timeout=30) < 0                                     # the lab's: ended
    assert host.wait(timeout=30) < 0
    assert unrelated.poll() is None                                          # not the lab's: alive
    assert (f"PID {unrelated.pid} (a playbook recorded without its start time) now runs 'sleep 600', "
            f"not the ansible-playbook of {inventory}: left alone") in out
    assert (f"PID {unrelated.pid} (host node2, recorded without its start time) now runs 'sleep 600', "
            f"not a host of {lab_dir}: left alone") in out
    assert HostProcess("node2", unrelated.pid, None).refusal(lab_dir)
