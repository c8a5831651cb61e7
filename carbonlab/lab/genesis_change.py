"""Whether a topology would change the genesis of the lab already running from a lab directory.

Every member's ledger is made for one genesis (its hash is the chain's identity): a node
given another genesis refuses its own ledger and its supervisor restarts it until the start
limit. So `lab up` on a running lab works out the genesis the playbook would write (the
topology's spec, with the running lab's public keys: keys are made once, on the hosts) and
compares it with `LAB_DIR/genesis.json` before touching anything. A change (a `params` value,
`local.base_port`, which moves the members' addresses, a member or meter added) is refused.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from carbonlab.lab.errors import StateError
from carbonlab.node.errors import NodeError
from carbonlab.node.genesis import Genesis

SHOWN = 3            # differences named in the message; the rest are counted
KEY_FIELDS = ("public_key", "peer_id")


def check_same_genesis(spec: dict[str, Any], running_file: Path, topology: str, lab_dir: Path) -> None:
    """StateError naming the first differences when the genesis of `spec` (the inventory's
    genesis spec, without keys) is not the one in `running_file`; nothing when there is no
    running genesis to compare with (a lab not provisioned yet) or it is unreadable."""
    if not running_file.is_file():
        return
    try:
        running = Genesis.load(running_file).to_json()
    except NodeError:
        return
    changes = differences(_without_keys(running), _without_keys(_with_keys(spec, running)))
    if not changes:
        return
    more = f", and {len(changes) - SHOWN} more" if len(changes) > SHOWN else ""
    raise StateError(
        f"{topology}: this topology changes the chain's genesis ({', '.join(changes[:SHOWN])}{more}); "
        f"the members' ledgers were made for the running one ({running_file}); "
        f"`carbonlab lab down --lab-dir {lab_dir}` first (nothing was changed)")


def _with_keys(spec: dict[str, Any], running: dict[str, Any]) -> dict[str, Any]:
    """The genesis the playbook's `carbonlab_genesis` would write from `spec`, in its JSON form,
    given the running lab's keys; a member or gateway new to the lab gets a stand-in key."""
    keys = {e["id"]: e for e in [*running.get("members", []), *running.get("gateways", [])]}

    def key(entry: dict[str, Any]) -> dict[str, str]:
        known = keys.get(entry["id"])
        if known is not None:
            return {k: known[k] for k in KEY_FIELDS if k in known}
        return {"public_key": hashlib.sha256(f"new {entry['id']}".encode()).hexdigest()}

    members = [{**m, **key(m)} for m in spec["members"]]
    gateways = [{**g, "public_key": key(g)["public_key"]} for g in spec["gateways"]]
    return Genesis.from_json({**spec, "members": members, "gateways": gateways}).to_json()


def _without_keys(genesis: dict[str, Any]) -> dict[str, Any]:
    return {**genesis, **{part: [{k: v for k, v in e.items() if k not in KEY_FIELDS}
                                 for e in genesis.get(part, [])] for part in ("members", "gateways")}}


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    """`path: old -> new` for every value that differs, in document order."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in [*old, *(k for k in new if k not in old)]:
            where = f"{path}.{key}" if path else str(key)
            if key not in new:
                out.append(f"{where}: removed")
            elif key not in old:
                out.append(f"{where}: added")
            else:
                out.extend(differences(old[key], new[key], where))
        return out
    if isinstance(old, list) and isinstance(new, list):
        pairs = enumerate(zip(old, new, strict=False))
        out = [d for i, (a, b) in pairs for d in differences(a, b, f"{path}[{i}]")]
        if len(old) != len(new):
            out.append(f"{path}: {len(old)} -> {len(new)} entries")
        return out
    return [] if old == new else [f"{path}: {_shown(old)} -> {_shown(new)}"]


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)
