"""`lab down|status|up --lab-dir DIR` without a topology acts on the lab in DIR, brought up from
the topology its state file records (it used to load the shipped default and refuse: "holds lab
'rigci', not 'demo'"), so the advice `carbonlab lab down --lab-dir DIR` works as printed; `down`
needs only the state file, so it works also when that topology is gone."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import yaml

from carbonlab.cli import main
from carbonlab.lab.resources import LabDir
from carbonlab.lab.state import LabState, Phase, recorded_topology
from carbonlab.lab.topology import DEFAULT_TOPOLOGY


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def _lab_of_another_id(tmp_path: Path) -> tuple[Path, Path, Path]:
    raw = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    raw["lab_id"] = "other"
    topology = tmp_path / "other.yaml"
    topology.write_text(yaml.safe_dump(raw, sort_keys=False))
    lab_dir = tmp_path / "lab"
    left = lab_dir / "hosts"
    left.mkdir(parents=True)
    state = LabState.load(lab_dir / "state.json")
    state.lab_id, state.provider, state.topology = "other", "local", str(topology)
    state.advance(Phase.HOSTS_UP)
    state.record(LabDir(str(left)))
    return topology, lab_dir, left


def test_down_with_only_the_lab_dir_takes_down_the_lab_it_holds(tmp_path: Path) -> None:
    _topology, lab_dir, left = _lab_of_another_id(tmp_path)
    rc, out, err = _run("lab", "down", "--lab-dir", str(lab_dir))
    assert rc == 0, err
    assert "[other]" in out
    assert not left.exists()
    assert LabState.load(lab_dir / "state.json").phase is Phase.ABSENT


def test_a_lab_whose_topology_is_gone_comes_down_from_its_state_file(tmp_path: Path) -> None:
    """An outsider's find: `lab down --lab-dir DIR` refused a lab whose topology file had been
    deleted, although its state file lists everything there is to remove."""
    topology, lab_dir, left = _lab_of_another_id(tmp_path)
    topology.unlink()
    rc, out, err = _run("lab", "down", "--lab-dir", str(lab_dir))
    assert rc == 0, err
    assert "[other] removing 1 recorded objects (local)" in out
    assert not left.exists()
    assert LabState.load(lab_dir / "state.json").phase is Phase.ABSENT
    rc, out, err = _run("lab", "down", "--lab-dir", str(lab_dir))      # and again: idempotent
    assert (rc, err) == (0, ""), err
    assert "[other] removing 0 recorded objects" in out


def test_status_of_a_lab_whose_topology_is_gone_asks_for_it_and_touches_nothing(tmp_path: Path) -> None:
    topology, lab_dir, left = _lab_of_another_id(tmp_path)
    topology.unlink()
    rc, _out, err = _run("lab", "status", "--lab-dir", str(lab_dir))
    assert rc == 2
    assert f"was brought up from {topology}, which is gone" in err
    assert "lab_id: other" in err
    assert left.exists()
    assert LabState.load(lab_dir / "state.json").phase is Phase.HOSTS_UP


def test_down_of_a_folder_without_a_lab_says_so_and_creates_nothing(tmp_path: Path) -> None:
    rc, out, err = _run("lab", "down", "--lab-dir", str(tmp_path / "typo"))
    assert (rc, err) == (0, ""), err
    assert "no lab here (no state.json): nothing to take down" in out
    assert not (tmp_path / "typo").exists()


def test_down_of_an_unreadable_state_file_names_it_and_removes_nothing(tmp_path: Path) -> None:
    _topology, lab_dir, left = _lab_of_another_id(tmp_path)
    (lab_dir / "state.json").write_text('{"lab_id": "other", "resources": [')
    rc, _out, err = _run("lab", "down", "--lab-dir", str(lab_dir))
    assert rc == 2
    assert f"{lab_dir / 'state.json'}: unreadable lab state" in err
    assert left.exists()


def test_a_topology_given_still_must_match_the_lab_dir(tmp_path: Path) -> None:
    _topology, lab_dir, left = _lab_of_another_id(tmp_path)
    rc, _out, err = _run("lab", "down", str(DEFAULT_TOPOLOGY), "--lab-dir", str(lab_dir))
    assert rc == 2
    assert "holds lab 'other', not 'demo'" in err
    assert left.exists()


def test_recorded_topology_is_none_without_a_lab_and_the_path_with_one(tmp_path: Path) -> None:
    assert recorded_topology(None) is None
    assert recorded_topology(tmp_path / "empty") is None        # no state file: no lab there
    topology, lab_dir, _left = _lab_of_another_id(tmp_path)
    assert recorded_topology(lab_dir) == topology
