"""`--out FILE` for the commands that print a document: whole or not at all.

The text goes to a temporary file beside FILE, is flushed to disk and renamed over it, so a
reader never sees half an answer and a failed write leaves FILE as it was. A path that cannot
be written (a missing directory, a directory, no permission) is an error naming `--out`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from carbonlab.errors import CarbonlabError


class OutFileError(CarbonlabError):
    """Raised when `--out` cannot be written; the message names the path and why."""


def write_out(path: Path, text: str) -> None:
    tmp: str | None = None
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory")
        fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                                   prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise OutFileError(f"--out {path}: cannot write ({exc.strerror or exc})") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
