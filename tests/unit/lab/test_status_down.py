"""`lab status` of a lab whose services are down says why where the host's log tells (the
supervisor gave up, the service exited and is not restarted) and how to start them again.

An outsider's find: five kills of a gateway within a minute made its supervisor give up (as
systemd's start limit does); `lab status` said only "no answer", and nothing said that `lab up`
starts it again. The supervisors here are real (`carbonlab supervise`), writing the services'
logs where the local provider keeps them; nothing listens on the lab's ports."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from carbonlab.lab.errors import StepError
from carbonlab.lab.lifecycle import Lab
from carbonlab.lab.names import client_service, gateway_service, node_service
from carbonlab.lab.supervisor import last_word, supervisor_gone
from carbonlab.lab.topology import DEFAULT_TOPOLOGY, load

CARBONLAB = Path(sys.executable).parent / "carbonlab"


def _supervise(lab: Lab, host: str, service: str, command: str, *policy: str) -> None:
    """Run a real supervisor of `command` until it ends by itself, its log where the lab reads it."""
    log_dir = lab.provider.service_log(host)
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir.parent / "run").mkdir(exist_ok=True)
    with open(log_dir / f"{service}.log", "ab") as out:
        done = subprocess.run([str(CARBONLAB), "supervise", "--name", service, "--run-dir",
                               str(log_dir.parent / "run"), "--restart-s", "0", *policy, "--",
                               "/bin/sh", "-c", command], stdout=out, stderr=subprocess.STDOUT, timeout=60)
    assert done.returncode in (0, 1)


def _lab(tmp_path: Path) -> tuple[Lab, Path]:
    raw = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    raw["lab_id"] = "tdown"
    raw["local"]["base_port"] = 26000          # nothing of this machine's listens there
    topology = tmp_path / "topology.yaml"
    topology.write_text(yaml.safe_dump(raw))
    lab_dir = tmp_path / "lab"
    lab_dir.mkdir()
    (lab_dir / "state.json").write_text(json.dumps({
        "lab_id": "tdown", "provider": "local", "topology": str(topology), "phase": "healthy",
        "resources": [], "facts": {}}) + "\n")
    return Lab(load(topology), lab_dir, progress=lambda _line: None), topology


def test_status_says_why_a_service_is_down_and_how_to_start_it(tmp_path: Path) -> None:
    lab, topology = _lab(tmp_path)
    _supervise(lab, "gw-a", gateway_service("gw-a"),
               "echo 'carbonlab: error: gateway.db: not a database' >&2; exit 3", "--start-limit-burst", "2")
    _supervise(lab, "node2", node_service("n2"), "exit 0")
    # a log of the service's own lines only, and one that is not there: nothing to add
    (lab.provider.service_log("node3") / f"{node_service('n3')}.log").parent.mkdir(parents=True)
    (lab.provider.service_log("node3") / f"{node_service('n3')}.log").write_bytes(
        b'{"level":"info","msg":"started"}\n\xff\xfe not json\n')

    facts = lab.facts()
    assert facts is not None
    errors = {**{n.member: n.error for n in facts.nodes}, **{g.gateway: g.error for g in facts.gateways}}
    gave_up = ("its supervisor gave up: start limit: 2 starts within 60 s; "
               "its last error: carbonlab: error: gateway.db: not a database")
    assert errors["gw-a"] == f"no answer; {gave_up}"
    assert errors["n2"] == "no answer; exited with rc 0, clean exit: not restarted"
    assert errors["n1"] == errors["n3"] == errors["gw-b"] == "no answer"

    out = subprocess.run([str(CARBONLAB), "lab", "status", str(topology), "--lab-dir", str(lab.lab_dir)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr          # not healthy: something is down
    lines = out.stdout.splitlines()
    assert lines[0].startswith("lab tdown  provider local  phase healthy (recorded)  now NOT HEALTHY  dir ")
    assert any(line.startswith("gw-a") and line.endswith(f"(no answer; {gave_up})") for line in lines)
    assert lines[-2].startswith("health: not healthy (nodes not answering: n1, n2, n3")
    assert lines[-1] == (f"`{CARBONLAB} lab up {topology} --lab-dir {lab.lab_dir}` starts again what is "
                         "down (up converges)")

    # a failed step of `lab up` on that host says the same: a service that would not start
    failed = StepError("gw-a", "Wait for the service to listen", "gateway-gw-a did not listen", "site.log")
    assert str(lab._explained(failed)) == ("host gw-a: step 'Wait for the service to listen' failed: "
                                           f"gateway-gw-a did not listen; gateway-gw-a: {gave_up} "
                                           "(log: site.log)")
    quiet = StepError("node1", "health", "nodes not answering: n1", "x")
    assert lab._explained(quiet) is quiet                          # nothing in its logs to add


def test_status_says_a_killed_supervisor_is_gone(tmp_path: Path) -> None:
    """An outsider's find: `pkill -f` of a service's command line also matches its supervisor's
    (which names it); the supervisor SIGKILLed leaves no last word, so `lab status` said only "no
    answer". Its status file, which it removes whenever it ends on its own, still names it."""
    lab, _topology = _lab(tmp_path)
    service = node_service("n2")
    log_dir = lab.provider.service_log("node2")
    run_dir = log_dir.parent / "run"
    log_dir.mkdir(parents=True)
    run_dir.mkdir()
    status_file = run_dir / f"{service}.supervisor.json"
    with open(log_dir / f"{service}.log", "ab") as out:
        supervisor = subprocess.Popen([str(CARBONLAB), "supervise", "--name", service, "--run-dir",
                                       str(run_dir), "--", "/bin/sh", "-c", "exec sleep 600"],
                                      stdout=out, stderr=subprocess.STDOUT)
    child: int | None = None
    try:
        for _ in range(600):
            child_pidfile = run_dir / f"{service}.pid"
            if status_file.exists() and child_pidfile.exists():
                child = int(child_pidfile.read_text())
                break
            time.sleep(0.05)
        assert child is not None, "the supervisor did not start its service within 30 s"
        facts = lab.facts()
        assert facts is not None
        assert {n.member: n.error for n in facts.nodes}["n2"] == "no answer"   # it runs: no word
        supervisor.kill()
        supervisor.wait(timeout=30)
    finally:
        supervisor.kill()
        supervisor.wait(timeout=30)
        if child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
    facts = lab.facts()
    assert facts is not None
    assert {n.member: n.error for n in facts.nodes}["n2"] == (
        f"no answer; its supervisor (pid {supervisor.pid}) is gone without a word (killed?), "
        "so nothing restarts the service")
    assert supervisor_gone(run_dir, node_service("n3")) is None      # no status file: no word


def test_last_word_reads_the_supervisors_latest_line(tmp_path: Path) -> None:
    log = tmp_path / f"{client_service('n1')}.log"
    assert last_word(log) is None                                  # no log
    sup = '{"t":1.0,"supervisor":"client-n1",'
    log.write_text(sup + '"event":"start","pid":5,"restarts":0}\n')
    assert last_word(log) is None                                  # started: nothing to explain
    with log.open("a") as fh:
        fh.write(sup + '"event":"hold","child":5}\n')
        fh.write(sup + '"event":"exit","pid":5,"rc":null,"signal":"SIGKILL",'
                 '"action":"held: not restarted"}\n')
        fh.write('{"level":"error","msg":"the service\'s own last line"}\n')
    assert last_word(log) == "exited by SIGKILL, held: not restarted"
    with log.open("a") as fh:
        fh.write(sup + '"event":"exit","pid":6,"rc":2,"signal":null,"action":"restart in 2 s"}\n')
    assert last_word(log) is None                                  # coming back by itself
    with log.open("a") as fh:
        fh.write(sup + '"event":"stop","reason":"SIGTERM","child":7}\n' + sup + '"event":"stopped"}\n')
    assert last_word(log) == "stopped by its supervisor"
    with log.open("a") as fh:                                      # beyond the tail it reads
        fh.write('{"level":"info","msg":"' + "x" * 70_000 + '"}\n')
    assert last_word(log) is None


def test_last_word_adds_the_last_error_of_the_services_last_run(tmp_path: Path) -> None:
    log = tmp_path / "node-n1.log"
    sup = '{"t":1.0,"supervisor":"node-n1",'
    give_up = sup + '"event":"give_up","reason":"start limit: 5 starts within 60 s"}\n'
    log.write_text(sup + '"event":"start","pid":5,"restarts":0}\n'
                   '{"level":"error","msg":"ledger: written by a newer carbonlab"}\n'
                   + sup + '"event":"exit","pid":5,"rc":2,"signal":null,"action":"restart in 2 s"}\n'
                   + sup + '"event":"restart","pid":6,"restarts":1}\n'
                   '{"level":"info","msg":"node n1 starting"}\n'
                   'Traceback (most recent call last):\n  File "x", line 1\n'
                   'OSError: [Errno 28] No space left\n'
                   + sup + '"event":"exit","pid":6,"rc":1,"signal":null,"action":"restart in 2 s"}\n'
                   + give_up)
    assert last_word(log) == ("its supervisor gave up: start limit: 5 starts within 60 s; "
                              "its last error: OSError: [Errno 28] No space left")
    log.write_text(sup + '"event":"restart","pid":6,"restarts":1}\n'
                   '{"level":"critical","msg":"' + "m" * 300 + '"}\n{"level":"info","msg":"bye"}\n'
                   + sup + '"event":"exit","pid":6,"rc":1,"signal":null,"action":"restart in 2 s"}\n'
                   + give_up)
    assert last_word(log) == ("its supervisor gave up: start limit: 5 starts within 60 s; its last error: "
                              + "m" * 240)
    log.write_text('{"level":"error","msg":"an older run"}\n'
                   + sup + '"event":"restart","pid":7,"restarts":2}\n'
                   '{"level":"info","msg":"fine"}\n' + give_up)
    assert last_word(log) == "its supervisor gave up: start limit: 5 starts within 60 s"


GROUP_CRASH = """
class LedgerError(Exception):
    pass

def open_ledger():
    raise LedgerError("ledger.sqlite: made for genesis 5f88, not this genesis a520")

def run():
    try:
        open_ledger()
    except LedgerError as exc:
        raise ExceptionGroup("unhandled errors in a TaskGroup", [exc]) from None

if {nested}:
    raise ExceptionGroup("outer", [ValueError("{first}"), ExceptionGroup("inner", [*{more}])])
run()
"""


@pytest.mark.parametrize(("nested", "error"), [
    (False, "LedgerError: ledger.sqlite: made for genesis 5f88, not this genesis a520"),
    (True, "KeyError: 'n9'"),
])
def test_the_last_error_of_an_exception_group_is_its_exception_line(
        tmp_path: Path, nested: bool, error: str) -> None:
    """An outsider's find: `lab up` and `lab status` gave "its last error:
    +------------------------------------", the closing line of a real exception group's
    traceback, instead of the exception. Here the traceback is a real one, by Python."""
    code = GROUP_CRASH.format(first="boom", more="[OSError(28, 'No space left'), KeyError('n9')]",
                              nested=nested)
    crash = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert crash.returncode == 1
    assert crash.stderr.rstrip().splitlines()[-1].strip().startswith("+---")    # what it used to show
    log = tmp_path / "node-n1.log"
    sup = '{"t":1.0,"supervisor":"node-n1",'
    log.write_text(sup + '"event":"start","pid":5,"restarts":0}\n' + crash.stderr
                   + sup + '"event":"exit","pid":5,"rc":1,"signal":null,"action":"restart in 2 s"}\n'
                   + sup + '"event":"give_up","reason":"start limit: 5 starts within 60 s"}\n')
    assert last_word(log) == ("its supervisor gave up: start limit: 5 starts within 60 s; "
                              f"its last error: {error}")
