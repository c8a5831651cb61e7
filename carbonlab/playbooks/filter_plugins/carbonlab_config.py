"""Ansible filters `carbonlab_node_toml` and `carbonlab_gateway_toml`: NODE.toml and
GATEWAY.toml, written by the services' own models (`NodeConfig.to_toml`,
`GatewayConfig.to_toml`) on the controller, so the roles, the local cluster and the tests
write the files one way and the services read back exactly what was meant. The gateway's
instance is validated on the controller first (`gateway.config.parse`): a bad one fails the
play naming the field, before anything reaches a host.

Ansible loads every filter plugin in each worker process that renders a template (one per
host and task), so this module imports nothing of carbonlab at load time: the models load
in the workers that call these filters, and they are light (`node/p2p/settings.py`). Loading
py-libp2p here once took about 1 s of CPU per worker, three quarters of a lab's provisioning."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def carbonlab_node_toml(instance: dict[str, Any], etc: str, var: str, log_level: str) -> str:
    """`instance` is one of the inventory's `node_instances` (member_id, p2p_listen, api_listen)."""
    import multiaddr

    from carbonlab.fields import HostPort
    from carbonlab.node.config import NodeConfig
    from carbonlab.node.p2p.settings import P2PSettings

    member = str(instance["member_id"])
    return NodeConfig(
        path=Path(etc) / f"node-{member}.toml", member_id=member,
        key_file=Path(etc) / "keys" / f"{member}.key",
        genesis_file=Path(etc) / "genesis.json", data_dir=Path(var) / member,
        p2p_listen=multiaddr.Multiaddr(str(instance["p2p_listen"])),
        api_listen=HostPort.parse(str(instance["api_listen"])), log_level=log_level, ledger_sync="full",
        peer_addrs={},
        p2p=P2PSettings()).to_toml()


def carbonlab_gateway_toml(instance: dict[str, Any], etc: str, var: str) -> str:
    """`instance` is one of the inventory's `gateway_instances` (gateway_id, mode, nodes,
    metrics_listen, interval_s, meters)."""
    from carbonlab.gateway import config as gateway_config

    gateway = str(instance["gateway_id"])
    raw = {"gateway_id": gateway, "key_file": f"keys/{gateway}.key", "genesis": "genesis.json",
           "data_dir": str(Path(var) / gateway),
           **{k: instance[k] for k in ("mode", "nodes", "metrics_listen", "interval_s", "meters")}}
    return gateway_config.parse(raw, Path(etc) / f"gateway-{gateway}.toml").to_toml()


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"carbonlab_node_toml": carbonlab_node_toml, "carbonlab_gateway_toml": carbonlab_gateway_toml}
