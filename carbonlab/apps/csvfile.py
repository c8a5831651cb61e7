"""The one CSV reader of the application modules (demand, readings, records, prices): a file read
with its required columns checked, every problem an `InputError` naming the file (and, by the
callers, the line and column).

Hostile files it refuses rather than mis-reads: a UTF-8 byte order mark (what spreadsheet
programs write) is taken off the header rather than left in the first column's name; a row with
more or fewer fields than the header is refused naming its line (`0,500,7` under `hour,demand_mw`
is not silently read as hour 0); a line longer than `MAX_LINE_CHARS` or a file larger than
`MAX_FILE_BYTES` is refused having read no more than that (`/dev/zero` has no line end, a FIFO
may never end); a FIFO without a writer reads as empty.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from carbonlab.apps.errors import InputError
from carbonlab.boundedread import open_binary

MAX_LINE_CHARS = 64 * 1024           # a line of a few columns is far shorter
MAX_FILE_BYTES = 1024 * 1024 * 1024  # ten years of hourly records of many units fit in it


class _Bounded:
    """The file's lines, each at most MAX_LINE_CHARS, MAX_FILE_BYTES in all (an InputError)."""

    def __init__(self, fh: io.TextIOBase, where: str) -> None:
        self.fh, self.where, self.total, self.line = fh, where, 0, 0

    def __iter__(self) -> Iterator[str]:
        while True:
            text = self.fh.readline(MAX_LINE_CHARS + 1)
            if not text:
                return
            self.line += 1
            if len(text) > MAX_LINE_CHARS:
                raise InputError(f"{self.where} line {self.line}", f"longer than {MAX_LINE_CHARS:,} "
                                 "characters: not a CSV file of this kind")
            self.total += len(text)
            if self.total > MAX_FILE_BYTES:
                raise InputError(self.where, f"larger than {MAX_FILE_BYTES:,} bytes")
            yield text


def rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The file's rows as dicts (its first data row is line 2); a missing column, a row whose
    fields do not match the header, or an unreadable file is an `InputError` naming it."""
    where = str(path)
    try:
        with io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", newline="") as fh:
            lines = _Bounded(fh, where)
            reader = csv.DictReader(lines)
            header = reader.fieldnames or []
            missing = [c for c in columns if c not in header]
            if missing:
                raise InputError(where, f"missing column(s) {', '.join(missing)}; the header is {header}")
            out = []
            for row in reader:
                if None in row or None in row.values():
                    got = len(header) + len(row.get(None) or ()) - sum(v is None for v in row.values())
                    raise InputError(f"{where} line {reader.line_num}", f"{got} field(s), but the header "
                                     f"has {len(header)} ({','.join(header)})")
                out.append(row)
            return out
    except OSError as exc:
        raise InputError(where, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(where, f"not UTF-8 text (byte {exc.start})") from None
    except csv.Error as exc:
        raise InputError(where, f"not a CSV file ({exc})") from None
