"""The argparse types the application commands share (`allowances`, `compliance`, `plan`,
`forecast`): a bad value is refused while the arguments are parsed (argparse's usage line and
exit 2), before any file is read or node asked.

- `integer(lo, hi)`, `number(lo, hi)`: ASCII digits only. Python's `int()` and `float()` also take
  `1_000`, Arabic-Indic digits (`٣`), `nan` and `inf`; a command line of figures is refused
  rather than guessed at. `-0.0` is read as 0.0 (a record signed with a negative zero prints
  as `-0.0` for ever). Both bounds are inclusive; the message says them.
- `node_url`: the `--node URL` of every command, parsed once by `carbonlab.apps.chain.node_url`
  (an unparsable URL such as `http://256.0.0.1` was an httpx traceback); `file_or_url`, for an
  option that takes either (`ledger verify --head`), holds an `http(s)://` value to the same check.
- `seed`: a random generator's seed, 0..2^63-1 (numpy refuses a negative one).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
MAX_SEED = 2**63 - 1    # the forecast service's rule on a request's seed


def shown(value: Any) -> str:
    """`carbonlab.checks.shown`, imported when a value is refused (`--help` imports no checks)."""
    from carbonlab.checks import shown as cut

    return cut(value)


def _shown(bound: float) -> str:
    return str(bound) if isinstance(bound, int) else f"{bound:g}"


def _bounds(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"{_shown(lo)}..{_shown(hi)}"
    return f"at least {_shown(lo)}" if lo is not None else f"at most {_shown(hi)}"  # type: ignore[arg-type]


def integer(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number written in ASCII digits, within [lo, hi]."""

    def parse(text: str) -> int:
        if not _INT.fullmatch(text.strip()):
            raise argparse.ArgumentTypeError(f"must be a whole number in ASCII digits, got {shown(text)}")
        value = int(text)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"must be in {_bounds(lo, hi)}, got {shown(value)}")
        return value

    parse.__name__ = "integer"   # argparse names the type in "invalid integer value"
    return parse


def number(lo: float | None = None, hi: float | None = None) -> Callable[[str], float]:
    """An argparse type: a finite decimal number in ASCII digits, within [lo, hi]; -0.0 is 0.0."""

    def parse(text: str) -> float:
        if not _FLOAT.fullmatch(text.strip()):
            raise argparse.ArgumentTypeError(f"must be a decimal number in ASCII digits, got {shown(text)}")
        value = float(text) + 0.0     # -0.0 + 0.0 is 0.0
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {shown(text)}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"must be in {_bounds(lo, hi)}, got {shown(text)}")
        return value

    parse.__name__ = "number"
    return parse


seed = integer(0, MAX_SEED)


def node_url(text: str) -> str:
    """An argparse type: a member's API URL (`http://host:port`)."""
    from carbonlab.apps.chain import node_url as check
    from carbonlab.apps.errors import InputError

    try:
        return check(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def file_or_url(text: str) -> str:
    """An argparse type: a file's path, or a member's API URL (`http://`, `https://`) checked by
    `node_url`."""
    from carbonlab.cli.ledger_head import is_url

    return node_url(text) if is_url(text) else text
