"""CSV inputs of the application modules: a file read with its required columns checked, every
problem an `InputError` naming the file (and, by the callers, the line and column)."""

from __future__ import annotations

import csv
from pathlib import Path

from carbonlab.apps.errors import InputError


def rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The file's rows as dicts (its first data row is line 2); a missing column or an unreadable
    file is an `InputError` naming it."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(
                    str(path), f"missing column(s) {', '.join(missing)}; the header is {reader.fieldnames}"
                )
            return list(reader)
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not UTF-8 text (byte {exc.start})") from None
    except csv.Error as exc:
        raise InputError(str(path), f"not a CSV file ({exc})") from None
