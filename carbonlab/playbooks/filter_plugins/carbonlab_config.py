"""Ansible filter `carbonlab_node_toml`: a member's NODE.toml, written by the node's own model
(`NodeConfig.to_toml`) on the controller, so the role, the local cluster and the tests write
the file one way and the node reads back exactly what was meant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import multiaddr

from carbonlab.node.config import NodeConfig
from carbonlab.node.p2p.host import P2PSettings


def carbonlab_node_toml(instance: dict[str, Any], etc: str, var: str, log_level: str) -> str:
    """`instance` is one of the inventory's `node_instances` (member_id, p2p_listen, api_listen)."""
    member = str(instance["member_id"])
    host, _, port = str(instance["api_listen"]).rpartition(":")
    return NodeConfig(
        path=Path(etc) / f"node-{member}.toml", member_id=member,
        key_file=Path(etc) / "keys" / f"{member}.key",
        genesis_file=Path(etc) / "genesis.json", data_dir=Path(var) / member,
        p2p_listen=multiaddr.Multiaddr(str(instance["p2p_listen"])), api_host=host.strip("[]"),
        api_port=int(port), log_level=log_level, ledger_sync="full", peer_addrs={},
        p2p=P2PSettings()).to_toml()


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"carbonlab_node_toml": carbonlab_node_toml}
