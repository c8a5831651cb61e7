"""The wheelhouse: carbonlab and every dependency as wheels, built on the controller, and the
venv pack made from it.

Theory of operation. Lab hosts have no route to any registry (like an air-gapped plant), so
everything they run is built here, under `<source tree>/var/wheelhouse/`, in layers cached
by a hash of their inputs (a lock serialises two builds; every lab of the checkout shares
them):

- `deps-<key>/`: every dependency's wheel and pip's own; the key covers pyproject.toml and
  the Python version, so it is built once (the slow part, `pip wheel` resolving ~80
  packages) and reused across code changes.
- `own-<digest>/`: carbonlab's own wheel (`pip wheel --no-deps`); the digest covers the
  source tree, so a code change rebuilds only this (a few seconds).
- `wheelhouse-<digest>.tar`: both, for hosts that run pip themselves (`--no-index`).
- `venv-<digest>.tar.gz`: the venv those wheels make, installed offline here once with the
  hosts' interpreter (`/usr/bin/python3`) for the hosts' path (`/opt/carbonlab/venv`),
  byte-compiled for that path, console-script shebangs pointing at it. A host whose
  interpreter has the same path and version unpacks it (a second, not a `pip install` of
  ~80 wheels per host); any other host gets the wheelhouse tar and runs pip. Its deps
  layer (`venv-deps-<key>/`) is kept, so a code change only adds carbonlab to a copy.

A pack is cached only once it has been seen to work: its own `carbonlab --version` runs and
names the version of the wheel put in (`venv-<digest>.checked` holds that line). A pack without
that mark (an older build, an interrupted one) is built again, never handed to hosts. The pip
runs and the check use the pack's interpreter in isolated mode (`-I`), so nothing of this
process's environment leaks in: with PYTHONPATH naming the source tree, pip saw its
`carbonlab.egg-info`, said carbonlab was installed already and put nothing in the pack.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import carbonlab
from carbonlab.lab.errors import StepError
from carbonlab.lab.proc import run

HOST_PYTHON = "/usr/bin/python3"
HOST_VENV = "/opt/carbonlab/venv"


@dataclass(frozen=True)
class Wheelhouse:
    tar: Path
    digest: str
    pip_wheel: str        # file name of pip's wheel inside the tar (hosts run pip from it)
    venv_pack: Path | None = None     # the prebuilt venv, None when HOST_PYTHON is missing here
    venv_python: str = ""             # "3.11": the interpreter version the pack was built with
    venv_target: str = HOST_VENV

    def ansible_vars(self) -> dict[str, str]:
        return {"carbonlab_wheelhouse_tar": str(self.tar), "carbonlab_wheelhouse_digest": self.digest,
                "carbonlab_wheelhouse_pip": self.pip_wheel,
                "carbonlab_venv_pack": str(self.venv_pack or ""),
                "carbonlab_venv_pack_python": HOST_PYTHON,
                "carbonlab_venv_pack_version": self.venv_python,
                "carbonlab_venv_pack_target": self.venv_target}


def project_root() -> Path | None:
    root = Path(carbonlab.__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else None


def source_digest(root: Path) -> str:
    h = hashlib.sha256()
    files = [root / "pyproject.toml", *sorted((root / "carbonlab").rglob("*"))]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def deps_key(root: Path) -> str:
    h = hashlib.sha256((root / "pyproject.toml").read_bytes())
    h.update(f"{sys.version_info[0]}.{sys.version_info[1]}".encode())
    return h.hexdigest()[:16]


def build(log: Path) -> Wheelhouse:
    root = project_root()
    if root is None:
        raise StepError("controller", "wheelhouse", "carbonlab is not installed from a source tree "
                        "(no pyproject.toml next to the package); cannot build wheels")
    base = root / "var" / "wheelhouse"
    base.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(base / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(root, base, source_digest(root), log)


def _pip(argv: list[str], what: str, log: Path, python: str = sys.executable) -> None:
    # A venv's own interpreter runs isolated (-I): no PYTHONPATH, no user site, no working
    # directory on sys.path, so pip sees only what is in that venv.
    isolated = [] if python == sys.executable else ["-I"]
    done = run([python, *isolated, *argv], timeout_s=900, check=False)
    with open(log, "a") as fh:
        fh.write(f"# {' '.join(argv)}\n{done.stdout}{done.stderr}")
    if done.returncode != 0:
        raise StepError("controller", "wheelhouse", f"{what} failed", str(log))


def _build(root: Path, base: Path, digest: str, log: Path) -> Wheelhouse:
    deps = base / f"deps-{deps_key(root)}"
    if not (deps / "complete").exists():
        shutil.rmtree(deps, ignore_errors=True)
        deps.mkdir()
        for what in ([str(root)], ["pip"]):
            _pip(["-m", "pip", "wheel", "-q", "--wheel-dir", str(deps), *what], f"pip wheel {what[0]}", log)
        for own in deps.glob("carbonlab-*.whl"):
            own.unlink()
        (deps / "complete").touch()
    own = base / f"own-{digest}"
    if not (own / "complete").exists():
        shutil.rmtree(own, ignore_errors=True)
        own.mkdir()
        _pip(["-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(own), str(root)],
             "pip wheel carbonlab", log)
        (own / "complete").touch()
    tar = base / f"wheelhouse-{digest}.tar"
    if not tar.exists():
        partial = tar.with_suffix(".partial")
        with tarfile.open(partial, "w") as pack:
            for wheel in sorted([*deps.glob("*.whl"), *own.glob("*.whl")]):
                pack.add(wheel, arcname=wheel.name)
        partial.replace(tar)
    pip = next((w.name for w in deps.glob("pip-*.whl")), None)
    if pip is None:
        raise StepError("controller", "wheelhouse", f"{deps} holds no pip wheel", str(log))
    venv_pack, version = None, ""
    if Path(HOST_PYTHON).exists():
        version = run([HOST_PYTHON, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]).stdout.strip()
        venv_pack = build_venv_pack(base, deps, own, digest, pip, log)
    for path in (tar, deps, own, *([venv_pack, checked_mark(venv_pack)] if venv_pack else [])):
        os.utime(path)    # most recently used: the last to be pruned
    _prune(base, keep=3)
    return Wheelhouse(tar=tar, digest=digest, pip_wheel=pip, venv_pack=venv_pack, venv_python=version)


def checked_mark(pack: Path) -> Path:
    """The file that says `pack` was seen to run its `carbonlab --version`."""
    return pack.with_name(pack.name.removesuffix(".tar.gz") + ".checked")


def build_venv_pack(base: Path, deps: Path, own: Path, digest: str, pip: str, log: Path) -> Path:
    """`base/venv-<digest>.tar.gz`: the deps layer plus carbonlab's wheel from `own`, checked to
    run before it is packed; a cached pack is reused only with its checked mark."""
    pack = base / f"venv-{digest}.tar.gz"
    mark = checked_mark(pack)
    if pack.exists() and mark.exists():
        return pack
    pack.unlink(missing_ok=True)      # never checked: built again, not handed out
    mark.unlink(missing_ok=True)
    layer = base / f"venv-{deps.name}"
    if not (layer / "complete").exists():
        shutil.rmtree(layer, ignore_errors=True)
        run([HOST_PYTHON, "-m", "venv", "--without-pip", str(layer)])
        wheels = sorted(str(w) for w in deps.glob("*.whl") if w.name != pip)
        if wheels:
            _pip([str(deps / pip / "pip"), "install", "-q", "--no-index", "--no-deps", "--no-compile",
                  *wheels], "pip install (venv deps layer)", log,
                 python=str(layer / "bin" / "python"))
        _compile(layer, layer / "lib", log)
        (layer / "complete").touch()
    stage = base / f"stage-{digest}"
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(layer, stage, symlinks=True)
    (stage / "complete").unlink()
    wheel = next(own.glob("carbonlab-*.whl"))
    _pip([str(deps / pip / "pip"), "install", "-q", "--no-index", "--no-deps", "--no-compile",
          str(wheel)], "pip install carbonlab (venv pack)", log, python=str(stage / "bin" / "python"))
    site = next((stage / "lib").glob("python3*/site-packages"))
    _compile(stage, site / "carbonlab", log)
    _relocate(stage)
    said = check_venv(stage, wheel_version(wheel), log)
    partial = pack.with_suffix(".partial")
    run(["tar", "-C", str(stage), "--use-compress-program=gzip -1", "-cf", str(partial), "."],
        timeout_s=300)
    partial.replace(pack)
    mark.write_text(said + "\n")
    shutil.rmtree(stage, ignore_errors=True)
    return pack


def wheel_version(wheel: Path) -> str:
    """The version in a wheel's file name (`carbonlab-0.1.0-py3-none-any.whl` -> `0.1.0`)."""
    return wheel.name.split("-")[1]


def check_venv(venv: Path, version: str, log: Path) -> str:
    """Run the venv's own `carbonlab --version` (its console script, by its own interpreter,
    isolated from this process's environment) and return what it said; StepError when it does
    not run or names another version. The script's `#!` names the hosts' path, so it is run
    through the interpreter rather than executed."""
    script = venv / "bin" / "carbonlab"
    where = f"the venv pack built in {venv}"
    if not script.is_file():
        raise StepError("controller", "wheelhouse",
                        f"{where} has no bin/carbonlab: pip installed nothing (it took carbonlab for "
                        "installed already; see the log)", str(log))
    done = run([str(venv / "bin" / "python"), "-I", str(script), "--version"], timeout_s=120,
               check=False, cwd=venv)
    said = done.stdout.strip()
    with open(log, "a") as fh:
        fh.write(f"# check: {script} --version (exit {done.returncode})\n{done.stdout}{done.stderr[-2000:]}")
    if done.returncode != 0 or said != f"carbonlab {version}":
        raise StepError("controller", "wheelhouse",
                        f"{where} does not run: `carbonlab --version` exited {done.returncode} saying "
                        f"{(said or done.stderr.strip())[-300:]!r}, expected 'carbonlab {version}'",
                        str(log))
    return said


def _compile(venv: Path, what: Path, log: Path) -> None:
    """Byte-compile for the hosts' path (tracebacks name /opt/carbonlab/venv/...); services run
    as an unprivileged user who could not write the .pyc files themselves. A file that does not
    compile (a dependency's test data, say) is left to compile on import, as without a pack."""
    done = run([str(venv / "bin" / "python"), "-m", "compileall", "-q", "-j", "0", "-s", str(venv),
                "-p", HOST_VENV, str(what)], timeout_s=900, check=False)
    with open(log, "a") as fh:
        fh.write(f"# compileall {what} (exit {done.returncode})\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _relocate(stage: Path) -> None:
    """Point the scripts in bin/ at the hosts' venv path instead of the staging directory."""
    old, new = str(stage).encode(), HOST_VENV.encode()
    for script in (stage / "bin").iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        data = script.read_bytes()
        if old in data:
            script.write_bytes(data.replace(old, new))


def _prune(base: Path, keep: int) -> None:
    """Keep the `keep` most recently used builds of each layer; a busy tree would fill the disk."""
    for pattern in ("wheelhouse-*.tar", "venv-*.tar.gz", "own-*", "deps-*", "venv-deps-*", "venv-*.checked"):
        found = sorted(base.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in found[keep:]:
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
    for old in base.glob("[0-9a-f]" * 16):     # the one-directory layout of earlier builds
        shutil.rmtree(old, ignore_errors=True)
