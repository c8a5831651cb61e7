"""The application pages' forms: bodies read with a size cap, fields checked once into typed values.

Theory of operation. A form arrives as `application/x-www-form-urlencoded` (every input page)
or `multipart/form-data` (the uploads: a report bundle, a price CSV). The body is read up to a
cap first (`read_body`: more, or a larger declared length, is refused with 413 before it is
parsed), then parsed with the
standard library (`urllib.parse`, `email`'s MIME parser; no extra dependency), and each form's
fields are checked against the rules declared once on its frozen dataclass with
`carbonlab.fields` (`spec(lo=, hi=, choices=)`): the text of a number field is parsed here, its
range checked by the shared layer, and any failure is one `FormError(field, problem)` that the
pages answer with 400 naming the field. Unknown fields are refused too (a misspelt field would
otherwise be silently ignored).
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from carbonlab import fields
from carbonlab.apps.compliance.model import DataQuality
from carbonlab.apps.report.model import YEARS, Template
from carbonlab.client import ParamError, params
from carbonlab.errors import CarbonlabError
from carbonlab.fields import FieldError, like, spec
from carbonlab.node.gwp import GwpSet

T = TypeVar("T")

FORM_MAX_BYTES = 64 * 1024                 # an input form
UPLOAD_MAX_BYTES = 256 * 1024 * 1024       # a report bundle of a big company-year is ~60 MB


class FormError(CarbonlabError, ValueError):
    """A form field (or the body itself: field `body`) is missing, unknown, malformed or out of
    range; the user's fault. `status` is the HTTP answer (400, or 413 for a body over its cap)."""

    def __init__(self, field: str, problem: str, status: int = 400) -> None:
        super().__init__(f"field {field!r}: {problem}")
        self.field, self.problem, self.status = field, problem, status


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    data: bytes


async def read_body(receive_chunks: typing.AsyncIterator[bytes], cap: int,
                    declared: str | None = None) -> bytes:
    """The body's bytes, refused (413) as soon as it passes `cap`: before anything is read when
    its declared length (`Content-Length`, `declared`) is over `cap`, else once the bytes read
    are. A client that leaves or stalls mid-body is the guard's (`carbonlab.asgi.BodyGuard`)."""
    if declared is not None and _LENGTH.fullmatch(declared) and int(declared) > cap:
        raise FormError("body", f"Content-Length {int(declared):,} bytes is larger than {cap:,}", 413)
    parts, size = [], 0
    async for chunk in receive_chunks:
        size += len(chunk)
        if size > cap:
            raise FormError("body", f"larger than {cap:,} bytes", 413)
        parts.append(chunk)
    return b"".join(parts)


def parse(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Upload]]:
    """(text fields, file fields) of a urlencoded or multipart body; a field given twice is refused."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                              max_num_fields=200)
        except (UnicodeDecodeError, ValueError) as exc:
            raise FormError("body", f"not a urlencoded form ({exc})") from None
        return _once(pairs), {}
    if kind == "multipart/form-data":
        return _multipart(content_type, body)
    raise FormError("body", f"Content-Type {kind or '(none)'!r}: a form is urlencoded or multipart/form-data",
                    415)


def _once(pairs: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in pairs:
        if key in out:
            raise FormError(key, "given twice")
        out[key] = value
    return out


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Upload]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    msg = BytesParser(policy=HTTP).parsebytes(head + body)
    if not msg.is_multipart() or msg.defects:
        raise FormError("body", "not a multipart/form-data body (no boundary, or malformed parts)")
    text: list[tuple[str, str]] = []
    files: dict[str, Upload] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise FormError("body", "a part without a form field name")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            if name in files:
                raise FormError(name, "given twice")
            files[name] = Upload(filename, data)
        else:
            try:
                text.append((name, data.decode("utf-8")))
            except UnicodeDecodeError:
                raise FormError(name, "not UTF-8 text") from None
    return _once(text), files


_LENGTH = re.compile(r"[0-9]{1,20}")     # a Content-Length int() may take


def _number(kind: Any, name: str, raw: str) -> Any:
    """A decimal number in ASCII, read by the console's one strict number reader
    (`params.number`: int() and float() would also read `1_000`, `4\\v`, full-width or
    Arabic-Indic digits, and an action would sign what the user may not have meant); spaces a
    browser's field may keep around it are dropped, nothing else."""
    try:
        return params.number(name, raw.strip(" "), int if kind is int else float)
    except ParamError as exc:
        raise FormError(name, exc.problem) from None


def read(cls: type[T], form: Mapping[str, str], *, ignore: tuple[str, ...] = ()) -> T:
    """`cls` from a form's text fields: numbers parsed here, rules checked by `carbonlab.fields`;
    an optional field left empty is None."""
    hints = typing.get_type_hints(cls)
    raw: dict[str, Any] = {}
    for key, value in form.items():
        if key in ignore:
            continue
        kind = hints.get(key)
        optional = isinstance(kind, types.UnionType) and type(None) in typing.get_args(kind)
        if optional:
            kind = next(a for a in typing.get_args(kind) if a is not type(None))
        if optional and not value.strip():
            raw[key] = None
        elif kind in (int, float):
            raw[key] = _number(kind, key, value)
        else:
            raw[key] = value.strip()
    try:
        return cls(**fields.values(cls, raw, file="form"))
    except FieldError as exc:
        raise FormError(exc.field, exc.problem) from None


def field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


# ---- the forms -----------------------------------------------------------------------------------

MAX_HOURS = 24 * 31        # a dispatch plans at most a month of hours (apps/planning's MAX_HOURS)
MAX_PRICE = 1e6            # currency per tonne


def _series(lo: float, hi: float, longest: int) -> typing.Callable[[Any], str | None]:
    def check(text: Any) -> str | None:
        parts = [p for p in str(text).replace(";", ",").replace("\n", ",").split(",") if p.strip()]
        if not 1 <= len(parts) <= longest:
            return f"must be 1 to {longest} comma-separated numbers, got {len(parts)}"
        for i, p in enumerate(parts):
            try:
                v = float(p)
            except ValueError:
                return f"value {i + 1} ({p.strip()!r}) is not a number"
            if not (math.isfinite(v) and lo <= v <= hi):
                return f"value {i + 1} ({p.strip()!r}) must be in {lo:g}..{hi:g}"
        return None
    return check


def numbers(text: str) -> tuple[float, ...]:
    """The numbers of a field `_series` has checked."""
    return tuple(float(p) for p in text.replace(";", ",").replace("\n", ",").split(",") if p.strip())


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchForm:
    company: str = spec()
    demand_mw: str = spec(check=_series(0.0, 100_000.0, MAX_HOURS))     # one value per hour
    carbon_price: float = spec(0.0, lo=0.0, hi=MAX_PRICE)
    cap_t: float | None = spec(None, lo=0.0, hi=1e9)
    fuel_cost_per_mwh: float = spec(30.0, lo=0.0, hi=1e5)
    time_limit_s: float = spec(30.0, lo=0.1, hi=60.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class PathwayForm:
    company: str = spec()
    first_year: int = spec(lo=2000, hi=2100)
    demand_mwh: str = spec(check=_series(0.0, 1e9, 40))                  # one value per year
    first_cap_t: float = spec(lo=0.0, hi=1e9)
    decline: float = spec(0.04, lo=0.0, hi=0.99)
    carbon_price: float = spec(0.0, lo=0.0, hi=MAX_PRICE)
    fuel_cost_per_mwh: float = like(DispatchForm, "fuel_cost_per_mwh")


@dataclass(frozen=True, slots=True, kw_only=True)
class EmissionsForecastForm:
    company: str = spec()
    horizon_h: int = spec(24 * 7, lo=1, hi=24 * 366)
    allowance_t: float | None = spec(None, lo=0.0, hi=1e9)
    price: float = spec(0.0, lo=0.0, hi=MAX_PRICE)
    penalty_multiple: float = spec(1.0, lo=0.0, hi=100.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceForecastForm:
    source: str = spec("chain", choices=("chain", "csv"))
    weeks: int = spec(4, lo=1, hi=104)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportForm:
    company: str = spec()
    year: int = spec(lo=YEARS[0], hi=YEARS[1])
    template: Template = spec(Template.CN_POWER)
    gwp: GwpSet = spec(GwpSet.AR5)


def _rule_sets() -> tuple[str, ...]:
    from carbonlab.apps.compliance.ruleset import shipped

    return shipped()


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplianceForm:
    company: str = spec()
    year: int = like(ReportForm, "year")
    rules: str = spec("cn-ets", check=lambda v: None if v in _rule_sets()
                      else f"must be one of {', '.join(_rule_sets())}, got {v!r}")
    price_per_t: float | None = spec(None, lo=0.0, hi=MAX_PRICE)    # empty: the chain's transfers
    late_uploads: int = like(DataQuality, "late_uploads")
