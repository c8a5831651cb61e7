"""Whose kernel objects does a netns lab's name take?

A netns lab's objects are named from its `lab_id` alone (bridge `clb<lab>`, namespaces
`cl-<lab>-<host>`, veths `clv<lab><i>`, nft table `cl_<lab>`), so two lab directories of the
same lab id on one machine (two clones' catalogue runs, a copied topology) would share them:
the second `up` would put its addresses into the first lab's namespaces and its `down` would
remove them from under the first. Before creating anything, `up` therefore refuses any such
object that exists on the machine and is not recorded in its own state file, naming the other
lab's directory, which the bridge carries as its alias (`ip link set ... alias`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from carbonlab.lab.errors import ProviderError
from carbonlab.lab.proc import run
from carbonlab.lab.resources import Link, Netns, NftTable
from carbonlab.lab.resources.base import Resource
from carbonlab.lab.resources.network import link_exists

ALIAS_PREFIX = "carbonlab lab "
ALIAS_MAX = 255          # IFALIASZ - 1: the kernel refuses a longer alias


def mark_bridge(bridge: str, lab_dir: Path) -> None:
    """Note on the bridge which lab directory made it (`ip link show` prints it as `alias`)."""
    alias = (ALIAS_PREFIX + str(lab_dir))[:ALIAS_MAX]
    run(["ip", "link", "set", "dev", bridge, "alias", alias])


def bridge_owner(bridge: str) -> str:
    """The lab directory a bridge's alias names, or "" (no alias, not carbonlab's, unreadable)."""
    done = run(["ip", "-j", "link", "show", "dev", bridge], check=False, timeout_s=10)
    try:
        links = json.loads(done.stdout or "[]")
    except ValueError:
        return ""
    alias = links[0].get("ifalias", "") if links and isinstance(links[0], dict) else ""
    return alias[len(ALIAS_PREFIX):] if isinstance(alias, str) and alias.startswith(ALIAS_PREFIX) else ""


def _exists(resource: Resource) -> bool:
    if isinstance(resource, Link):
        return link_exists(resource.name)
    if isinstance(resource, Netns):
        return Path(f"/run/netns/{resource.name}").exists()
    if isinstance(resource, NftTable):
        return run(["nft", "list", "table", resource.family, resource.name],
                   check=False, timeout_s=10).returncode == 0
    raise TypeError(f"no existence check for {resource!r}")


def refuse_foreign(lab_id: str, bridge: str, wanted: Iterable[Resource], recorded: list[Resource],
                   state_path: Path) -> None:
    """Raise ProviderError if an object this lab would make already exists and is not this lab's
    (not in `recorded`, its state file's list: a killed `up` of this lab made it)."""
    foreign = [r for r in wanted if r not in recorded and _exists(r)]
    if not foreign:
        return
    owner = bridge_owner(bridge) if Link(bridge) in foreign else ""
    if owner and Path(owner).resolve() == state_path.parent.resolve():
        owner = ""    # this very directory made them, and its state file was lost or replaced
    names = ", ".join(f"{r.words} {r.label()}" for r in foreign[:6]) + (" ..." if len(foreign) > 6 else "")
    if owner and (Path(owner) / "state.json").is_file():
        whose = (f"they belong to the lab in {owner}: take it down first (`carbonlab lab down "
                 f"--lab-dir {owner}`) or give this topology another lab_id")
    else:
        made = f"the lab directory that made them ({owner}) is gone" if owner else \
            "no lab directory names them (a lab's state file was lost)"
        whose = (f"{made}; remove them by hand ({'; '.join(_removal(r) for r in foreign)}) or give "
                 "this topology another lab_id")
    raise ProviderError(f"lab id {lab_id!r} is in use on this machine: {names} exist and are not "
                        f"recorded in {state_path}; {whose}")


def _removal(resource: Resource) -> str:
    """The command that removes an object nobody's state file lists any more."""
    if isinstance(resource, Link):
        return f"ip link del {resource.name}"
    if isinstance(resource, Netns):
        return f"ip netns del {resource.name}"
    if isinstance(resource, NftTable):
        return f"nft delete table {resource.family} {resource.name}"
    raise TypeError(f"no removal command for {resource!r}")
