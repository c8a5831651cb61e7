"""Rule sets as data: a YAML file of clauses (each citing where it comes from) and terms.

Theory of operation. A rule set is read once, here, into a frozen `RuleSet`; nothing further
in reads YAML or re-checks a field. Each field's type and range is declared on its dataclass
(`model.py`, `terms.py`) and read with `carbonlab.fields`; what one field cannot say alone is
checked after: a minimum above its maximum, a default outside its range, a term citing a clause
the file does not hold, a clause marked unchecked without a note saying what was not checked,
two clauses with one id, no term or two terms for a shortfall. Every refusal is a
`RuleSetError` naming the file and the dotted field (`terms[0].multiplier_min`).

The shipped rule sets live in `rulesets/<name>.yaml` inside the package, so the wheelhouse
carries them; a path to any other YAML file is read the same way.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from carbonlab import fields
from carbonlab.apps.compliance.errors import RuleSetError
from carbonlab.apps.compliance.model import Basis
from carbonlab.apps.compliance.terms import (
    RANGES,
    SHORTFALL_KINDS,
    TERM_CLASSES,
    DataQualityTerm,
    Effect,
    ShortfallFinePerTonne,
    Term,
    TermKind,
    YearFigure,
)
from carbonlab.apps.iso4217 import currency_problem
from carbonlab.boundedread import TooLargeError, read_limited
from carbonlab.fields import FieldError, spec
from carbonlab.yamlfile import DuplicateKeyError, load_unique

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


MAX_FILE_BYTES = 1024 * 1024   # the shipped rule sets are ~10 KB; a 22 MB file took 52 s to refuse


def _date(value: str) -> str | None:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return f"must be a date YYYY-MM-DD, got {value!r}"
    return None


def _name(value: str) -> str | None:
    return None if _NAME.match(value) else f"must be lower-case letters, digits and '-', got {value!r}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Clause:
    """One provision a term comes from. `checked` says whether its wording was checked against
    the text (or a faithful copy of it); when it was not, `note` says what could not be checked."""
    id: str = spec(check=_name)
    cite: str = spec()                       # "Interim Regulations 2024, Art. 24"
    summary: str = spec()                    # what it says, in English
    text: str = spec("", allow_empty=True)   # the wording, in the original language where checked
    url: str = spec("", allow_empty=True)
    checked: bool = spec()
    note: str = spec("", allow_empty=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Header:
    name: str = spec(check=_name)
    title: str = spec()
    jurisdiction: str = spec()
    currency: str = spec(check=currency_problem)
    emissions_basis: Basis = spec()
    source: str = spec()                     # the instrument(s) the clauses come from
    as_of: str = spec(check=_date)           # the date the rule set was last checked against them


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleSet:
    header: Header
    clauses: tuple[Clause, ...]
    terms: tuple[Term, ...]
    file: str

    @property
    def name(self) -> str:
        return self.header.name

    @property
    def currency(self) -> str:
        return self.header.currency

    def clause(self, clause_id: str) -> Clause:
        return next(c for c in self.clauses if c.id == clause_id)

    def terms_of(self, *kinds: TermKind) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.kind in kinds)


def shipped() -> tuple[str, ...]:
    """The names of the rule sets shipped in the package."""
    folder = resources.files(__package__).joinpath("rulesets")
    return tuple(sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")))


def load_named(name_or_path: str) -> RuleSet:
    """A shipped rule set by name, or any rule set file by path (it ends in .yaml or .yml)."""
    if name_or_path.endswith((".yaml", ".yml")):
        return load(Path(name_or_path))
    if name_or_path not in shipped():
        raise RuleSetError("--rules", "rules",
                           f"no rule set {name_or_path!r}; shipped: {', '.join(shipped())}"
                           " (or give a path to a .yaml file)")
    ruleset = resources.files(__package__).joinpath("rulesets", f"{name_or_path}.yaml")
    return parse(_yaml(ruleset.read_text(encoding="utf-8"), f"rulesets/{name_or_path}.yaml"),
                 f"rulesets/{name_or_path}.yaml", expect_name=name_or_path)


def load(path: Path) -> RuleSet:
    try:
        text = read_limited(path, MAX_FILE_BYTES).decode("utf-8")
    except OSError as exc:
        raise RuleSetError(str(path), "(file)", f"cannot read ({exc.strerror})") from None
    except TooLargeError as exc:
        raise RuleSetError(str(path), "(file)", f"{exc}: not a rule set") from None
    except UnicodeDecodeError as exc:
        raise RuleSetError(str(path), "(file)", f"not UTF-8 text (byte {exc.start})") from None
    return parse(_yaml(text, str(path)), str(path))


def _yaml(text: str, file: str) -> Any:
    try:
        return load_unique(text)
    except DuplicateKeyError as exc:
        raise RuleSetError(file, str(exc.key), str(exc.problem)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise RuleSetError(file, "(file)", f"{line}not valid YAML") from None
    except RecursionError:
        raise RuleSetError(file, "(file)", "nested too deeply to be read") from None


def parse(raw: Any, file: str, expect_name: str | None = None) -> RuleSet:
    """A checked `RuleSet` from the mapping `raw`; `RuleSetError` naming the field otherwise."""
    if isinstance(raw, dict) and isinstance(raw.get("as_of"), datetime.date):
        raw = {**raw, "as_of": raw["as_of"].isoformat()}    # an unquoted YAML date is a date
    try:
        header = Header(**fields.values(Header, raw, file=file, allowed=("clauses", "terms")))
        if expect_name is not None and header.name != expect_name:
            raise FieldError(file, "name", f"must be the file's name {expect_name!r}, got {header.name!r}")
        clauses = tuple(fields.build(Clause, c, file=file, prefix=f"clauses[{i}].")
                        for i, c in enumerate(_list(raw, "clauses", file)))
        terms = tuple(_term(t, file, f"terms[{i}].") for i, t in enumerate(_list(raw, "terms", file)))
        _check(clauses, terms, file)
    except FieldError as exc:
        raise RuleSetError(exc.file, exc.field, exc.problem) from None
    return RuleSet(header=header, clauses=clauses, terms=terms, file=file)


def _list(raw: Any, key: str, file: str) -> list[Any]:
    value = raw.get(key)
    if value is None:
        raise FieldError(file, key, "is required (a list)")
    if not isinstance(value, list) or not value:
        raise FieldError(file, key, f"must be a non-empty list, got {value!r}")
    return value


def _term(raw: Any, file: str, prefix: str) -> Term:
    if not isinstance(raw, dict):
        raise FieldError(file, prefix.rstrip("."), f"must be a table, got {type(raw).__name__}")
    if "kind" not in raw:
        raise FieldError(file, f"{prefix}kind", f"is required; one of {', '.join(k.value for k in TermKind)}")
    try:
        kind = TermKind(raw["kind"])
    except ValueError:
        raise FieldError(file, f"{prefix}kind", f"unknown term kind {raw['kind']!r}; one of "
                         f"{', '.join(k.value for k in TermKind)}") from None
    cls = TERM_CLASSES[kind]
    names = [f.name for f in dataclasses.fields(cls) if f.name not in ("kind", "indexed_per_t")]
    extra = ("indexed_per_t",) if cls is ShortfallFinePerTonne else ()
    kwargs = fields.values(cls, raw, file=file, prefix=prefix, names=names, allowed=("kind", *extra))
    if extra and "indexed_per_t" in raw:
        figures = raw["indexed_per_t"]
        if not isinstance(figures, list):
            raise FieldError(file, f"{prefix}indexed_per_t", "must be a list of {year, per_t}")
        kwargs["indexed_per_t"] = tuple(
            fields.build(YearFigure, f, file=file, prefix=f"{prefix}indexed_per_t[{j}].")
            for j, f in enumerate(figures))
    term: Term = cls(**kwargs, kind=kind)
    _check_term(term, file, prefix)
    return term


def _n(x: float) -> str:
    """A figure of a rule set in a message: as short as `:g`, but with every digit needed to tell
    it from its neighbours (a threshold of 0.1000001 printed as 0.1 made an overlap look like none)."""
    short = f"{x:g}"
    return short if float(short) == x else repr(x)


def _check_term(term: Term, file: str, prefix: str) -> None:
    for lo, hi, default in RANGES.get(type(term), ()):
        low, high = getattr(term, lo), getattr(term, hi)
        if low > high:
            raise FieldError(file, f"{prefix}{lo}", f"{_n(low)} is above {hi} ({_n(high)})")
        if default is not None and not low <= getattr(term, default) <= high:
            raise FieldError(file, f"{prefix}{default}", f"{_n(getattr(term, default))} is outside "
                             f"[{lo}, {hi}] = [{_n(low)}, {_n(high)}]")
    if isinstance(term, DataQualityTerm):
        if term.amount == 0 and term.per_unit == 0:
            raise FieldError(file, f"{prefix}amount", "amount and per_unit are both 0: the term does nothing")
        if term.kind is TermKind.SUBSTITUTED_HOURS and term.threshold > 1:
            raise FieldError(file, f"{prefix}threshold",
                             f"is a share of hours: must be 0..1, got {_n(term.threshold)}")
    if isinstance(term, ShortfallFinePerTonne):
        years = [f.year for f in term.indexed_per_t]
        for j, year in enumerate(years):
            if year in years[:j]:
                raise FieldError(file, f"{prefix}indexed_per_t[{j}].year", f"{year} is given twice")
        if term.indexed_per_t and term.index_clause is None:
            raise FieldError(file, f"{prefix}index_clause", "is required when indexed_per_t is given")


def _check(clauses: tuple[Clause, ...], terms: tuple[Term, ...], file: str) -> None:
    ids: list[str] = []
    for i, c in enumerate(clauses):
        if c.id in ids:
            raise FieldError(file, f"clauses[{i}].id", f"{c.id!r} is given twice")
        ids.append(c.id)
        if not c.checked and not c.note.strip():
            raise FieldError(file, f"clauses[{i}].note",
                             "is required when checked is false: say what could not be checked")
    for i, t in enumerate(terms):
        cited = [("clause", t.clause)]
        if isinstance(t, ShortfallFinePerTonne) and t.index_clause is not None:
            cited.append(("index_clause", t.index_clause))
        for field, clause_id in cited:
            if clause_id not in ids:
                raise FieldError(file, f"terms[{i}].{field}", f"no clause {clause_id!r} in this rule set; "
                                 f"clauses: {', '.join(ids)}")
    shortfall = [i for i, t in enumerate(terms) if t.kind in SHORTFALL_KINDS]
    if not shortfall:
        raise FieldError(file, "terms", "no term says what a shortfall costs (one of "
                         f"{', '.join(sorted(k.value for k in SHORTFALL_KINDS))})")
    if len(shortfall) > 1:
        raise FieldError(file, f"terms[{shortfall[1]}].kind",
                         f"a second shortfall fine (the first is terms[{shortfall[0]}])")
    _check_bands(terms, file)
    for kind in (TermKind.SURPLUS_VALUE, TermKind.SURRENDER_OBLIGATION, TermKind.ALLOCATION_DEDUCTION,
                 TermKind.FALSIFICATION_FINE):
        at = [i for i, t in enumerate(terms) if t.kind is kind]
        if len(at) > 1:
            raise FieldError(file, f"terms[{at[1]}].kind",
                             f"a second {kind.value} term (the first is terms[{at[0]}])")


def _check_bands(terms: tuple[Term, ...], file: str) -> None:
    """The data-quality terms of one measure must not contradict each other. A penalty applies
    above its threshold and a bonus at or below its own, so a bonus threshold above a penalty
    threshold both fines and rewards every value between them: refused. Two terms of one effect
    for one measure add, each counted from its own threshold (two penalties at 10 % and 20 %
    make a marginal tier above 20 %); two at the same threshold are a copy, refused."""
    seen: list[tuple[int, DataQualityTerm]] = []
    for i, t in enumerate(terms):
        if not isinstance(t, DataQualityTerm):
            continue
        for j, u in seen:
            if u.kind is not t.kind:
                continue
            if u.effect is t.effect and u.threshold == t.threshold:
                raise FieldError(file, f"terms[{i}].threshold", f"a second {t.kind.value} {t.effect.value} "
                                 f"at threshold {_n(t.threshold)} (terms[{j}]); terms of one effect add, "
                                 "each from its own threshold")
            bonus, penalty = (t, u) if t.effect is Effect.BONUS else (u, t)
            if u.effect is not t.effect and bonus.threshold > penalty.threshold:
                raise FieldError(file, f"terms[{i}].threshold", f"the {t.kind.value} bonus (at or below "
                                 f"{_n(bonus.threshold)}) and penalty (above {_n(penalty.threshold)}) both "
                                 f"apply between the two thresholds (terms[{j}] and terms[{i}]): a bonus "
                                 "threshold must not be above a penalty threshold")
        seen.append((i, t))
