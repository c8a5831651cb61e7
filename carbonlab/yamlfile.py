"""YAML files read the strict way: a key given twice in one mapping is an error, not the last one.

PyYAML's `safe_load` keeps the last of two equal keys without a word, so a map file with
`co2_pct` written twice (an edit that copied a line) would silently read another register
than the one its author checked. Merge keys (`<<`) still override as YAML defines.

Shared (top of the tree, imports no carbonlab package): register maps, the topology and the
compliance rule sets read YAML through it.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode


class DuplicateKeyError(yaml.MarkedYAMLError):
    """Raised while loading when one mapping holds the same key twice; the file's author's fault."""

    def __init__(self, key: Any, first: yaml.Mark, again: yaml.Mark) -> None:
        super().__init__(problem=f"key {key!r} is given twice in one mapping (line {first.line + 1} "
                                 f"and line {again.line + 1})", problem_mark=again)
        self.key = key
        self.first_line = first.line + 1
        self.line = again.line + 1


class _UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:   # an unhashable key: SafeLoader itself refuses it below
                continue
            if first is not key_node.start_mark:
                raise DuplicateKeyError(key, first, key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def load_unique(text: str) -> Any:
    """`yaml.safe_load`, except that a repeated key raises `DuplicateKeyError`."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
