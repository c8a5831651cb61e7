"""The lab state file: the lifecycle's transitions, records that survive a crash, the lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carbonlab.lab.errors import StateError, TransitionError
from carbonlab.lab.resources import HostProcess, LabDir, Resource
from carbonlab.lab.state import TRANSITIONS, LabState, Phase, locked

ALLOWED = sorted((a.value, b.value) for a, b in TRANSITIONS)
FORBIDDEN = sorted((a.value, b.value) for a in Phase for b in Phase
                   if (a, b) not in TRANSITIONS and b != Phase.ABSENT)


def test_the_documented_path_is_allowed() -> None:
    state = LabState(path=Path("/nonexistent/state.json"))
    state.save = lambda: None  # type: ignore[method-assign]
    for phase in (Phase.HOSTS_UP, Phase.PROVISIONED, Phase.HEALTHY, Phase.HOSTS_UP):
        state.advance(phase)
    assert state.phase == Phase.HOSTS_UP


@pytest.mark.parametrize(("start", "to"), FORBIDDEN)
def test_a_wrong_transition_raises_a_named_error(tmp_path: Path, start: str, to: str) -> None:
    state = LabState(path=tmp_path / "state.json", lab_id="t", phase=Phase(start))
    with pytest.raises(TransitionError, match=f"cannot go from {start} to {to}"):
        state.advance(Phase(to))
    assert state.phase == Phase(start)
    assert not (tmp_path / "state.json").exists()   # nothing written for a refused move


def test_absent_only_leads_to_hosts_up() -> None:
    assert [t for f, t in ALLOWED if f == "absent"] == ["hosts_up"]


def test_records_are_on_disk_before_the_caller_acts(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = LabState(path=path, lab_id="t", provider="netns")
    entry = state.record(HostProcess("a"))
    on_disk = json.loads(path.read_text())
    assert on_disk["resources"] == [{"kind": "host_process", "host": "a"}]
    state.replace(entry, HostProcess("a", 123, 456))
    state.record(HostProcess("a", 123, 456))     # the same record is not added twice
    again = LabState.load(path)
    assert again.resources == [HostProcess("a", 123, 456)]
    assert json.loads(path.read_text())["resources"] == [
        {"kind": "host_process", "host": "a", "pid": 123, "started": 456}]
    again.forget(again.resources[0])
    assert LabState.load(path).resources == []


def test_unreadable_state_is_a_state_error(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    with pytest.raises(StateError, match="unreadable lab state"):
        LabState.load(path)


def test_one_command_at_a_time(tmp_path: Path) -> None:
    with locked(tmp_path), pytest.raises(StateError, match="another carbonlab command"), locked(tmp_path):
        pass
    with locked(tmp_path):      # released when the first holder is done
        pass


def test_destroy_removes_the_rest_when_one_object_will_not_go(tmp_path: Path) -> None:
    from carbonlab.lab.errors import ProviderError
    from carbonlab.lab.providers.local import LocalProvider
    from carbonlab.lab.topology import DEFAULT_TOPOLOGY, load

    class Stubborn(LocalProvider):
        @classmethod
        def remove(cls, resource: Resource, lab_dir: Path) -> None:
            if resource.label().endswith("stuck"):
                raise ProviderError("busy")
            super().remove(resource, lab_dir)

    state = LabState(path=tmp_path / "state.json", lab_id="t", provider="local")
    dirs = [tmp_path / name for name in ("a", "stuck", "b")]
    for d in dirs:
        d.mkdir()
        state.record(LabDir(str(d)))
    with pytest.raises(ProviderError, match=r"1 object\(s\) could not be removed .*dir .*stuck: busy"):
        Stubborn(load(DEFAULT_TOPOLOGY), tmp_path, state, lambda _line: None).destroy()
    assert [d.exists() for d in dirs] == [False, True, False]
    assert LabState.load(tmp_path / "state.json").resources == [LabDir(str(dirs[1]))]
