"""The README's `demo` as a new user has it (issue #11 items 9 and 11): an unprivileged user on a
machine where Prometheus is not installed. The prometheus role must say plainly that it is
skipped and why, the lab must come up without it, `lab watch` must fall back to the nodes' APIs,
and the teardown command the demo prints must work as printed, from another directory, with no
`carbonlab` on PATH.

"Not installed" is made honestly for the user: the role looks Prometheus up on the host's PATH,
and the user's PATH holds every program of /usr/bin except prometheus (the file stays, for the
other tests of this machine). Without root the user cannot install it either."""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.lab.conftest import SMALL, USER, lab_cmd, leftovers, topology_copy

LAB_ID = "opsd"
BASE_PORT = 26100

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture
def home() -> Iterator[Path]:
    """A directory of the user's: the topology, the lab, and a bin/ of /usr/bin without prometheus."""
    path = Path(tempfile.mkdtemp(prefix="cl", dir="/tmp"))
    try:
        bin_dir = path / "bin"
        bin_dir.mkdir()
        for program in Path("/usr/bin").iterdir():
            if not program.name.startswith("prometheus"):
                (bin_dir / program.name).symlink_to(program)
        for sub in (path, bin_dir):
            sub.chmod(0o755)
        if os.geteuid() == 0:
            entry = pwd.getpwnam(USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _as_user(argv: list[str], env: dict[str, str], cwd: Path,
             timeout_s: float) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        argv = ["runuser", "-u", USER, "--", "env", "-C", str(cwd), *(f"{k}={v}" for k, v in env.items()),
                *argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False, cwd=cwd,
                          env=env)


def test_demo_as_unprivileged_user_without_prometheus(user_carbonlab: Path, home: Path) -> None:
    user = USER if os.geteuid() == 0 else None
    path = str(home / "bin")       # a user's PATH: no sbin folder (start-stop-daemon is in /usr/sbin)
    env = {"HOME": str(home), "PATH": path}
    assert shutil.which("prometheus", path=path) is None
    assert shutil.which("carbonlab", path=path) is None
    topology = topology_copy(SMALL, home / "t.yaml", lab_id=LAB_ID,
                             local={"base_port": BASE_PORT, "ports_per_host": 10})
    topology.chmod(0o644)
    lab_dir = home / "lab"
    try:
        demo = lab_cmd("demo", str(topology), "--lab-dir", str(lab_dir), "--duration", "1",
                       user=user, env=env, binary=user_carbonlab, timeout_s=1200)
        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
        assert "obs: Prometheus is SKIPPED on obs: `prometheus` is not installed here" in demo.stdout
        assert "cannot be installed without root" in demo.stdout
        assert "lab healthy after" in demo.stdout
        assert not list(lab_dir.glob("hosts/*/run/prometheus.pid"))
        watch = lab_cmd("watch", str(topology), "--lab-dir", str(lab_dir), "--count", "1",
                        user=user, env=env, binary=user_carbonlab, timeout_s=300)
        assert watch.returncode == 0, watch.stdout + watch.stderr
        assert "NO PROMETHEUS: lab up skipped it (obs: `prometheus` is not installed there" in watch.stdout
        status = lab_cmd("status", str(topology), "--lab-dir", str(lab_dir),
                         user=user, env=env, binary=user_carbonlab, timeout_s=300)
        assert "prometheus: not installed (lab up skipped it: " in status.stdout, status.stdout
        assert "NOT READY" not in status.stdout
        lines = demo.stdout.splitlines()
        teardown = shlex.split(lines[lines.index("Tear it down with:") + 1])
        assert teardown == [str(user_carbonlab), "lab", "down", str(topology), "--lab-dir", str(lab_dir)]
        down = _as_user(teardown, env, Path("/"), timeout_s=300)
        assert down.returncode == 0, down.stdout + down.stderr
        assert leftovers(LAB_ID, lab_dir) == []
        assert not (lab_dir / "prometheus-skipped.txt").exists()
    finally:
        lab_cmd("down", str(topology), "--lab-dir", str(lab_dir), user=user, env=env,
                binary=user_carbonlab, timeout_s=300)
    assert leftovers(LAB_ID, lab_dir) == []
