"""The bundle's file list and the chain it names, checked before anything else is read.

The manifest must list exactly files `build` writes (`BUILT`), each with its SHA-256; the
directory may hold nothing else but the manifest itself and the verifier's statement (made over
the manifest's hash, so beside it). A listed file build never writes is refused by name: the
manifest is not signed, so anyone can list a file of their own in it, and a bundle that carried
it silently would lend it the report's standing.

Every JSON file of the bundle that names a chain (`manifest.json`, `proofs.json`,
`records_proofs.json`, `statement.json`) must name the genesis given to verify (`same_chain`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from carbonlab.apps.report.build import sha256_file
from carbonlab.apps.report.findings import Kind, Verified
from carbonlab.node.genesis import Genesis

REQUIRED = ("proofs.json", "report.json", "report.pdf", "report.xlsx")   # what `build` always writes
BUILT = (*REQUIRED, "records.json", "records_proofs.json")              # what its manifest may list
BESIDE = ("manifest.json", "statement.json")                              # in the directory, not listed


def same_chain(doc: dict[str, Any], name: str, genesis: Genesis, res: Verified, kind: Kind,
               keys: tuple[str, ...] = ("chain_id", "genesis_hash")) -> None:
    """Each of `keys` of the file's top level must be the given genesis's."""
    want = {"chain_id": genesis.chain_id, "genesis_hash": genesis.hash.hex()}
    for key in keys:
        if doc.get(key) != want[key]:
            res.add(kind, f"{name} {key}", f"{_short(doc.get(key))}, the genesis given says {want[key]!r}")


def check_files(out: Path, files: dict[str, Any], res: Verified) -> None:
    """`files` (the manifest's name -> SHA-256) against the directory and what build writes."""
    for name, digest in sorted(files.items()):
        path = out / name
        if name not in BUILT:
            res.add(Kind.MANIFEST, name[:100], f"listed in the manifest, but not a file a report build "
                                               f"writes (those are {', '.join(BUILT)})")
        elif not path.is_file():
            res.add(Kind.MANIFEST, name, "listed in the manifest but missing")
        elif sha256_file(path) != digest:
            res.add(Kind.MANIFEST, name, "its SHA-256 is not the manifest's (the file was changed)")
    for name in REQUIRED:
        if name not in files:
            res.add(Kind.MANIFEST, name, "not in the manifest: every report bundle has it")
    for path in sorted(out.iterdir()):
        if path.name not in (*BESIDE, *REQUIRED) and path.name not in files:
            res.add(Kind.MANIFEST, path.name, "not listed in the manifest")


def _short(value: object, n: int = 100) -> str:
    text = repr(value)
    return text if len(text) <= n else text[:n] + "..."
