"""The before-figure of a bench, measured in the same run on the code of another commit.

`run_at(ref, module, args)` exports `carbonlab/` as it is at git `ref` (of the checkout this
carbonlab runs from) into a temporary directory, puts the current version of the harness
`module` into it (so both sides run the same measurement), and runs it there in a child
process; the child prints one JSON object. Needs a git checkout: an installed wheel has no
history, and the bench then says so instead of printing a before-figure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import carbonlab
from carbonlab.errors import CarbonlabError

ROOT = Path(carbonlab.__file__).resolve().parent.parent


def resolve(ref: str) -> str | None:
    """The commit `ref` names in the checkout carbonlab runs from; None without git or ref."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        return None
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                          capture_output=True, text=True, timeout=30, check=False)
    return done.stdout.strip() or None


def run_at(commit: str, module: str, args: list[str], timeout_s: float = 1800) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="carbonlab-baseline-") as tmp:
        archive = Path(tmp) / "src.tar"
        with archive.open("wb") as out:
            subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit, "carbonlab"],
                           stdout=out, timeout=120, check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        harness = module.replace(".", "/") + ".py"
        shutil.copy(ROOT / harness, Path(tmp) / harness)
        env = {**os.environ, "PYTHONPATH": tmp}
        done = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                              timeout=timeout_s, env=env, cwd=tmp, check=False)
    if done.returncode != 0:
        raise CarbonlabError(f"baseline at {commit[:10]}: {module} failed: {done.stderr.strip()[-400:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
