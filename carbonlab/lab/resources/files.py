"""Directories a lab made under its own directory."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from carbonlab.lab.proc import run
from carbonlab.lab.resources.base import Resource


@dataclasses.dataclass(frozen=True)
class LabDir(Resource, kind="dir", words="directory (and its contents)"):
    """A directory and everything in it; removed only when, resolved, it is inside the lab
    directory (`refusal`): a recorded `/lab/../victim` or a symlink out of the lab is left."""

    path: str

    def paths(self) -> tuple[str, ...]:
        return (self.path,)

    def remove(self, lab_dir: Path) -> None:
        if not self.refusal(lab_dir):
            real = Path(self.path).resolve()
            unmount_under(real)
            shutil.rmtree(real, ignore_errors=True)


def unmount_under(path: Path) -> None:
    """Lazily unmount anything this mount namespace still has under `path` (normally nothing:
    netns host mounts live in the host's own mount namespace and vanish with it)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return
    points = sorted({line.split()[4] for line in lines}, key=len, reverse=True)
    for point in points:
        if Path(point).is_relative_to(path):
            run(["umount", "-l", point], check=False)
