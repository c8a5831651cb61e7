"""DESIGN.md's dependency rules, checked by reading every import under carbonlab/.

Each module is parsed with `ast`; every import counts, also one inside a function or under
`if TYPE_CHECKING:`. An import of `carbonlab.<package>...` is allowed when `ALLOWED` (the
table docs/architecture.md shows) lists that package for the importer's package; the
top-level shared modules (`carbonlab/errors.py`, `logs.py`, `fields.py`, `checks.py`, ...) are allowed from
everywhere. On top of the table: the gateway may use only the parts of `node` that are its
data model and crypto, and `node/pbft` does no I/O and reads no clock.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import carbonlab

ROOT = Path(carbonlab.__file__).parent

# package -> the packages it may import (besides itself and the shared top-level modules)
ALLOWED: dict[str, frozenset[str]] = {
    "node": frozenset(),
    "dashboards": frozenset(),
    "gateway": frozenset({"node"}),                    # only GATEWAY_USES_OF_NODE
    "apps": frozenset({"node"}),
    "client": frozenset({"apps", "node"}),
    "lab": frozenset({"node", "gateway", "dashboards"}),
    "rig": frozenset({"node", "gateway", "dashboards", "lab"}),
    "playbooks": frozenset({"node", "gateway"}),       # lab-host modules; controller config filters
    "bench": frozenset({"node", "gateway", "rig"}),    # test and benchmark harnesses
    "cli": frozenset({"node", "gateway", "dashboards", "lab", "rig", "bench", "apps", "client"}),
}
# the gateway is a client of the chain: it may use node's data model and crypto, nothing else
# (the generic value checks are the shared carbonlab/checks.py, not node's)
GATEWAY_USES_OF_NODE = frozenset({"model", "codec", "crypto", "merkle", "emissions", "errors",
                                  "genesis"})
# node/pbft is a pure state machine: no I/O, no clock, no event loop, no node module that has them
PBFT_FORBIDDEN = frozenset({"trio", "libp2p", "sqlite3", "socket", "asyncio", "anyio", "time", "datetime",
                            "httpx", "h11", "hypercorn", "subprocess", "threading", "os", "select",
                            "carbonlab.node.driver", "carbonlab.node.service", "carbonlab.node.run",
                            "carbonlab.node.p2p", "carbonlab.node.ledger", "carbonlab.node.api",
                            "carbonlab.node.config", "carbonlab.node.metrics"})


@dataclass(frozen=True)
class Import:
    path: Path       # the importing file
    line: int
    module: str      # the importing module, dotted
    target: str      # the imported module, dotted and absolute


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, source: str | None = None) -> list[Import]:
    """Every import in the file, wherever it stands, resolved to absolute module names.

    `from carbonlab.node import model` counts as an import of `carbonlab.node.model` (and of
    `carbonlab.node`), so a submodule imported by name is seen as itself."""
    module = module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    tree = ast.parse(path.read_text() if source is None else source, str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                head = package[:len(package) - node.level + 1]
                base = ".".join(head + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")]
            if base.startswith("carbonlab"):
                # `from carbonlab.node import model`: model may be a module or a name in node;
                # keep the longer form only when it is a module
                targets = [base, *(t for t in targets[1:] if _is_module(t))]
        else:
            continue
        found += [Import(path, node.lineno, module, t) for t in targets]
    return found


def _is_module(dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:])
    return (ROOT / rel).with_suffix(".py").is_file() or (ROOT / rel / "__init__.py").is_file()


def package_of(dotted: str) -> str:
    """`node` for carbonlab.node.x, `shared` for carbonlab itself and its top-level modules."""
    parts = dotted.split(".")
    if len(parts) < 2 or not (ROOT / parts[1]).is_dir():
        return "shared"
    return parts[1]


def all_imports() -> list[Import]:
    return [imp for path in sorted(ROOT.rglob("*.py")) for imp in imports_of(path)]


def _where(imp: Import) -> str:
    return f"{imp.path.relative_to(ROOT.parent)}:{imp.line} imports {imp.target}"


def test_every_package_is_in_the_table() -> None:
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and any(p.rglob("*.py"))}
    assert packages <= set(ALLOWED), f"packages missing from ALLOWED: {sorted(packages - set(ALLOWED))}"


def test_the_reader_sees_imports_in_functions_and_under_type_checking() -> None:
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from carbonlab.rig import scenario\n"
              "def f():\n    import carbonlab.lab.topology\n    from ..node import model\n")
    targets = {i.target for i in imports_of(ROOT / "gateway" / "service.py", source)}
    assert {"carbonlab.rig", "carbonlab.rig.scenario", "carbonlab.lab.topology", "carbonlab.node",
            "carbonlab.node.model"} <= targets


def test_packages_import_only_what_the_table_allows() -> None:
    bad = []
    for imp in all_imports():
        if not imp.target.startswith("carbonlab"):
            continue
        src, dst = package_of(imp.module), package_of(imp.target)
        if src == "shared" and dst not in ("shared",):
            bad.append(f"{_where(imp)} (the shared top-level modules import no package)")
        elif src != "shared" and dst not in (src, "shared") and dst not in ALLOWED[src]:
            allowed = ", ".join(sorted(ALLOWED[src])) or "nothing"
            bad.append(f"{_where(imp)} ({src} may import {allowed} besides itself and the shared modules)")
    assert not bad, "\n".join(bad)


def test_gateway_uses_only_the_data_model_and_crypto_of_node() -> None:
    bad = [f"{_where(imp)} (the gateway may use node's {', '.join(sorted(GATEWAY_USES_OF_NODE))})"
           for imp in all_imports()
           if package_of(imp.module) == "gateway" and imp.target.startswith("carbonlab.node.")
           and imp.target.split(".")[2] not in GATEWAY_USES_OF_NODE]
    assert not bad, "\n".join(bad)


def test_pbft_does_no_io_and_reads_no_clock() -> None:
    bad = [f"{_where(imp)} (node/pbft is a pure state machine)"
           for imp in all_imports()
           if imp.module.startswith("carbonlab.node.pbft")
           and any(imp.target == f or imp.target.startswith(f + ".") for f in PBFT_FORBIDDEN)]
    assert not bad, "\n".join(bad)


def test_harnesses_live_outside_the_production_packages() -> None:
    """No test or benchmark harness module in node or gateway (they moved to carbonlab/bench)."""
    left = [p.name for pkg in ("node", "gateway") for p in (ROOT / pkg).glob("*.py")
            if p.stem in ("localcluster", "benchload", "forecast_eval")]
    assert not left, left


def _assigned_attributes(tree: ast.AST) -> list[tuple[int, str, str]]:
    """(line, owner, attribute) of every `owner.attribute = ...` (owner a name or `x.owner`)."""
    out = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign | ast.AugAssign) else [])
        for t in targets:
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Attribute | ast.Name):
                owner = t.value.attr if isinstance(t.value, ast.Attribute) else t.value.id
                out.append((node.lineno, owner, t.attr))
    return out


def test_nothing_replaces_a_driver_method_at_run_time() -> None:
    """The rig composes a Byzantine node through `Driver(outbound_filter=...)`, not by patching."""
    bad = [f"{path.relative_to(ROOT.parent)}:{line} assigns Driver.{attr}"
           for path in sorted(ROOT.rglob("*.py"))
           for line, owner, attr in _assigned_attributes(ast.parse(path.read_text(), str(path)))
           if owner == "Driver"]
    assert not bad, "\n".join(bad)
