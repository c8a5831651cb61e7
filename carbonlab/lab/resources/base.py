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

    def folder(self) -> str:
        """The folder this record names (a directory, a pidfile folder), else ""."""
        return ""

    def outside(self, lab_dir: Path) -> str:
        """Its folder when that lies outside `lab_dir`, else "": `down` leaves such a folder
        alone (a state file copied or edited from another lab names that lab's folders)."""
        folder = self.folder()
        return folder if folder and not Path(folder).is_relative_to(lab_dir) else ""

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


def _types(hint: Any) -> tuple[type, ...]:
    if isinstance(hint, types.UnionType):
        return tuple(typing.get_args(hint))
    return (hint,)
