"""The venv pack hosts unpack: built for real (the hosts' interpreter, pip, compileall, tar) from
carbonlab's own wheel, checked to run `carbonlab --version` before it is cached, and never reused
from the cache unless it was checked (issue #11 item 13)."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import carbonlab
from carbonlab.lab.errors import StepError
from carbonlab.lab.wheelhouse import HOST_PYTHON, build_venv_pack, checked_mark, project_root

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(deps, own, pip wheel name): a deps layer of pip alone (carbonlab --version needs no
    dependency) and carbonlab's own wheel built from this source tree."""
    root = project_root()
    if root is None or not Path(HOST_PYTHON).exists():
        pytest.skip(f"needs a source tree and the hosts' interpreter {HOST_PYTHON}")
    base = tmp_path_factory.mktemp("wheels")
    deps, own = base / "deps", base / "own"
    for argv, dest in ((["--no-deps", str(root)], own), (["pip"], deps)):
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(dest), *argv],
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
    return deps, own, next(deps.glob("pip-*.whl")).name


def _version_of_pack(pack: Path, into: Path) -> subprocess.CompletedProcess[str]:
    """Unpack as a host does and run the pack's carbonlab --version through its interpreter."""
    into.mkdir()
    with tarfile.open(pack) as tar:
        tar.extractall(into, filter="fully_trusted")
    return subprocess.run([str(into / "bin" / "python"), "-I", str(into / "bin" / "carbonlab"), "--version"],
                          capture_output=True, text=True, timeout=120, check=False, cwd=into)


def _stray_metadata(where: Path) -> Path:
    """A carbonlab.egg-info such as `pip install -e .` leaves in a source tree: pip takes it for
    an installed carbonlab of the same version."""
    info = where / "carbonlab.egg-info"
    info.mkdir(parents=True)
    (info / "PKG-INFO").write_text(
        f"Metadata-Version: 2.1\nName: carbonlab\nVersion: {carbonlab.__version__}\n")
    return where


def test_pack_built_with_a_stray_egg_info_on_pythonpath_runs_carbonlab(
        wheels: tuple[Path, Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deps, own, pip = wheels
    monkeypatch.setenv("PYTHONPATH", str(_stray_metadata(tmp_path / "src")))
    pack = build_venv_pack(tmp_path / "house", deps, own, "d1", pip, tmp_path / "wheelhouse.log")
    done = _version_of_pack(pack, tmp_path / "host")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"carbonlab {carbonlab.__version__}"
    assert checked_mark(pack).read_text().strip() == f"carbonlab {carbonlab.__version__}"
    script = (tmp_path / "host" / "bin" / "carbonlab").read_text()
    assert script.startswith("#!/opt/carbonlab/venv/bin/python")


def test_pack_in_which_pip_installed_nothing_is_refused(wheels: tuple[Path, Path, str],
                                                        tmp_path: Path) -> None:
    deps, own, pip = wheels
    house, log = tmp_path / "house", tmp_path / "wheelhouse.log"
    build_venv_pack(house, deps, own, "d1", pip, log)      # makes the deps layer
    # The layer now looks as if carbonlab were installed in it: pip skips the wheel.
    site = next((house / f"venv-{deps.name}" / "lib").glob("python3*/site-packages"))
    _stray_metadata(site)
    with pytest.raises(StepError) as raised:
        build_venv_pack(house, deps, own, "d2", pip, log)
    assert "pip installed nothing" in str(raised.value)
    assert str(log) in str(raised.value)
    assert not (house / "venv-d2.tar.gz").exists()
    assert not checked_mark(house / "venv-d2.tar.gz").exists()


def test_unchecked_pack_in_the_cache_is_built_again(wheels: tuple[Path, Path, str], tmp_path: Path) -> None:
    deps, own, pip = wheels
    house = tmp_path / "house"
    house.mkdir()
    # What an earlier build cached: a venv with no carbonlab in it, and no checked mark.
    empty = tmp_path / "empty"
    subprocess.run([HOST_PYTHON, "-m", "venv", "--without-pip", str(empty)], check=True, timeout=120)
    with tarfile.open(house / "venv-d1.tar.gz", "w:gz") as tar:
        tar.add(empty, arcname=".")
    pack = build_venv_pack(house, deps, own, "d1", pip, tmp_path / "wheelhouse.log")
    done = _version_of_pack(pack, tmp_path / "host")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"carbonlab {carbonlab.__version__}"
