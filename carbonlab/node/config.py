"""NODE.toml: one member's configuration, validated once into a `NodeConfig`.

Each field's default and rule is declared once on `NodeConfig` (and `P2PSettings` for the
`[p2p]` table) and read by the shared `carbonlab.fields`; every error names the file and
the field and says what is allowed. Relative paths are relative to the TOML file. Peers
default to each genesis member's `p2p_addr`; the `[peers]` table overrides them. A peer's
address may carry `/p2p/<peer id>`: it must then be the peer ID of that member's genesis key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import multiaddr
import tomli_w

from carbonlab import fields as config_fields
from carbonlab.asgi import DEFAULT_BODY_TIMEOUT_S
from carbonlab.fields import FieldError, HostPort, longest, spec
from carbonlab.logs import LEVELS
from carbonlab.node.errors import NodeError
from carbonlab.node.genesis import Genesis
from carbonlab.node.p2p.settings import P2PSettings, PeerSpec
from carbonlab.node.pbft.normal import DEFAULT_MAX_IN_FLIGHT

SYNC_MODES = ("full", "normal")
# a few seconds of the cluster's work, not minutes: past what it can decide soon a member refuses
# (503) rather than queue, or an open-loop overload took the cluster down with it (links timed
# out, state transfers, view changes: docs/performance.md, "Overload"). A gateway keeps one batch
# in flight, so the bound must be at least the gateways that post to this member
DEFAULT_MAX_PENDING_BATCHES = 100
DEFAULT_MAX_BLOCKS_IN_FLIGHT = DEFAULT_MAX_IN_FLIGHT
TABLES = ("peers", "p2p")     # read apart: a table of addresses, and P2PSettings


class ConfigError(NodeError, ValueError):
    """Raised when NODE.toml is unreadable or a field is wrong; the operator's fault."""


def _multiaddr(text: str) -> multiaddr.Multiaddr:
    try:
        return multiaddr.Multiaddr(text)
    except Exception as exc:  # noqa: BLE001 - multiaddr raises several unrelated types
        raise ValueError(f"not a multiaddr ({exc})") from None


def _tcp_listen(text: str) -> multiaddr.Multiaddr:
    listen = _multiaddr(text)
    protos = [p.name for p in listen.protocols()]
    if protos not in (["ip4", "tcp"], ["ip6", "tcp"]):
        raise ValueError(f"expected /ip4/<address>/tcp/<port>, got {listen}")
    return listen


@dataclass(frozen=True)
class NodeConfig:
    path: Path
    member_id: str = spec(check=longest(64))
    key_file: Path = spec()
    genesis_file: Path = spec(key="genesis")
    data_dir: Path = spec()
    p2p_listen: multiaddr.Multiaddr = spec(read=_tcp_listen)
    api_listen: HostPort = spec(read=HostPort.parse)
    log_level: str = spec("info", choices=LEVELS)
    # "full": fsync per commit; "normal": survives a process crash, not power loss
    ledger_sync: str = spec("full", choices=SYNC_MODES)
    # batches submitted here and not yet decided: past this bound the API refuses new ones (503,
    # Retry-After) instead of queueing without limit; see docs/performance.md, "Overload"
    max_pending_batches: int = spec(DEFAULT_MAX_PENDING_BATCHES, lo=1, hi=10_000_000)
    # as primary, blocks proposed and not yet executed here at most (0: up to the high watermark);
    # batches arriving meanwhile wait for the next block, so blocks grow with the load instead of
    # their count: see docs/performance.md, "Consensus"
    max_blocks_in_flight: int = spec(DEFAULT_MAX_BLOCKS_IN_FLIGHT, lo=0, hi=100_000)
    # a request body must arrive within this, plus 1 s per 500 bytes, or it is answered 408 and
    # the connection closed (carbonlab/asgi.py): a stalled body held a connection for ever
    api_body_timeout_s: float = spec(DEFAULT_BODY_TIMEOUT_S, lo=1.0, hi=600.0)
    peer_addrs: dict[str, multiaddr.Multiaddr] = field(default_factory=dict)   # member id -> address
    p2p: P2PSettings = field(default_factory=P2PSettings)

    @property
    def api_host(self) -> str:
        return self.api_listen.host

    @property
    def api_port(self) -> int:
        return self.api_listen.port

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.sqlite"

    def to_toml(self) -> str:
        """This config as NODE.toml text that `load(self.path)` reads back into an equal config
        (paths under the file's folder are written relative to it). Every writer of NODE.toml
        (the node role, the local cluster, tests) uses this."""
        base = self.path.parent
        doc: dict[str, Any] = {
            "member_id": self.member_id, "key_file": _relative(self.key_file, base),
            "genesis": _relative(self.genesis_file, base), "data_dir": _relative(self.data_dir, base),
            "p2p_listen": str(self.p2p_listen), "api_listen": str(self.api_listen),
            "log_level": self.log_level, "ledger_sync": self.ledger_sync,
        }
        if self.max_pending_batches != DEFAULT_MAX_PENDING_BATCHES:
            doc["max_pending_batches"] = self.max_pending_batches
        if self.max_blocks_in_flight != DEFAULT_MAX_BLOCKS_IN_FLIGHT:
            doc["max_blocks_in_flight"] = self.max_blocks_in_flight
        if self.api_body_timeout_s != DEFAULT_BODY_TIMEOUT_S:
            doc["api_body_timeout_s"] = self.api_body_timeout_s
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
        try:
            return self._peer_specs(genesis)
        except FieldError as exc:
            raise ConfigError(str(exc)) from None

    def _peer_specs(self, genesis: Genesis) -> list[PeerSpec]:
        from carbonlab.node.p2p.identity import peer_id_of  # py-libp2p: only where peers are dialled

        here, gfile = str(self.path), str(self.genesis_file)
        specs = []
        for i, member in enumerate(genesis.members):
            pid = peer_id_of(member.public_key)
            if member.peer_id and member.peer_id != pid.to_base58():
                raise FieldError(gfile, f"members[{i}].peer_id",
                                 f"{member.peer_id} is not the peer ID of its public key ({pid})")
            if member.id == self.member_id:
                continue
            addr = self.peer_addrs.get(member.id)
            if addr is None and member.p2p_addr:
                addr = config_fields.read(_multiaddr, member.p2p_addr, file=gfile,
                                          field=f"members[{i}].p2p_addr")
            if addr is None:
                raise FieldError(here, f"peers.{member.id}",
                                 f"no address for member {member.id!r} (genesis has no p2p_addr for it)")
            given = _peer_part(addr)
            if given and given != pid.to_base58():
                raise FieldError(here, f"peers.{member.id}",
                                 f"/p2p/{given} is not this member's peer ID {pid}")
            specs.append(PeerSpec(member.id, pid, _strip_p2p(addr)))
        if self.member_id not in genesis.member_ids:
            raise FieldError(here, "member_id", f"{self.member_id!r} is not a member in {gfile} "
                                                f"(members: {', '.join(genesis.member_ids)})")
        return specs


def load(path: Path) -> NodeConfig:
    try:
        return _parse(path, config_fields.document(path, "node config", syntax="toml"))
    except FieldError as exc:
        raise ConfigError(str(exc)) from None


def _parse(path: Path, raw: dict[str, Any]) -> NodeConfig:
    file = str(path)
    checked = config_fields.values(NodeConfig, raw, file=file, names=FILE_FIELDS, allowed=TABLES)
    peers = raw.get("peers", {})
    if not isinstance(peers, dict):
        raise FieldError(file, "peers", f"must be a table, got {type(peers).__name__}")
    peer_addrs = {member: config_fields.read(_multiaddr, addr, file=file, field=f"peers.{member}")
                  for member, addr in peers.items()}
    base = path.parent
    return NodeConfig(
        path=path, **{**checked, **{k: base / checked[k] for k in ("key_file", "genesis_file", "data_dir")}},
        peer_addrs=peer_addrs,
        p2p=config_fields.build(P2PSettings, raw.get("p2p", {}), file=file, prefix="p2p."),
    )


FILE_FIELDS = tuple(f.name for f in fields(NodeConfig) if f.name not in ("path", "peer_addrs", "p2p"))


def _relative(path: Path, base: Path) -> str:
    return os.path.relpath(path, base) if path.is_relative_to(base) else str(path)


def _peer_part(addr: multiaddr.Multiaddr) -> str | None:
    try:
        given: str | None = addr.value_for_protocol("p2p")
    except Exception:  # noqa: BLE001 - absent /p2p part
        return None
    return given


def _strip_p2p(addr: multiaddr.Multiaddr) -> multiaddr.Multiaddr:
    text = str(addr)
    if "/p2p/" in text:
        text = text[: text.index("/p2p/")]
    return multiaddr.Multiaddr(text)
