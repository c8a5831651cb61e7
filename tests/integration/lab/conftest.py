"""Helpers of the lab integration tests: run `carbonlab lab`, and list what a lab left behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import network_objects

CARBONLAB = Path(sys.executable).parent / "carbonlab"
SMALL = Path(__file__).with_name("small.yaml")


def lab_cmd(*args: str, timeout_s: float = 600, user: str | None = None,
            env: dict[str, str] | None = None, binary: Path = CARBONLAB) -> subprocess.CompletedProcess[str]:
    argv = [str(binary), "lab", *args]
    if user:
        argv = ["runuser", "-u", user, "--", "env", *(f"{k}={v}" for k, v in (env or {}).items()), *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False,
                          env=None if user else env)


def topology_copy(src: Path, dest: Path, **changes: object) -> Path:
    raw = yaml.safe_load(src.read_text())
    raw.update(changes)
    dest.write_text(yaml.safe_dump(raw, sort_keys=False))
    return dest


def lab_subnet(lab_dir: Path) -> str | None:
    """The /24 a netns lab picked (read it before `down`, which forgets it)."""
    try:
        return json.loads((lab_dir / "state.json").read_text())["facts"].get("subnet")
    except (OSError, ValueError, KeyError):
        return None


def leftovers(lab_id: str, lab_dir: Path, subnet: str | None = None) -> list[str]:
    """Every namespace, link, route (of `subnet`), nft table, mount and process of the lab still
    present."""
    mine = (f"netns cl-{lab_id}-", f"link clb{lab_id}", f"link clv{lab_id}")
    found = sorted(o for o in network_objects()
                   if o.startswith(mine) or (o.startswith("nft ") and (o.endswith(f" cl_{lab_id}")
                                                                     or f" clrig_{lab_id}_" in o))
                   or (subnet is not None and o.startswith("route ") and o.endswith(f" {subnet}")))
    mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    found += [f"mount {m.split()[4]}" for m in mounts if str(lab_dir) in m.split()[4]]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        try:
            root = str((proc / "root").readlink())
        except OSError:
            root = ""
        if (str(lab_dir) in cmdline and "pytest" not in cmdline) or str(lab_dir) in root:
            found.append(f"process {proc.name}: {cmdline[:120]} (root {root})")
    return found


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
