"""NODE.toml: one member's configuration, validated once into a `NodeConfig`.

Every error names the file and the field and says what is allowed. Relative paths
are relative to the TOML file. Peers default to each genesis member's `p2p_addr`;
the `[peers]` table overrides them. A peer's address may carry `/p2p/<peer id>`:
it must then be the peer ID of that member's genesis key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import multiaddr
import tomli_w

from carbonlab.node.errors import NodeError, SchemaError
from carbonlab.node.genesis import Genesis
from carbonlab.node.p2p.host import P2PSettings, PeerSpec
from carbonlab.node.p2p.identity import peer_id_of
from carbonlab.node.schema import as_choice, as_dict, as_float, as_int, as_str

LOG_LEVELS = ("debug", "info", "warning", "error")
SYNC_MODES = ("full", "normal")
FIELDS = ("member_id", "key_file", "genesis", "data_dir", "p2p_listen", "api_listen", "log_level",
          "ledger_sync", "peers", "p2p")
P2P_FIELDS = {"max_frame_bytes": (1024, 256 * 1024 * 1024), "queue_max_messages": (1, 10_000_000),
              "queue_max_bytes": (1024, 4 * 1024 * 1024 * 1024), "inbound_buffer": (1, 10_000_000)}
P2P_SECONDS = ("write_timeout_s", "dial_timeout_s", "heartbeat_s", "silent_after_s",
               "backoff_min_s", "backoff_max_s")


class ConfigError(NodeError, ValueError):
    """Raised when NODE.toml is unreadable or a field is wrong; the operator's fault."""


@dataclass(frozen=True)
class NodeConfig:
    path: Path
    member_id: str
    key_file: Path
    genesis_file: Path
    data_dir: Path
    p2p_listen: multiaddr.Multiaddr
    api_host: str
    api_port: int
    log_level: str
    ledger_sync: str     # "full": fsync per commit; "normal": survives a process crash, not power loss
    peer_addrs: dict[str, multiaddr.Multiaddr]   # member id -> address without /p2p
    p2p: P2PSettings

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.sqlite"

    def to_toml(self) -> str:
        """This config as NODE.toml text that `load(self.path)` reads back into an equal config
        (paths under the file's folder are written relative to it). Every writer of NODE.toml
        (the node role, the local cluster, tests) uses this."""
        base = self.path.parent
        host = f"[{self.api_host}]" if ":" in self.api_host else self.api_host
        doc: dict[str, Any] = {
            "member_id": self.member_id, "key_file": _relative(self.key_file, base),
            "genesis": _relative(self.genesis_file, base), "data_dir": _relative(self.data_dir, base),
            "p2p_listen": str(self.p2p_listen), "api_listen": f"{host}:{self.api_port}",
            "log_level": self.log_level, "ledger_sync": self.ledger_sync,
        }
        if self.peer_addrs:
            doc["peers"] = {member: str(addr) for member, addr in self.peer_addrs.items()}
        default = P2PSettings()
        changed = {f.name: getattr(self.p2p, f.name) for f in fields(P2PSettings)
                   if getattr(self.p2p, f.name) != getattr(default, f.name)}
        if changed:
            doc["p2p"] = changed
        return tomli_w.dumps(doc)

    def peer_specs(self, genesis: Genesis) -> list[PeerSpec]:
        """Every other member with its peer ID (from its genesis key) and dial address."""
        specs = []
        for i, member in enumerate(genesis.members):
            pid = peer_id_of(member.public_key)
            if member.peer_id and member.peer_id != pid.to_base58():
                raise ConfigError(f"{self.genesis_file}: genesis.members[{i}].peer_id: {member.peer_id} "
                                  f"is not the peer ID of its public key ({pid})")
            if member.id == self.member_id:
                continue
            addr = self.peer_addrs.get(member.id)
            if addr is None and member.p2p_addr:
                addr = _maddr(member.p2p_addr, f"{self.genesis_file}: genesis.members[{i}].p2p_addr")
            if addr is None:
                raise ConfigError(f"{self.path}: peers.{member.id}: no address for member "
                                  f"{member.id!r} (genesis has no p2p_addr for it)")
            _check_peer_part(addr, pid.to_base58(), f"{self.path}: peers.{member.id}")
            specs.append(PeerSpec(member.id, pid, _strip_p2p(addr)))
        if self.member_id not in genesis.member_ids:
            raise ConfigError(f"{self.path}: member_id: {self.member_id!r} is not a member in "
                              f"{self.genesis_file} (members: {', '.join(genesis.member_ids)})")
        return specs


def load(path: Path) -> NodeConfig:
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        return _parse(path, raw)
    except SchemaError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _parse(path: Path, raw: dict[str, Any]) -> NodeConfig:
    obj = as_dict(raw, "NODE", allowed=FIELDS, required=("member_id", "key_file", "genesis",
                                                           "data_dir", "p2p_listen", "api_listen"))
    base = path.parent
    listen = _maddr(as_str(obj["p2p_listen"], "p2p_listen"), f"{path}: p2p_listen")
    protos = [p.name for p in listen.protocols()]
    if protos[:2] not in (["ip4", "tcp"], ["ip6", "tcp"]) or len(protos) != 2:
        raise ConfigError(f"{path}: p2p_listen: expected /ip4/<address>/tcp/<port>, got {listen}")
    api = as_str(obj["api_listen"], "api_listen")
    host, sep, port_text = api.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"{path}: api_listen: expected <host>:<port> with a port 1-65535, got {api!r}")
    peers: dict[str, multiaddr.Multiaddr] = {}
    for member, addr in as_dict(obj.get("peers", {}), "peers").items():
        peers[member] = _maddr(as_str(addr, f"peers.{member}"), f"{path}: peers.{member}")
    settings: dict[str, Any] = {}
    for key, value in as_dict(obj.get("p2p", {}), "p2p",
                              allowed=(*P2P_FIELDS, *P2P_SECONDS)).items():
        if key in P2P_FIELDS:
            lo, hi = P2P_FIELDS[key]
            settings[key] = as_int(value, f"p2p.{key}", lo=lo, hi=hi)
        else:
            seconds = as_float(value, f"p2p.{key}")
            if not 0 < seconds <= 3600:
                raise SchemaError(f"p2p.{key}", f"must be in (0, 3600] seconds, got {seconds}")
            settings[key] = seconds
    return NodeConfig(
        path=path,
        member_id=as_str(obj["member_id"], "member_id", max_len=64),
        key_file=base / as_str(obj["key_file"], "key_file"),
        genesis_file=base / as_str(obj["genesis"], "genesis"),
        data_dir=base / as_str(obj["data_dir"], "data_dir"),
        p2p_listen=listen, api_host=host.strip("[]"), api_port=int(port_text),
        log_level=as_choice(obj.get("log_level", "info"), "log_level", LOG_LEVELS),
        ledger_sync=as_choice(obj.get("ledger_sync", "full"), "ledger_sync", SYNC_MODES),
        peer_addrs=peers, p2p=P2PSettings(**settings),
    )


def _relative(path: Path, base: Path) -> str:
    return os.path.relpath(path, base) if path.is_relative_to(base) else str(path)


def _maddr(text: str, where: str) -> multiaddr.Multiaddr:
    try:
        return multiaddr.Multiaddr(text)
    except Exception as exc:  # noqa: BLE001 - multiaddr raises several unrelated types
        raise ConfigError(f"{where}: not a multiaddr ({exc})") from None


def _check_peer_part(addr: multiaddr.Multiaddr, expected: str, where: str) -> None:
    try:
        given = addr.value_for_protocol("p2p")
    except Exception:  # noqa: BLE001 - absent /p2p part
        return
    if given and given != expected:
        raise ConfigError(f"{where}: /p2p/{given} is not this member's peer ID {expected}")


def _strip_p2p(addr: multiaddr.Multiaddr) -> multiaddr.Multiaddr:
    text = str(addr)
    if "/p2p/" in text:
        text = text[: text.index("/p2p/")]
    return multiaddr.Multiaddr(text)
