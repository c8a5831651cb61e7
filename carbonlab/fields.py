"""One validation layer for configuration files: rules declared on dataclass fields.

Theory of operation. A config dataclass declares each field's default and its rule once,
with `spec(default, lo=..., hi=..., choices=..., pattern=...)` (or `like(OtherClass, "name")` to
reuse another class's field as it is). `key=` names the field in the file where it differs from
the attribute (NODE.toml's `genesis` is `NodeConfig.genesis_file`); `read=` turns the file's
string into a value of a type this module does not know (a multiaddr, a `HostPort`), its
ValueError being the problem; `pattern=` is a regular expression a string must match whole.
`values(cls, raw, ...)` reads a mapping into the keyword
arguments of `cls`: the type comes from the field's annotation (a bool is not an int, an
int is accepted where a float is wanted, a StrEnum takes its values), missing fields take
the declared default, and every failure raises `FieldError(file, field, problem)`. A `Path`
is a non-empty string; `tuple[str, ...]` a list of non-empty strings.

`FieldError` is a neutral `ValueError`; each package turns it into its own error
(`TopologyError`, the gateway's `ConfigError`, ...) so that `except GatewayError` and the
like keep working, and every message names the file and the dotted field.

Every config file is read by `document` (`document_text`, `parse_document`): at most
`MAX_DOCUMENT_BYTES`, UTF-8 (else one error naming the file and the byte offset), YAML through
the strict `carbonlab.yamlfile` loader (a key given twice, an alias bomb: refused).

This module sits at the top of the tree and imports no carbonlab package (only the shared
`boundedread` and `yamlfile` for reading documents, and `carbonlab.checks` for the rules both
layers share: no control characters in text but tab, line feed and carriage return; a number
is finite, and an int too large for a float is not; a value echoed in an error is cut to 80
characters), so node, gateway, lab and rig all use it (STYLE 9 and 24: one validator per
field).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
import tomllib
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING
from pathlib import Path
from typing import Any, TypeVar

import yaml

from carbonlab.boundedread import NotTextError, TooLargeError, read_text
from carbonlab.checks import ECHO_CHARS, control_problem, finite, shown
from carbonlab.jsonfile import parser_problem
from carbonlab.yamlfile import DuplicateKeyError, load_unique

T = TypeVar("T")
_KEY = "carbonlab.fields"


class FieldError(ValueError):
    """Raised when one field of a config file is missing, unknown or out of its rule; the
    author of the file is at fault. Packages wrap it in their own root error."""

    def __init__(self, file: str, field: str, problem: str) -> None:
        super().__init__(f"{file}: field {field!r}: {problem}" if field else f"{file}: {problem}")
        self.file, self.field, self.problem = file, field, problem


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    lo: float | None = None
    hi: float | None = None
    choices: tuple[Any, ...] = ()
    allow_empty: bool = False
    check: Callable[[Any], str | None] | None = None   # extra rule: a problem, or None
    key: str | None = None                              # the name in the file, if not the attribute's
    read: Callable[[str], Any] | None = None            # string -> value; ValueError is the problem
    pattern: re.Pattern[str] | None = None              # a string must match it whole


MAX_DOCUMENT_BYTES = 16 * 1024 * 1024   # a config, scenario or map file; the largest shipped is ~20 kB


def document_text(path: Path, what: str) -> str:
    """The text of a config file, at most `MAX_DOCUMENT_BYTES` bytes of UTF-8 (`/dev/zero` is
    refused by size, a FIFO without a writer reads as empty); anything else is a `FieldError` with
    no field naming the file: `<file>: cannot read <what> (...)`, `<file>: not UTF-8 text
    (invalid byte at offset N)`, `<file>: larger than 16,777,216 bytes ...`."""
    try:
        return read_text(path, MAX_DOCUMENT_BYTES)
    except OSError as exc:
        raise FieldError(str(path), "", f"cannot read {what} ({exc.strerror or exc})") from None
    except TooLargeError as exc:
        raise FieldError(str(path), "", f"{exc}: not a {what} (a config file is small)") from None
    except NotTextError as exc:
        raise FieldError(str(path), "", f"{exc}: not a {what}") from None


def parse_document(text: str, file: str, *, syntax: str) -> Any:
    """`text` parsed as TOML or (strictly, `carbonlab.yamlfile`) YAML: a key given twice, aliases
    that expand into a bomb, or a syntax error is a `FieldError` naming `file`."""
    try:
        return tomllib.loads(text) if syntax == "toml" else load_unique(text)
    except DuplicateKeyError as exc:
        raise FieldError(file, str(exc.key)[:ECHO_CHARS], f"given twice in one mapping (lines "
                         f"{exc.first_line} and {exc.line}); write each key once") from None
    except yaml.MarkedYAMLError as exc:     # one line: where, and what
        mark = exc.problem_mark
        at = f"line {mark.line + 1}: " if mark is not None else ""
        raise FieldError(file, "", f"not valid YAML ({at}{exc.problem})") from None
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise FieldError(file, "", f"not valid {syntax.upper()} ({exc})") from None
    except RecursionError:
        raise FieldError(file, "", f"not valid {syntax.upper()} (nested too deeply)") from None
    except ValueError as exc:               # an integer of more than 4,300 digits
        raise FieldError(file, "", f"not valid {syntax.upper()} ({parser_problem(exc)})") from None


def document(path: Path, what: str, *, syntax: str) -> Any:
    """The parsed text of a config file (`syntax` "toml" or "yaml"): `document_text`, then
    `parse_document`; every failure is a `FieldError` naming the file."""
    return parse_document(document_text(path, what), str(path), syntax=syntax)


def spec(default: Any = MISSING, *, lo: float | None = None, hi: float | None = None,
         choices: Iterable[Any] = (), allow_empty: bool = False,
         check: Callable[[Any], str | None] | None = None, key: str | None = None,
         read: Callable[[str], Any] | None = None, pattern: str | None = None) -> Any:
    """A dataclass field with its default and its rule, written once."""
    rule = Rule(lo, hi, tuple(choices), allow_empty, check, key, read,
                None if pattern is None else re.compile(pattern))
    return dataclasses.field(default=default, metadata={_KEY: rule})


def longest(n: int) -> Callable[[Any], str | None]:
    """A `check=` rule: a string of at most n characters."""
    return lambda v: None if len(v) <= n else f"longer than {n} characters, got {shown(v)}"


def above(x: float) -> Callable[[Any], str | None]:
    """A `check=` rule: a number strictly above x (`lo` is inclusive)."""
    return lambda v: None if v > x else f"must be above {x:g}, got {shown(v)}"


PORTS = (1, 65535)     # a TCP port a config may name
_PORT_DIGITS = re.compile(r"[0-9]{1,5}")


def port(default: Any = MISSING) -> Any:
    """A TCP port field, 1..65535 (the same rule as a `HostPort`'s port)."""
    return spec(default, lo=PORTS[0], hi=PORTS[1])


def timer_s(default: float) -> Any:
    """A timeout or period in seconds, (0, 3600]: the one rule of the node's and the gateway's
    network timers."""
    return spec(default, lo=0.0, hi=3600.0, check=above(0.0))


@dataclasses.dataclass(frozen=True, slots=True)
class HostPort:
    """A TCP listen or target address, written `host:port` (`[v6]:port` for IPv6)."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> HostPort:
        host, sep, digits = text.rpartition(":")
        host = host.removeprefix("[").removesuffix("]") if host.startswith("[") else host
        # ASCII digits, at most 5: isdigit() also takes "²" and "٨٠", and int() of 5,000 digits raises
        if not (sep and host and _PORT_DIGITS.fullmatch(digits) and PORTS[0] <= int(digits) <= PORTS[1]):
            raise ValueError(f"must be \"host:port\" with a port {PORTS[0]}..{PORTS[1]}, got {shown(text)}")
        return cls(host, int(digits))


def like(cls: type, name: str) -> Any:
    """The field `name` of `cls` again, with the same default and rule (for a second model of
    the same setting, e.g. a topology's meter and the gateway's meter endpoint)."""
    f = _fields(cls)[name]
    return dataclasses.field(default=f.default, metadata=f.metadata)


def values(cls: type, raw: Any, *, file: str, prefix: str = "", names: Iterable[str] | None = None,
           required: Iterable[str] = (), allowed: Iterable[str] = ()) -> dict[str, Any]:
    """The checked values of `names` (default: every field of `cls`) from the mapping `raw`.

    Keys of `raw` that are neither in `names` nor in `allowed` are unknown fields; a field
    listed in `required` (or declared without a default) must be present."""
    if not isinstance(raw, Mapping):
        raise FieldError(file, prefix.rstrip(".") or "(top)",
                         f"must be a table, got {type(raw).__name__}")
    fields = _fields(cls)
    wanted = list(fields) if names is None else list(names)
    keys = {name: _rule(fields[name]).key or name for name in wanted}
    known = {*keys.values(), *allowed}
    for key in raw:
        if key not in known:
            raise FieldError(file, f"{prefix}{key}", f"unknown field; allowed: {', '.join(sorted(known))}")
    must = set(required)
    out: dict[str, Any] = {}
    for name in wanted:
        f, key = fields[name], keys[name]
        if key in raw:
            out[name] = check(cls, name, raw[key], file=file, field=f"{prefix}{key}")
        elif name in must or (f.default is MISSING and f.default_factory is MISSING):
            raise FieldError(file, f"{prefix}{key}", "is required")
        elif f.default is not MISSING:
            out[name] = f.default
    return out


def build(cls: type[T], raw: Any, *, file: str, prefix: str = "") -> T:
    """`cls(**values(cls, raw))`: a whole dataclass read from one table."""
    return cls(**values(cls, raw, file=file, prefix=prefix))


def read(read: Callable[[str], Any], value: Any, *, file: str, field: str) -> Any:
    """One string value turned by `read` (as a `spec(read=...)` field is) for an entry that is not
    a dataclass field, such as one address of a table of addresses."""
    result, problem = _read(read, value)
    if problem is not None:
        raise FieldError(file, field, problem)
    return result


def check(cls: type, name: str, value: Any, *, file: str, field: str) -> Any:
    """One value against the type and rule declared for `cls.name`; the converted value."""
    rule = _rule(_fields(cls)[name])
    if rule.read is not None and value is None and type(None) in typing.get_args(_types(cls)[name]):
        result, problem = None, None
    elif rule.read is not None:
        result, problem = _read(rule.read, value)
    else:
        result, problem = _convert(_types(cls)[name], rule, value)
    if problem is None and rule.check is not None:
        problem = rule.check(result)
    if problem is not None:
        raise FieldError(file, field, problem)
    return result


def _rule(f: dataclasses.Field[Any]) -> Rule:
    rule: Rule = f.metadata.get(_KEY, Rule())
    return rule


def _read(read: Callable[[str], Any], value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str) or not value.strip():
        return value, f"must be a non-empty string, got {shown(value)}"
    if (problem := control_problem(value)) is not None:
        return value, problem
    try:
        return read(value), None
    except ValueError as exc:
        return value, str(exc)


@functools.cache
def _fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(cls)}


@functools.cache
def _types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(kind: Any, rule: Rule, value: Any) -> tuple[Any, str | None]:
    args = typing.get_args(kind)
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        if value is None and type(None) in args:
            return None, None
        kind = next(a for a in args if a is not type(None))
        args = typing.get_args(kind)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        allowed = tuple(m.value for m in kind)
        if value not in allowed:
            return value, f"must be one of {', '.join(map(str, allowed))}, got {shown(value)}"
        return kind(value), None
    if rule.choices:
        if value not in rule.choices or isinstance(value, bool) is not (kind is bool):
            return value, f"must be one of {', '.join(map(str, rule.choices))}, got {shown(value)}"
        return value, None
    if kind is bool:
        return value, None if isinstance(value, bool) else f"must be true or false, got {shown(value)}"
    if kind is str or kind is Path:
        if not isinstance(value, str) or (not value.strip() and not rule.allow_empty):
            return value, f"must be a non-empty string, got {shown(value)}"
        if (problem := control_problem(value)) is not None:
            return value, problem
        if rule.pattern is not None and not rule.pattern.fullmatch(value):
            return value, f"must match {rule.pattern.pattern}, got {shown(value)}"
        return kind(value), None
    if typing.get_origin(kind) is tuple and args == (str, ...):
        ok = isinstance(value, list | tuple) and all(isinstance(v, str) and v.strip() for v in value) \
            and (bool(value) or rule.allow_empty)
        if ok and (problem := next(filter(None, map(control_problem, value)), None)) is not None:
            return value, problem
        some = "a" if rule.allow_empty else "a non-empty"
        return (tuple(value) if ok else value), \
            None if ok else f"must be {some} list of non-empty strings, got {shown(value)}"
    if kind is int:
        ok = not isinstance(value, bool) and isinstance(value, int) and _within(value, rule)
        return value, None if ok else f"must be an integer{_span(rule)}, got {shown(value)}"
    if kind is float:
        ok = _number(value) and _within(value, rule)
        problem = None if ok else f"must be a number{_span(rule)}, got {shown(value)}"
        return (float(value) if ok else value), problem
    if typing.get_origin(kind) is tuple and args == (float, float):
        ok = isinstance(value, list | tuple) and len(value) == 2 and all(_number(v) for v in value) \
            and all(_within(v, rule) for v in value) and value[0] <= value[1]
        return ((float(value[0]), float(value[1])) if ok else value), \
            None if ok else f"must be [min, max] with min <= max, each{_span(rule)}, got {shown(value)}"
    raise TypeError(f"carbonlab.fields cannot read a field of type {kind!r}")


def _number(value: Any) -> bool:
    return finite(value) is not None


def _within(value: float, rule: Rule) -> bool:
    return (rule.lo is None or value >= rule.lo) and (rule.hi is None or value <= rule.hi)


def _span(rule: Rule) -> str:
    if rule.lo is not None and rule.hi is not None:
        return f" {_text(rule.lo)}..{_text(rule.hi)}"
    if rule.lo is not None:
        return f" >= {_text(rule.lo)}"
    if rule.hi is not None:
        return f" <= {_text(rule.hi)}"
    return ""


def _text(x: float) -> str:
    """A bound as a person writes it: 268435456 rather than 2.68435e+08, 2**62 in all its digits."""
    if isinstance(x, int):
        return str(x)
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e18 else f"{x:g}"
