"""The temporary directories `build` writes into, and removing those a killed build left.

`build` writes a report into `.<out>.report-build-<pid>-<random>` beside `--out` and renames
it into place. A build killed outright (SIGKILL, power loss) cannot remove it, so the next
build in the same parent (and `jobs.ReportJobs` after killing a build past its timeout) removes
every such directory whose process is gone. A light module: a server imports it without the
PDF and XLSX libraries.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

TEMP_MARK = ".report-build-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:      # someone else's process
        return True
    return True


def remove_stale(parent: Path) -> tuple[Path, ...]:
    """Remove the temporary directories that killed builds left in `parent`; return them."""
    removed = []
    for path in sorted(parent.glob(f".*{TEMP_MARK}*")):
        pid = path.name.rpartition(TEMP_MARK)[2].partition("-")[0]
        if pid.isdigit() and path.is_dir() and not path.is_symlink() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return tuple(removed)
