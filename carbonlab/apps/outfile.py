"""Output files of the application modules' commands (`--png`, `--write-csv`): written whole or
not at all, and a path that cannot be written is the user's error naming the option, not a
traceback after the work is done."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from carbonlab.apps.errors import InputError


def write(path: Path, data: bytes, option: str) -> Path:
    """`data` into `path` through a temporary file beside it and a rename, so a failure leaves
    no partial file; `InputError(option)` when the directory cannot take it."""
    if path.is_dir():
        raise InputError(option, f"{path} is a directory")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise InputError(option, f"{path}: cannot write ({exc.strerror or exc})") from None
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
