"""Faults on the `netns` lab's network: partition, isolate, uplink cut, loss (nft on the lab
bridge), bandwidth (tbf on both ends of a host's link), delay and jitter (a rig proxy that
the source host's traffic is redirected to by an nft DNAT rule in its namespace).

Each applied fault owns its own nft table (named `clrig_<lab>_<what>_<n>`), so healing is
deleting that table: faults combine and heal independently, and heal is idempotent.
Traffic between a host and the controller (the bridge's own address) is not forwarded by
the bridge, so the rig keeps seeing every node while the nodes cannot see each other.
"""

from __future__ import annotations

from typing import Any

from carbonlab.rig.errors import FaultError
from carbonlab.rig.faults.base import Fault, Param
from carbonlab.rig.faults.context import FaultContext, LabNet
from carbonlab.rig.faults.proxy import DelayProxy, ProxySpec


def host_of(ctx: FaultContext, name: str) -> str:
    """A node, a gateway or a host id -> the host id."""
    if name in ctx.nodes:
        return ctx.nodes[name].host_id
    if name in ctx.gateways:
        return ctx.gateways[name].host_id
    return name


def bridge_table(net: LabNet, name: str, rules: list[str]) -> None:
    body = "".join(f"  {rule}\n" for rule in rules)
    net.run(["nft", "-f", "-"], stdin=f"table bridge {name} {{\n chain forward {{\n"
            f"  type filter hook forward priority 0; policy accept;\n{body} }}\n}}\n")


def drop_table(net: LabNet, family: str, name: str, netns: str | None = None) -> bool:
    return net.run(["nft", "delete", "table", family, name], netns=netns, check=False).returncode == 0


def _set(addresses: list[str]) -> str:
    return "{ " + ", ".join(sorted(addresses)) + " }"


class _TableFault(Fault):
    def rules(self, ctx: FaultContext, net: LabNet) -> list[str]:
        raise NotImplementedError

    def apply(self, ctx: FaultContext) -> str:
        net = ctx.network(self.id)
        rules = self.rules(ctx, net)
        name = net.table_name(self.id.split(".")[-1])
        self.undo = {"table": name}
        bridge_table(net, name, rules)
        return f"nft table bridge {name}: " + "; ".join(rules)

    def heal(self, ctx: FaultContext) -> str:
        net = ctx.network(self.id)
        name = self.undo.get("table", "")
        return f"deleted table {name}" if name and drop_table(net, "bridge", name) else "no table left"


class Partition(_TableFault):
    id = "node.partition"
    summary = "split the members into groups that cannot reach each other"
    target_kind = "lab"
    PARAMS = {"groups": Param(list, help="lists of member (or gateway) ids, e.g. [[n1, n2], [n3, n4]]")}

    def faulty_members(self) -> tuple[str, ...]:
        """The smallest group: the side cut off from the quorum (ties: the first named)."""
        groups = [g for g in self.params["groups"] if isinstance(g, list)]
        return tuple(str(m) for m in min(groups, key=len)) if groups else ()

    def rules(self, ctx: FaultContext, net: LabNet) -> list[str]:
        groups = self.params["groups"]
        if len(groups) < 2 or not all(isinstance(g, list) and g for g in groups):
            raise FaultError(f"fault {self.id}: groups must be two or more non-empty lists, got {groups!r}")
        addresses = [[net.host(host_of(ctx, str(m))).address for m in g] for g in groups]
        rules = []
        for i, a in enumerate(addresses):
            for b in addresses[i + 1:]:
                rules += [f"ip saddr {_set(a)} ip daddr {_set(b)} drop",
                          f"ip saddr {_set(b)} ip daddr {_set(a)} drop"]
        return rules


class Isolate(_TableFault):
    id = "node.isolate"
    summary = "cut one host off from every other host of the lab"
    target_kind = "node"

    def faulty_members(self) -> tuple[str, ...]:
        return (self.target,)

    def rules(self, ctx: FaultContext, net: LabNet) -> list[str]:
        address = net.host(host_of(ctx, self.target)).address
        return [f"ip saddr {address} drop", f"ip daddr {address} drop"]


class UplinkCut(_TableFault):
    id = "gateway.uplink_cut"
    summary = "the gateway cannot reach any node (its meters stay reachable)"
    target_kind = "gateway"

    def rules(self, ctx: FaultContext, net: LabNet) -> list[str]:
        gw = net.host(host_of(ctx, self.target)).address
        nodes = sorted({net.host(ref.host_id).address for ref in ctx.nodes.values()})
        if not nodes:
            raise FaultError(f"fault {self.id}: the lab has no nodes")
        return [f"ip saddr {gw} ip daddr {_set(nodes)} drop", f"ip saddr {_set(nodes)} ip daddr {gw} drop"]


class Loss(_TableFault):
    id = "link.loss"
    summary = "drop a random share of the packets to and from a host"
    target_kind = "host"
    PARAMS = {"pct": Param(float, help="share of packets dropped, in %", minimum=0.01, maximum=100.0)}

    def rules(self, ctx: FaultContext, net: LabNet) -> list[str]:
        address = net.host(host_of(ctx, self.target)).address
        cut = round(self.params["pct"] * 100)
        when = "" if cut >= 10000 else f"numgen random mod 10000 < {cut} "
        return [f"ip saddr {address} {when}drop", f"ip daddr {address} {when}drop"]


class Bandwidth(Fault):
    id = "link.bandwidth"
    summary = "limit a host's link to a rate, both ways (tbf)"
    target_kind = "host"
    PARAMS = {"rate_kbit": Param(int, help="rate in kbit/s", minimum=8),
              "burst_kbit": Param(int, 32, "bucket size in kbit", minimum=8)}

    def _devices(self, ctx: FaultContext) -> list[tuple[str, str | None]]:
        net = ctx.network(self.id)
        host = net.host(host_of(ctx, self.target))
        return [(host.veth, None), ("eth0", host.netns)]

    def apply(self, ctx: FaultContext) -> str:
        net = ctx.network(self.id)
        rate, burst = f"{self.params['rate_kbit']}kbit", f"{self.params['burst_kbit']}kbit"
        for dev, ns in self._devices(ctx):
            net.run(["tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate", rate, "burst", burst,
                     "latency", "100ms"], netns=ns)
        return f"tbf {rate} on {', '.join(d for d, _ in self._devices(ctx))} of {self.target}"

    def heal(self, ctx: FaultContext) -> str:
        net = ctx.network(self.id)
        for dev, ns in self._devices(ctx):
            net.run(["tc", "qdisc", "del", "dev", dev, "root"], netns=ns, check=False)
        return "tbf removed"


class Delay(Fault):
    id = "link.delay"
    summary = "delay (with jitter) the TCP connections a host opens to a peer's port, through a rig proxy"
    target_kind = "host"
    PARAMS = {"to": Param(str, help="the node, gateway or host connected to"),
              "port": Param(int, help="the peer's TCP port (p2p 4001, API 8080)", minimum=1, maximum=65535),
              "delay_ms": Param(float, help="added one-way delay", minimum=0.0, maximum=60000.0),
              "jitter_ms": Param(float, 0.0, "uniform jitter around the delay", minimum=0.0)}

    def apply(self, ctx: FaultContext) -> str:
        net = ctx.network(self.id)
        src = net.host(host_of(ctx, self.target))
        dst = net.host(host_of(ctx, self.params["to"]))
        proxy = DelayProxy(ProxySpec(net.controller_address, dst.address, self.params["port"],
                                     self.params["delay_ms"], self.params["jitter_ms"], ctx.seed))
        port = proxy.start()
        name = net.table_name("delay")
        self.undo: dict[str, Any] = {"proxy": proxy, "table": name, "netns": src.netns}
        rule = (f"ip daddr {dst.address} tcp dport {self.params['port']} "
                f"dnat to {net.controller_address}:{port}")
        net.run(["nft", "-f", "-"], netns=src.netns, stdin=f"table ip {name} {{\n chain output {{\n"
                f"  type nat hook output priority -100;\n  {rule}\n }}\n}}\n")
        return f"{self.target} -> {dst.address}:{self.params['port']} through proxy :{port} ({rule})"

    def heal(self, ctx: FaultContext) -> str:
        net = ctx.network(self.id)
        if "table" in self.undo:
            drop_table(net, "ip", self.undo["table"], self.undo["netns"])
        proxy = self.undo.pop("proxy", None)
        if proxy is not None:
            proxy.stop()
            return f"removed the redirect; the proxy carried {proxy.connections} connection(s)"
        return "nothing to heal"
