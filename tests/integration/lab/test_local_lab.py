"""The local provider end to end as an unprivileged user: up, healthy with readings, a second
`up` that converges with changed=0, status, a SIGKILLed gateway that its supervisor brings back
by itself, down leaving no process behind."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.lab.conftest import CARBONLAB, SMALL, lab_cmd, leftovers

USER = "nobody"


def _runs_as(user: str, binary: Path) -> bool:
    done = subprocess.run(["runuser", "-u", user, "--", str(binary), "--help"], capture_output=True,
                          timeout=60, check=False)
    return done.returncode == 0


@pytest.fixture(scope="module")
def user_carbonlab() -> Iterator[Path]:
    """The carbonlab command as the unprivileged user would have it installed.

    When the controller's interpreter is not reachable by that user (a pyenv Python under
    /root, as on CI here), build a venv on the system's python3 that loads the same
    site-packages (same Python minor version), with the two entry points the lab needs.
    """
    if os.geteuid() != 0:
        yield CARBONLAB          # already unprivileged: run as ourselves
        return
    if _runs_as(USER, CARBONLAB):
        yield CARBONLAB
        return
    python = shutil.which("python3", path="/usr/bin:/bin")
    major_minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    if python is None or subprocess.run([python, "-c", f"import sys; assert '{major_minor}' == "
                                         "f'{sys.version_info.major}.{sys.version_info.minor}'"],
                                        timeout=30, check=False).returncode != 0:
        pytest.skip(f"no system python{major_minor} to give {USER} a venv with the same packages")
    base = Path(tempfile.mkdtemp(prefix="clvenv", dir="/tmp"))
    try:
        subprocess.run([python, "-m", "venv", "--without-pip", str(base / "venv")], check=True, timeout=120)
        site_packages = next(Path(sys.prefix, "lib").glob("python3*/site-packages"))
        target = next((base / "venv" / "lib").glob("python3*/site-packages"))
        (target / "carbonlab_shim.pth").write_text(
            f"import site; site.addsitedir({str(site_packages)!r})\n")
        for name, module in (("carbonlab", "carbonlab.cli"), ("ansible-playbook", "ansible.cli.playbook")):
            script = base / "venv" / "bin" / name
            script.write_text(f"#!{base / 'venv' / 'bin' / 'python'}\nimport sys\n"
                              f"from {module} import main\nsys.exit(main())\n")
            script.chmod(0o755)
        base.chmod(0o755)
        if not _runs_as(USER, base / "venv" / "bin" / "carbonlab"):
            pytest.skip(f"{USER} cannot run carbonlab even from a venv of the system python")
        yield base / "venv" / "bin" / "carbonlab"
    finally:
        shutil.rmtree(base, ignore_errors=True)


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
        assert len(pidfiles) == 4 + 2 + 2 + 1       # nodes, gateways, meter processes, prometheus
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
