"""The local provider end to end as an unprivileged user: up, healthy with readings, a second
`up` that converges with changed=0, status, down leaving no process behind."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import tempfile
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
        # services run as the unprivileged user, under start-stop-daemon, with pidfiles
        pidfiles = sorted((lab_dir / "hosts").glob("*/run/*.pid"))
        assert len(pidfiles) == 4 + 2 + 2 + 1       # nodes, gateways, meter processes, prometheus
        if user:
            uid = pwd.getpwnam(user).pw_uid
            for pidfile in pidfiles:
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
    finally:
        down = lab_cmd("down", topology, "--lab-dir", str(lab_dir), user=user, env=env,
                       binary=user_carbonlab, timeout_s=300)
    assert down.returncode == 0, down.stdout + down.stderr
    assert leftovers("tsmall", lab_dir) == []
