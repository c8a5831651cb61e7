"""The local provider end to end as an unprivileged user: up, healthy with readings, a second
`up` that converges with changed=0, status, a SIGKILLed gateway that its supervisor brings back
by itself, down leaving no process behind."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.lab.conftest import SMALL, USER, lab_cmd, leftovers


@pytest.fixture
def lab_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="cl", dir="/tmp"))
    path.chmod(0o755)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_local_lab_as_unprivileged_user(user_carbonlab: Path, lab_dir: Path) -> None:
    user = USER if os.geteuid() == 0 else None
    env = {"HOME": str(lab_dir), "PATH": f"{user_carbonlab.parent}:/usr/sbin:/usr/bin:/sbin:/bin"}
    topology = str(SMALL)
    try:
        up = lab_cmd("up", topology, "--lab-dir", str(lab_dir), "--provider", "local",
                     "--health-timeout", "240", user=user, env=env, binary=user_carbonlab, timeout_s=900)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        assert "healthy on local" in up.stdout
        # services run as the unprivileged user, each under its supervisor, with pidfiles
        supervisors = sorted((lab_dir / "hosts").glob("*/run/*.supervisor.pid"))
        pidfiles = sorted(set((lab_dir / "hosts").glob("*/run/*.pid")) - set(supervisors))
        # nodes, their consoles, gateways, meter processes, prometheus
        assert len(pidfiles) == 4 + 4 + 2 + 2 + 1
        assert len(supervisors) == len(pidfiles)
        if user:
            uid = pwd.getpwnam(user).pw_uid
            for pidfile in pidfiles + supervisors:
                pid = int(pidfile.read_text())
                assert os.stat(f"/proc/{pid}").st_uid == uid, pidfile
        again = lab_cmd("up", topology, "--lab-dir", str(lab_dir), user=user, env=env,
                        binary=user_carbonlab, timeout_s=900)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        assert re.search(r"changed=0\)", again.stdout), again.stdout[-2000:]
        status = lab_cmd("status", topology, "--lab-dir", str(lab_dir), user=user, env=env,
                         binary=user_carbonlab, timeout_s=120)
        assert status.returncode == 0
        assert "health: healthy" in status.stdout, status.stdout
        assert re.search(r"^n1 .* yes ", status.stdout, re.M)
        # a crashed gateway comes back by itself, as under systemd's Restart=on-failure
        gw_pidfile = lab_dir / "hosts" / "plant" / "run" / "gateway-gw-e.pid"
        killed = int(gw_pidfile.read_text())
        os.kill(killed, signal.SIGKILL)
        back = _new_pid(gw_pidfile, killed, timeout_s=120)
        assert "gateway" in Path(f"/proc/{back}/cmdline").read_bytes().decode(errors="replace")
        log = (lab_dir / "hosts" / "plant" / "log" / "gateway-gw-e.log").read_text()
        assert f'"event":"exit","pid":{killed},"rc":null,"signal":"SIGKILL"' in log
        assert '"event":"restart"' in log
    finally:
        down = lab_cmd("down", topology, "--lab-dir", str(lab_dir), user=user, env=env,
                       binary=user_carbonlab, timeout_s=300)
    assert down.returncode == 0, down.stdout + down.stderr
    assert leftovers("tsmall", lab_dir) == []


def _new_pid(pidfile: Path, old: int, timeout_s: float) -> int:
    """The PID in `pidfile` once it names a live process other than `old`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            pid = int(pidfile.read_text())
        except (OSError, ValueError):
            pid = old
        if pid != old and Path(f"/proc/{pid}").exists():
            return pid
        time.sleep(0.2)
    raise AssertionError(f"{pidfile} named no new process within {timeout_s} s")
