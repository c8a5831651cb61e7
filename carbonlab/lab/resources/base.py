"""What every recorded lab object is: a frozen dataclass of one kind that removes itself.

The state file keeps each object as a JSON object `{"kind": KIND, field: value, ...}` (the
format since the first lab: a state file written before these classes still loads). A field
whose value is None is left out, as the first records were written before their PID was known.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Self


@dataclasses.dataclass(frozen=True)
class Resource(ABC):
    kind: ClassVar[str]
    # How a person is told about it (`remains()`); "" for entries that are not objects of their
    # own (pidfile folders: their processes are counted as processes; a running playbook).
    words: ClassVar[str] = ""

    def __init_subclass__(cls, *, kind: str, words: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.kind = kind
        cls.words = words

    @abstractmethod
    def remove(self, lab_dir: Path) -> None:
        """Remove the object if it is there (absent is fine); raise LabError if it will not go."""

    def label(self) -> str:
        """The name, path, host or PID that tells this object from others of its kind."""
        return str(dataclasses.astuple(self)[0])

    def paths(self) -> tuple[str, ...]:
        """The files or folders this record names, which `down` acts on or under (a directory,
        a pidfile folder, a playbook's inventory); () for objects that are not files."""
        return ()

    def refusal(self, lab_dir: Path) -> str:
        """Why `down` leaves this record alone, else "". Here: a path it names that is not
        inside `lab_dir` once resolved (`..`, symlinks), as a state file copied or edited from
        another lab names that lab's folders, or an edited one any folder at all."""
        for path in self.paths():
            problem = outside(path, lab_dir)
            if problem:
                return problem
        return ""

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value
        return out

    @classmethod
    def from_record(cls, raw: dict[str, Any]) -> Self:
        """The object of a state-file record; ValueError or TypeError names the field."""
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            allowed = _types(hints[f.name])
            if f.name not in raw:
                if type(None) in allowed:
                    continue
                raise ValueError(f"{cls.kind} record without {f.name!r}: {raw}")
            value = raw[f.name]
            if not isinstance(value, allowed) or isinstance(value, bool):
                raise TypeError(f"{cls.kind} record: {f.name} must be "
                                 f"{' or '.join(t.__name__ for t in allowed)}, not {value!r}")
            values[f.name] = value
        return cls(**values)


def outside(path: str, lab_dir: Path) -> str:
    """What is wrong with `path` as a path of the lab in `lab_dir`, else "": it must be
    absolute and, with `..` and symlinks resolved, lie strictly inside the resolved `lab_dir`."""
    if not Path(path).is_absolute():
        return f"{path} is not an absolute path"
    real, home = Path(path).resolve(), lab_dir.resolve()
    if real != home and real.is_relative_to(home):
        return ""
    said = path if str(real) == path else f"{path} (that is {real})"
    where = "the lab directory itself" if real == home else f"outside {home}"
    return f"{said} is {where}"


def _types(hint: Any) -> tuple[type, ...]:
    if isinstance(hint, types.UnionType):
        return tuple(typing.get_args(hint))
    return (hint,)
