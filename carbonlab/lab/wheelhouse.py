"""The wheelhouse: carbonlab and every dependency as wheels, built on the controller.

Lab hosts have no route to any registry (like an air-gapped plant), so the controller
runs `pip wheel` once into `<source tree>/var/wheelhouse/<digest>/` (the digest covers
the source tree and pyproject.toml, so a code change makes a new one and an unchanged
tree reuses the cache, shared by every lab of this checkout; a lock serialises two
builds), adds pip itself, and packs it into one tar that the `common` role copies to
each host and installs with `pip install --no-index --find-links`.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import carbonlab
from carbonlab.lab.errors import StepError
from carbonlab.lab.proc import run


@dataclass(frozen=True)
class Wheelhouse:
    tar: Path
    digest: str
    pip_wheel: str        # file name of pip's wheel inside the tar (hosts run pip from it)


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


def build(log: Path) -> Wheelhouse:
    root = project_root()
    if root is None:
        raise StepError("controller", "wheelhouse", "carbonlab is not installed from a source tree "
                        "(no pyproject.toml next to the package); cannot build wheels")
    digest = source_digest(root)
    base = root / "var" / "wheelhouse"
    base.mkdir(parents=True, exist_ok=True)
    with open(base / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(root, base, digest, log)


def _build(root: Path, base: Path, digest: str, log: Path) -> Wheelhouse:
    out = base / digest
    tar = base / f"wheelhouse-{digest}.tar"
    if not tar.exists():
        out.mkdir(parents=True, exist_ok=True)
        for what in ([str(root)], ["pip"]):
            done = run([sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(out), *what],
                       timeout_s=900, check=False)
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "a") as fh:
                fh.write(done.stdout + done.stderr)
            if done.returncode != 0:
                raise StepError("controller", "wheelhouse", f"pip wheel {what[0]} failed", str(log))
        partial = tar.with_suffix(".partial")
        with tarfile.open(partial, "w") as pack:
            for wheel in sorted(out.glob("*.whl")):
                pack.add(wheel, arcname=wheel.name)
        partial.replace(tar)
        _prune(base, keep=3)
    tar.touch()      # most recently used: the last to be pruned
    with tarfile.open(tar) as pack:
        names = pack.getnames()
    pip = next((n for n in names if n.startswith("pip-")), None)
    if pip is None:
        raise StepError("controller", "wheelhouse", f"{tar} holds no pip wheel", str(log))
    return Wheelhouse(tar=tar, digest=digest, pip_wheel=pip)


def _prune(base: Path, keep: int) -> None:
    """Keep the `keep` most recently used wheelhouses; a busy tree would fill the disk."""
    tars = sorted(base.glob("wheelhouse-*.tar"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in tars[keep:]:
        digest = old.stem.removeprefix("wheelhouse-")
        shutil.rmtree(base / digest, ignore_errors=True)
        old.unlink(missing_ok=True)
