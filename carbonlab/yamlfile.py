"""YAML files read the strict way: a key given twice in one mapping is an error, not the last one.

PyYAML's `safe_load` keeps the last of two equal keys without a word, so a map file with
`co2_pct` written twice (an edit that copied a line) would silently read another register
than the one its author checked. Merge keys (`<<`) still override as YAML defines.

Aliases are allowed (a register map may merge a channel's settings with `<<: *c`), but what
they expand to is bounded: an alias is a reference, so ten lines of `&a1 [*a0, *a0, ...]` name a
value of 9**9 nodes that costs nothing to load and everything to walk (`repr` in an error
message ran for 38 s and then ran out of memory). The composed node graph is counted as it
would be expanded before anything is constructed; more than `MAX_ALIAS_NODES` nodes reached
through aliases, or an alias inside its own anchor (a value that contains itself), is an
`AliasBombError`. No file of the project uses more than a handful.

Shared (top of the tree, imports no carbonlab package): every YAML input of carbonlab reads
through it (`carbonlab.fields.document`: scenarios, METERS.yaml, register maps, scrape targets;
the topology and the compliance rule sets).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import CollectionNode, MappingNode, Node

MAX_ALIAS_NODES = 10_000   # nodes a document may reach through aliases, beyond its own


class DuplicateKeyError(yaml.MarkedYAMLError):
    """Raised while loading when one mapping holds the same key twice; the file's author's fault."""

    def __init__(self, key: Any, first: yaml.Mark, again: yaml.Mark) -> None:
        super().__init__(problem=f"key {key!r} is given twice in one mapping (line {first.line + 1} "
                                 f"and line {again.line + 1})", problem_mark=again)
        self.key = key
        self.first_line = first.line + 1
        self.line = again.line + 1


class AliasBombError(yaml.MarkedYAMLError):
    """Raised while loading when aliases expand to more than `MAX_ALIAS_NODES` nodes, or an alias
    refers to a node that contains it; the file's author's fault."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem=problem, problem_mark=mark)


def _check_expansion(root: Node) -> None:
    """Count the nodes of `root` as expanded (each alias as a full copy of its anchor's value);
    refuse more than the document's own nodes plus `MAX_ALIAS_NODES`, or a cycle. Iterative and
    memoised by node identity: linear in the composed graph whatever it expands to."""
    size: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            open_.discard(key)
            size[key] = min(1 + sum(size[id(c)] for c in children), 1 << 62)
            continue
        if key in size:
            continue
        if key in open_:
            raise AliasBombError("an alias refers to a node that contains it (a value holding "
                                 "itself)", node.start_mark)
        open_.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in size)
    expanded, own = size[id(root)], len(size)
    if expanded - own > MAX_ALIAS_NODES:
        raise AliasBombError(f"aliases expand to more than {MAX_ALIAS_NODES:,} nodes "
                             f"({min(expanded, 10**12):,} nodes; an alias bomb?)", root.start_mark)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, CollectionNode):
        return list(node.value)
    return []


class _UniqueKeyLoader(yaml.SafeLoader):
    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return self.construct_document(node)

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
    """`yaml.safe_load`, except that a repeated key raises `DuplicateKeyError` and aliases that
    expand beyond `MAX_ALIAS_NODES` nodes (or into themselves) raise `AliasBombError`."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
