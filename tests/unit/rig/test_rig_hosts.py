"""Host control on real processes: facts and every operation, through a plain shell and through
pyinfra's Python API (its @local connector; netns and ssh hosts use its ssh connector)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from carbonlab.rig.errors import HostError
from carbonlab.rig.hosts.base import parse_service
from carbonlab.rig.hosts.service import InPlace, ServiceHost
from carbonlab.rig.hosts.shells import LocalShell, PyinfraShell
from tests.unit.rig.conftest import end_services, sleeper_argv
from tests.waiting import wait_until


@pytest.fixture(params=["shell", "pyinfra", "in-place"])
def any_host(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceHost]:
    """"in-place": files read where the rig sees them (a local host; a netns host through /proc)."""
    shell = PyinfraShell("h1", "@local") if request.param == "pyinfra" else LocalShell("h1")
    h = ServiceHost("h1", shell, tmp_path / "run", tmp_path / "log",
                    in_place=(lambda: InPlace(Path("/"))) if request.param == "in-place" else None)
    try:
        yield h
    finally:
        end_services(tmp_path / "run", str(tmp_path))
        h.close()


def test_parse_service_states() -> None:
    assert parse_service("x", "nopidfile\n").state == "absent"
    assert parse_service("x", "pid 12\nstat \ncmd \ncwd \n").state == "stopped"
    stat = "12 (python3 a) S 1 12 12 0 -1"
    facts = parse_service("x", f"pid 12\nstat {stat}\ncmd /usr/bin/python3\x1f-c\x1fpass\x1f\ncwd /tmp\n")
    assert (facts.state, facts.pid, facts.cwd) == ("running", 12, "/tmp")
    assert facts.argv == ("/usr/bin/python3", "-c", "pass")
    assert not facts.supervised
    assert parse_service("x", f"pid 12\nstat {stat.replace(' S ', ' T ')}\ncmd a\ncwd /\n").state == "paused"
    assert parse_service("x", f"pid 12\nstat {stat.replace(' S ', ' Z ')}\ncmd \ncwd \n").state == "stopped"


def test_parse_supervisor_states() -> None:
    sup = "11 (cl-supervise) S 1 11 11 0 -1"
    status = ('{"name":"x","pid":11,"started":5,"state":"held","child":null,"restarts":2,'
              '"argv":["/bin/sleep","9"]}')
    scmd = "/c\x1fsupervise\x1f--\x1f/bin/sleep\x1f9"
    held = parse_service("x", f"nopidfile\nspid 11\nsstat {sup}\nscmd {scmd}\nsstatus {status}\n")
    assert (held.state, held.supervisor_pid, held.supervisor_state) == ("absent", 11, "held")
    assert held.supervisor_argv == ("/c", "supervise", "--", "/bin/sleep", "9")
    assert held.supervised
    starting = parse_service("x", f"nopidfile\nspid 11\nsstat {sup}\nscmd /c\nsstatus \n")
    assert starting.supervisor_state == "running"             # alive, no status written yet
    gone = parse_service("x", f"nopidfile\nspid 11\nsstat \nscmd \nsstatus {status}\n")
    assert (gone.supervisor_pid, gone.supervisor_state) == (None, "")


def test_service_lifecycle(any_host: ServiceHost, tmp_path: Path) -> None:
    h = any_host
    assert h.service("svc").state == "absent"
    started = h.start("svc", sleeper_argv(tmp_path), str(tmp_path))
    assert started.running
    assert started.supervisor_state == "running"
    assert started.argv == sleeper_argv(tmp_path)
    assert started.cwd == str(tmp_path)
    assert h.pause("svc").state == "paused"
    assert h.resume("svc").state == "running"
    restarted = h.restart("svc")
    assert restarted.running
    assert restarted.pid != started.pid
    assert restarted.supervisor_pid != started.supervisor_pid
    h.kill("svc")                                     # a crash: its supervisor brings it back
    back = h._wait("svc", lambda f: f.running and f.pid != restarted.pid, "svc to come back")
    assert back.argv == started.argv
    assert back.supervisor_pid == restarted.supervisor_pid
    assert h.hold("svc").supervisor_state == "held"
    down = h.kill("svc")                              # held: stays down
    assert not down.running
    assert down.supervisor_state == "held"
    with pytest.raises(HostError, match="not running") as gone:     # the error says how it ended
        h.pause("svc")
    assert '"action":"held: not restarted"' in str(gone.value)
    assert '"signal":"SIGKILL"' in str(gone.value)
    assert h.release("svc").running
    stopped = h.stop("svc")
    assert (stopped.state, stopped.supervised) == ("absent", False)
    with pytest.raises(HostError, match="not running"):
        h.pause("svc")
    with pytest.raises(HostError, match="no supervisor running"):
        h.hold("svc")
    again = h.restart("svc")          # a stopped service restarts from the command line last seen
    assert again.running
    assert again.argv == started.argv
    wait_until(lambda: "sleeper up" in h.logs("svc"), 20, "the restarted sleeper logged 'sleeper up'",
               poll_s=0.1)
    assert "sleeper up" in h.logs("svc")
    assert '"event":"restart"' in h.logs("svc")


def test_tamper_and_read(any_host: ServiceHost, tmp_path: Path) -> None:
    target = tmp_path / "data.bin"
    target.write_bytes(bytes(range(32)))
    old = any_host.tamper(target, 4, b"\xff\xfe\x00")
    assert old == bytes([4, 5, 6])
    assert target.read_bytes()[:8] == bytes([0, 1, 2, 3, 0xFF, 0xFE, 0, 7])
    assert any_host.read_bytes(target, 4, 3) == b"\xff\xfe\x00"
    with pytest.raises(HostError, match="no 4 bytes"):
        any_host.tamper(target, 30, b"abcd")


def test_bad_signal_and_unknown_restart(host: ServiceHost) -> None:
    with pytest.raises(HostError, match="never saw"):
        host.restart("ghost")
    with pytest.raises(HostError, match="not one of"):
        host.signal("ghost", "USR9")


def test_fetch_whole_and_since(any_host: ServiceHost, tmp_path: Path) -> None:
    log = tmp_path / "truth.jsonl"
    log.write_text('{"t":100,"a":1}\n{"t":200,"a":2}\n{"t":300,"a":3}\n')
    assert any_host.fetch(log) == log.read_bytes()
    assert any_host.fetch(log, since_field=("t", 200)) == b'{"t":200,"a":2}\n{"t":300,"a":3}\n'
    with pytest.raises(HostError, match="no such file"):
        any_host.fetch(tmp_path / "absent.jsonl")


def test_in_place_fetch_leaves_out_a_line_being_written(tmp_path: Path) -> None:
    h = ServiceHost("h1", LocalShell("h1"), tmp_path / "run", tmp_path / "log",
                    in_place=lambda: InPlace(tmp_path))
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "truth.jsonl").write_text('{"t":100,"a":1}\n{"t":200,"a":2}\n{"t":300,"a"')
    assert h.fetch(Path("/var/truth.jsonl"), since_field=("t", 150)) == b'{"t":200,"a":2}\n'


def test_snapshot_of_a_live_sqlite_database(any_host: ServiceHost, tmp_path: Path) -> None:
    import sqlite3
    import sys
    live = sqlite3.connect(tmp_path / "live.sqlite")
    live.execute("PRAGMA journal_mode=WAL")
    live.execute("CREATE TABLE t (x)")
    live.execute("INSERT INTO t VALUES (42)")
    live.commit()   # still in the WAL, not yet checkpointed into the main file
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(any_host.snapshot_sqlite(sys.executable, tmp_path / "live.sqlite"))
    assert sqlite3.connect(copy).execute("SELECT x FROM t").fetchall() == [(42,)]
    live.close()
