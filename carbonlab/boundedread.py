"""Reading a file the user named, at most a given number of bytes, without hanging on a FIFO.

`Path.read_bytes()` on `/dev/zero` or `/dev/urandom` reads until memory runs out (5 GB in 3 s
for `--key /dev/zero`), and opening a FIFO that no process writes blocks for ever. Every input
file of the commands has a natural size (a key file is a few hundred bytes, a rule set a few
kilobytes), so each reader states its limit and a larger file is refused by size, having read
at most `limit + 1` bytes. A FIFO is opened without blocking (then read normally): with no
writer it reads as empty, which its reader refuses as it would an empty file.

Shared (top of the tree, imports no carbonlab package): the node's key files, every config file
and YAML document (`fields.document`, as UTF-8 text: `read_text`), the compliance
rule sets and inputs, and the application modules' CSV files read through it.
"""

from __future__ import annotations

import fcntl
import io
import os
from pathlib import Path


class TooLargeError(ValueError):
    """The file holds more than the reader's limit; the file's author's (or the caller's) fault.
    The message says the limit; the caller names the file."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit:,} bytes")
        self.limit = limit


def open_binary(path: Path) -> io.BufferedReader:
    """`path` opened for reading; a FIFO without a writer does not block the open. OSError as
    `open` raises it."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_limited(path: Path, limit: int) -> bytes:
    """The file's bytes; `TooLargeError` when it holds more than `limit` (at most `limit + 1`
    bytes are read), OSError when it cannot be read (a directory, no permission)."""
    with open_binary(path) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(limit)
    return data


class NotTextError(ValueError):
    """The file's bytes are not UTF-8 text; the file's author's fault. `offset` is the byte
    offset of the first byte that is not; the caller names the file."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"not UTF-8 text (invalid byte at offset {offset})")
        self.offset = offset


def read_text(path: Path, limit: int) -> str:
    """`read_limited` decoded as UTF-8: `NotTextError` naming the byte offset of the first byte
    that is not (a config file saved as Latin-1, a binary given by mistake), `TooLargeError`
    and OSError as `read_limited` raises them."""
    data = read_limited(path, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotTextError(exc.start) from None
