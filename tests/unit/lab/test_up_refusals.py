"""What `lab up|status` refuse before touching anything, and how the state file names the
topology: an outsider's finds on a running 4-member local lab.

- `up` of a topology that changes genesis (a `params` value, `local.base_port`) went ahead:
  the nodes refused their ledgers ("made for genesis 5f88..., not this genesis a520...") and
  their supervisors gave up after 78 s; a base_port change left the old consoles listening.
- a lab directory that cannot be made (a read-only parent, /proc, an existing file) gave a
  traceback; `status` of a file said "phase absent".
- the state file kept the topology as typed (`base.yaml`), so `status --lab-dir` from another
  directory said the topology "is gone"."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from carbonlab.cli import main
from carbonlab.lab.errors import StateError
from carbonlab.lab.genesis_change import check_same_genesis, differences
from carbonlab.lab.inventory import genesis_spec
from carbonlab.lab.lifecycle import Lab
from carbonlab.lab.ports import plan
from carbonlab.lab.state import LabState, Phase, locked, recorded_topology
from carbonlab.lab.topology import load
from carbonlab.node.genesis import Genesis

REFERENCE = """\
lab_id: pfive
provider: local
params: {{reading_interval_s: {interval}, batch_delay_ms: 20}}
local: {{base_port: {base}, ports_per_host: 10}}
hosts: [{{id: node1}}, {{id: node2}}, {{id: node3}}, {{id: node4}}, {{id: plant}}]
members:
  - {{id: n1, organisation: "Power company", role: power-company, host: node1}}
  - {{id: n2, organisation: "EM", role: emission-management, host: node2}}
  - {{id: n3, organisation: "Verifier", role: verifier, host: node3}}
  - {{id: n4, organisation: "Trading", role: trading-centre, host: node4}}
gateways:
  - {{id: gw-e, mode: edge, host: plant, uplinks: [n1, n2, n3, n4], interval_s: 2}}
meters:
  - {{id: e-u1-s1, gateway: gw-e, company: genco, plant: plant-e, unit: u1, stack: s1,
     emulated: {{host: plant, register_map: t100, port: 5020, profile: {{capacity_mw: 300}}}}}}
"""


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def _topology(path: Path, *, interval: int = 2, base: int = 26400) -> Path:
    path.write_text(REFERENCE.format(interval=interval, base=base))
    return path


def _running_lab(tmp_path: Path) -> tuple[Path, Path]:
    """A lab directory as `up` leaves it: state healthy, and the genesis the playbook wrote
    (the spec with the keys the hosts made)."""
    topology = _topology(tmp_path / "base.yaml")
    topo = load(topology)
    spec = genesis_spec(topo, plan(topo, {h.id: "127.0.0.1" for h in topo.hosts}, loopback_ports=True))

    def key(name: str) -> str:
        return hashlib.sha256(name.encode()).hexdigest()

    members = [{**m, "public_key": key(m["id"]), "peer_id": "12D3" + m["id"]} for m in spec["members"]]
    gateways = [{**g, "public_key": key(g["id"])} for g in spec["gateways"]]
    genesis = Genesis.from_json({**spec, "members": members, "gateways": gateways})
    lab_dir = tmp_path / "lab"
    genesis.save(lab_dir / "genesis.json")
    state = LabState.load(lab_dir / "state.json")
    state.lab_id, state.provider, state.topology = "pfive", "local", str(topology)
    state.advance(Phase.HOSTS_UP)
    state.advance(Phase.PROVISIONED)
    state.advance(Phase.HEALTHY)
    return topology, lab_dir


def test_the_same_topology_keeps_the_running_genesis(tmp_path: Path) -> None:
    topology, lab_dir = _running_lab(tmp_path)
    topo = load(topology)
    spec = genesis_spec(topo, plan(topo, {h.id: "127.0.0.1" for h in topo.hosts}, loopback_ports=True))
    check_same_genesis(spec, lab_dir / "genesis.json", str(topology), lab_dir)       # no error
    check_same_genesis(spec, lab_dir / "absent.json", str(topology), lab_dir)        # nothing to compare


@pytest.mark.parametrize(("change", "said"), [
    ({"interval": 3}, "(params.reading_interval_s: 2 -> 3)"),
    ({"base": 26600}, "(members[0].p2p_addr: /ip4/127.0.0.1/tcp/26400 -> /ip4/127.0.0.1/tcp/26600, "
                      "members[0].api_url: http://127.0.0.1:26401 -> http://127.0.0.1:26601, "
                      "members[1].p2p_addr: /ip4/127.0.0.1/tcp/26410 -> /ip4/127.0.0.1/tcp/26610, "
                      "and 5 more)"),
])
def test_up_refuses_a_topology_that_changes_the_running_genesis(
        tmp_path: Path, change: dict[str, int], said: str) -> None:
    _topology_path, lab_dir = _running_lab(tmp_path)
    changed = _topology(tmp_path / "changed.yaml", **change)
    before = {p: p.read_bytes() for p in lab_dir.rglob("*") if p.is_file()}
    try:
        rc, _out, err = _run("lab", "up", str(changed), "--lab-dir", str(lab_dir))
    finally:    # were the refusal ever lost, `up` would bring a real lab up: never leave it running
        if (lab_dir / "hosts").exists():
            _run("lab", "down", "--lab-dir", str(lab_dir))
    assert rc == 2
    assert err == (f"carbonlab: error: {changed}: this topology changes the chain's genesis {said}; the "
                   f"members' ledgers were made for the running one ({lab_dir / 'genesis.json'}); "
                   f"`carbonlab lab down --lab-dir {lab_dir}` first (nothing was changed)\n")
    assert {p: p.read_bytes() for p in lab_dir.rglob("*") if p.is_file()} == before


def test_differences_name_the_field() -> None:
    assert differences({"a": [1, {"b": "x"}], "c": 1}, {"a": [1, {"b": "y"}, 3], "d": 1}) == [
        "a[1].b: x -> y", "a: 2 -> 3 entries", "c: removed", "d: added"]


def test_a_lab_dir_that_cannot_be_made_is_an_error_naming_it(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    for where, problem in ((afile, "is a file, not a lab directory"), (Path("/proc/lab"), "cannot create (")):
        with pytest.raises(StateError, match=re.escape(f"--lab-dir {where}: {problem}")), locked(where):
            pass
    for action in ("up", "status", "down"):
        rc, out, err = _run("lab", action, "--lab-dir", str(afile))
        assert (rc, out) == (2, "")
        assert err == f"carbonlab: error: --lab-dir {afile}: is a file, not a lab directory\n"
    assert afile.read_text() == ""


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a directory of mode 555")
def test_a_lab_dir_under_a_read_only_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    with pytest.raises(StateError, match=rf"^--lab-dir {ro}/lab: cannot create \(Permission denied\)$"), \
            locked(ro / "lab"):
        pass


def test_the_state_file_keeps_the_topology_as_an_absolute_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _topology(tmp_path / "base.yaml")
    monkeypatch.chdir(tmp_path)
    lab = Lab(load(Path("base.yaml")), Path("q1"), progress=lambda _line: None)
    with locked(lab.lab_dir):
        lab._begin_up()
    monkeypatch.chdir("/")
    assert json.loads((tmp_path / "q1" / "state.json").read_text())["topology"] == str(tmp_path / "base.yaml")
    assert recorded_topology(tmp_path / "q1") == tmp_path / "base.yaml"


def test_a_relative_topology_path_of_an_older_state_file_is_said_so(tmp_path: Path) -> None:
    lab_dir = tmp_path / "q1"
    state = LabState.load(lab_dir / "state.json")
    state.lab_id, state.provider, state.topology = "pfive", "local", "base.yaml"
    state.advance(Phase.HOSTS_UP)
    rc, _out, err = _run("lab", "status", "--lab-dir", str(lab_dir))
    assert rc == 2
    assert "was brought up from a topology recorded as a relative path (base.yaml); give the topology" in err
    assert "gone" not in err
