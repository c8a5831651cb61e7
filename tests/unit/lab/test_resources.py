"""Lab resources: one dataclass per kind that removes itself; a state file written before them
(records as `{"kind": ..., field: value}`) still loads, and its lab still comes down."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from carbonlab.lab.errors import ProviderError, StateError
from carbonlab.lab.lifecycle import Lab
from carbonlab.lab.proc import names_dir, start_time
from carbonlab.lab.providers import PROVIDERS, make_provider
from carbonlab.lab.resources import HostProcess, LabDir, Link, Netns, NftTable, PidfileDir, PlaybookRun, Route
from carbonlab.lab.state import LabState, Phase
from carbonlab.lab.topology import DEFAULT_TOPOLOGY, load

# Records exactly as the netns provider wrote them before resources were dataclasses.
NETNS_RECORDS = [
    {"kind": "dir", "path": "/lab/hosts"},
    {"kind": "dir", "path": "/lab/ssh"},
    {"kind": "link", "name": "clbt"},
    {"kind": "route", "spec": ["unreachable", "198.19.44.0/24", "metric", "4242"]},
    {"kind": "nft_table", "family": "inet", "name": "cl_t"},
    {"kind": "netns", "name": "cl-t-node1"},
    {"kind": "host_process", "host": "node1"},
    {"kind": "host_process", "host": "node1", "pid": 4242, "started": 99},
    {"kind": "pidfiles", "path": "/lab/hosts/a/run"},
    {"kind": "ansible", "pid": 77, "started": 12, "inventory": "/lab/inventory.yml"},
]


def _state_file(path: Path, provider: str, records: list[object]) -> None:
    path.write_text(json.dumps({"lab_id": load(DEFAULT_TOPOLOGY).lab_id, "provider": provider,
                                "topology": str(DEFAULT_TOPOLOGY), "phase": "hosts_up",
                                "resources": records, "facts": {}}, indent=1) + "\n")


def test_records_written_before_load_as_their_kinds_and_save_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    _state_file(path, "netns", NETNS_RECORDS)
    state = LabState.load(path)
    assert state.resources == [
        LabDir("/lab/hosts"), LabDir("/lab/ssh"), Link("clbt"), Route("198.19.44.0/24", 4242),
        NftTable("inet", "cl_t"), Netns("cl-t-node1"), HostProcess("node1"), HostProcess("node1", 4242, 99),
        PidfileDir("/lab/hosts/a/run"), PlaybookRun(77, 12, "/lab/inventory.yml")]
    state.save()
    assert json.loads(path.read_text())["resources"] == NETNS_RECORDS


def test_a_process_whose_start_time_was_unknown_loads(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    _state_file(path, "netns", [{"kind": "host_process", "host": "a", "pid": 5, "started": None}])
    assert LabState.load(path).resources == [HostProcess("a", 5, None)]


@pytest.mark.parametrize(("record", "problem"), [
    ({"kind": "floppy", "path": "/x"}, r"resources\[1\]: unknown kind 'floppy'"),
    ({"path": "/x"}, r"resources\[1\]: unknown kind None"),
    ({"kind": "host_process", "host": "a", "pid": "12"}, r"resources\[1\]: host_process record: pid must be"),
    ({"kind": "netns"}, r"resources\[1\]: netns record without 'name'"),
    ({"kind": "route", "spec": ["via", "x"]}, r"resources\[1\]: route record: spec must be"),
    ("dir", r"resources\[1\]: a record must be an object"),
])
def test_a_bad_record_is_a_state_error_naming_it(tmp_path: Path, record: object, problem: str) -> None:
    path = tmp_path / "state.json"
    _state_file(path, "local", [{"kind": "dir", "path": "/lab/hosts"}, record])
    with pytest.raises(StateError, match=f"{path}: unreadable lab state .*{problem}"):
        LabState.load(path)


@pytest.fixture
def stand_ins(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait(timeout=10)


def test_a_local_lab_brought_up_before_the_change_comes_down(
        tmp_path: Path, stand_ins: list[subprocess.Popen[bytes]]) -> None:
    lab_dir = tmp_path / "lab"
    run_dir = lab_dir / "hosts" / "node1" / "run"
    run_dir.mkdir(parents=True)
    # Stand-ins for a supervisor and a playbook the old `up` left: real processes naming the lab.
    argv = [sys.executable, "-c", "import signal; signal.pause()", str(lab_dir)]
    stand_ins.extend(subprocess.Popen(argv) for _ in range(2))
    supervisor, playbook = stand_ins
    (run_dir / "node-n1.supervisor.pid").write_text(f"{supervisor.pid}\n")
    _state_file(lab_dir / "state.json", "local", [
        {"kind": "dir", "path": str(lab_dir / "hosts")},
        {"kind": "pidfiles", "path": str(run_dir)},
        {"kind": "ansible", "pid": playbook.pid, "started": start_time(playbook.pid),
         "inventory": str(lab_dir / "inventory.yml")},
    ])
    lab = Lab(load(DEFAULT_TOPOLOGY), lab_dir, progress=lambda _line: None)
    assert lab.provider.name == "local"
    left = lab.provider.remains()
    assert left[0].startswith("2 processes running")
    assert left[1].endswith("state.json: 1 directory (and its contents)")
    lab.down()
    assert supervisor.wait(timeout=30) < 0      # ended by a signal
    assert playbook.wait(timeout=30) < 0
    assert not (lab_dir / "hosts").exists()
    state = json.loads((lab_dir / "state.json").read_text())
    assert (state["phase"], state["resources"]) == (Phase.ABSENT.value, [])


def test_each_provider_says_where_its_services_log(tmp_path: Path) -> None:
    topo = load(DEFAULT_TOPOLOGY)
    state = LabState(path=tmp_path / "state.json")
    logs = {name: make_provider(name, topo, tmp_path, state, lambda _l: None).service_log("node1")
            for name in PROVIDERS}
    assert logs == {"local": tmp_path / "hosts" / "node1" / "log",
                    "netns": tmp_path / "hosts" / "node1" / "upper" / "var" / "log" / "carbonlab",
                    "ssh": Path("node1:/var/log/carbonlab")}
    with pytest.raises(ProviderError, match=r"unknown provider 'vm' \(allowed: local, netns, ssh\)"):
        make_provider("vm", topo, tmp_path, state, lambda _l: None)


def test_a_state_file_copied_elsewhere_leaves_the_lab_it_came_from_whole(
        tmp_path: Path, stand_ins: list[subprocess.Popen[bytes]]) -> None:
    """An outsider's find: `lab down --lab-dir COPY` of a copy of a running local lab's state
    file ended nothing (the PIDs name the real lab) but deleted the real lab's pidfiles, so its
    own `down` then found none and left every service running under a removed directory."""
    lab_dir = tmp_path / "lab"
    run_dir = lab_dir / "hosts" / "node1" / "run"
    run_dir.mkdir(parents=True)
    argv = [sys.executable, "-c", "import signal; signal.pause()", "--config",
            str(lab_dir / "hosts" / "node1" / "etc" / "node-n1.toml")]
    stand_ins.append(subprocess.Popen(argv))
    (service,) = stand_ins
    pidfile = run_dir / "node-n1.supervisor.pid"
    pidfile.write_text(f"{service.pid}\n")
    records = [{"kind": "dir", "path": str(lab_dir / "hosts")}, {"kind": "pidfiles", "path": str(run_dir)}]
    _state_file(lab_dir / "state.json", "local", records)
    copy = tmp_path / "copy"
    copy.mkdir()
    _state_file(copy / "state.json", "local", records)
    said: list[str] = []
    Lab(load(DEFAULT_TOPOLOGY), copy, progress=said.append).down()
    refused = f"{lab_dir / 'hosts'} is outside {copy}; {run_dir} is outside {copy}"
    assert any(f"leaving 2 recorded object(s) alone: {refused} (a state file copied from another lab or "
               "edited?" in line for line in said), said
    assert service.poll() is None                         # still running
    assert pidfile.read_text() == f"{service.pid}\n"      # and still findable
    assert (lab_dir / "hosts").exists()
    # a pidfile in a lab's own run folder naming another lab's live process is kept too, also
    # when that lab's directory starts with this one's name
    for other in (tmp_path / "other", tmp_path / "la"):
        stale = other / "hosts" / "node1" / "run"
        stale.mkdir(parents=True)
        (stale / "node-n1.supervisor.pid").write_text(f"{service.pid}\n")
        PidfileDir(str(stale)).remove(other)
        assert service.poll() is None
        assert (stale / "node-n1.supervisor.pid").exists()
    Lab(load(DEFAULT_TOPOLOGY), lab_dir, progress=lambda _line: None).down()
    assert service.wait(timeout=30) < 0
    assert not (lab_dir / "hosts").exists()


@pytest.mark.parametrize(("cmdline", "named"), [
    ("python -m carbonlab node run --config /x/lab/hosts/node1/etc/n1.toml", True),
    ("prometheus --config.file=/x/lab/hosts/obs/etc/prometheus.yml", True),
    ("python listener.py 21013 --lab-dir=/x/lab", True),
    ("/x/lab/hosts/node1/opt/venv/bin/python -m carbonlab", True),
    ("tail -f /x/lab", True),
    ("python -m carbonlab node run --config /x/lab2/hosts/node1/etc/n1.toml", False),
    ("python -m carbonlab node run --config /y/x/lab/hosts/node1/etc/n1.toml", False),
    ("python -m carbonlab node run --config /x/la/hosts/node1/etc/n1.toml", False),
])
def test_a_command_names_a_lab_directory_only_as_a_whole_path(cmdline: str, named: bool) -> None:
    assert names_dir(cmdline, Path("/x/lab")) is named
    assert names_dir(cmdline, Path("/x/lab/")) is named
