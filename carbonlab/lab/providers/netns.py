"""`netns` (root): each host a network namespace with its own root overlay, mount, UTS and PID
namespaces, and sshd as its first process.

Theory of operation. The lab gets a /24 in 198.18.0.0/15 and a bridge `clb<lab>` holding
its .1; host i is the namespace `cl-<lab>-<host>` joined to the bridge by the veth
`clv<lab><i>` with address .(10 + i). A safety `unreachable` route for the subnet (a
high metric, so the bridge's own route wins while it exists) and an nft table that drops
forwarding between the bridge and any other link keep every lab packet on this machine;
inside, a host has no default route but an `unreachable` one.

A host's first process is `unshare --mount --uts --pid --fork --kill-child`, entered into
the namespace; its child (PID 1 of the new PID namespace) mounts an overlay of / (upper
and work directories under the lab directory), a fresh /proc, /sys, /run and /tmp, sets
the hostname and `exec`s sshd in a chroot of the overlay. When that process dies the
kernel kills every process of the PID namespace and drops its mounts: ending one PID
removes the whole host. Every object is recorded in the state file before it is made
(see state.py), so `down` can always finish what a killed `up` began; an object of the lab's
names that exists and is not recorded is another lab directory's, and `up` refuses to take
it (netns_owner.py).
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from carbonlab.lab.errors import ProviderError, StepError
from carbonlab.lab.guests import nft_table_prefix
from carbonlab.lab.proc import run, start_time
from carbonlab.lab.providers.base import HostLink, LabNetwork, Provider
from carbonlab.lab.providers.netns_owner import mark_bridge, refuse_foreign
from carbonlab.lab.providers.ssh_access import close_control_masters, remote_layout, ssh_env
from carbonlab.lab.resources import HostProcess, LabDir, Link, Netns, NftTable, Resource, Route
from carbonlab.lab.resources.network import link_exists, route_exists
from carbonlab.lab.state import LabState
from carbonlab.lab.topology import LAB_NET

SAFETY_METRIC = 4242
INIT_SCRIPT = """#!/bin/sh
# PID 1 of a carbonlab netns host until it execs sshd: mount the host's world, then become sshd.
set -eu
H="$1"
mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=/,upperdir=$H/upper,workdir=$H/work" "$H/root"
mount -t proc proc "$H/root/proc"
mount -t sysfs sysfs "$H/root/sys"
mount --rbind /dev "$H/root/dev"
mount -t tmpfs -o mode=0755 tmpfs "$H/root/run"
mount -t tmpfs -o mode=1777 tmpfs "$H/root/tmp"
mkdir -p "$H/root/run/sshd"
hostname "$2"
exec chroot "$H/root" /usr/sbin/sshd -D -e -f /etc/ssh/carbonlab_sshd_config
"""
SSHD_CONFIG = """# carbonlab netns host {host}: reached only by the lab's own key
ListenAddress {address}
Port 22
HostKey /etc/ssh/carbonlab_host_key
AuthorizedKeysFile /etc/ssh/carbonlab_authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PidFile none
Subsystem sftp internal-sftp
"""


class NetnsProvider(Provider):
    name = "netns"
    needs_root = True
    sshd_wait_s = 30.0      # for a host's SSH banner; a host silent that long is started once more

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lab = self.topo.lab_id
        self.bridge = f"clb{lab}"
        self.table = f"cl_{lab}"
        self.ssh_dir = self.lab_dir / "ssh"

    # names -----------------------------------------------------------------------------------
    def netns(self, host: str) -> str:
        return f"cl-{self.topo.lab_id}-{host}"

    def veth(self, index: int) -> str:
        return f"clv{self.topo.lab_id}{index}"

    def subnet(self) -> ipaddress.IPv4Network:
        chosen = self.state.facts.get("subnet")
        if not chosen:
            raise ProviderError("netns: the lab has no subnet yet (hosts not created)")
        return ipaddress.IPv4Network(chosen)

    def addresses(self) -> dict[str, str]:
        net = self.subnet()
        return {h.id: str(net.network_address + 10 + i) for i, h in enumerate(self.topo.hosts)}

    # creation --------------------------------------------------------------------------------
    def create_hosts(self) -> None:
        if os.geteuid() != 0:
            raise ProviderError("the netns provider needs root (network namespaces, mounts); "
                                "use --provider local")
        refuse_foreign(self.topo.lab_id, self.bridge, self._named_objects(), self.state.resources,
                       self.state.path)
        if not self.state.facts.get("subnet"):
            self.state.facts["subnet"] = str(self._pick_subnet())
            self.state.save()
        net = self.subnet()
        self.state.record(LabDir(str(self.lab_dir / "hosts")))
        self._keys()
        self._network(net)
        for i, host in enumerate(self.topo.hosts):
            self._host(i, host.id, net)
        for i, host in enumerate(self.topo.hosts):
            try:
                self._wait_sshd(host.id)
            except StepError as exc:
                # Once more from scratch (the host's disk is kept) before giving up: a host
                # that did not answer is ended, and a new first process is started for it.
                self.progress(f"{host.id}: {exc.problem}; starting the host again")
                self._host_process(host.id).remove(self.lab_dir)
                self._host(i, host.id, net)
                self._wait_sshd(host.id, 2 * self.sshd_wait_s)
        self.progress(f"{len(self.topo.hosts)} netns hosts up on {self.bridge} ({net})")

    def _named_objects(self) -> list[Resource]:
        """The machine-wide names this lab's objects take (from its lab id and hosts)."""
        hosts = self.topo.hosts
        return [Link(self.bridge), NftTable("inet", self.table),
                *(Netns(self.netns(h.id)) for h in hosts), *(Link(self.veth(i)) for i in range(len(hosts)))]

    def _pick_subnet(self) -> ipaddress.IPv4Network:
        if self.topo.netns.subnet:   # a /24 inside LAB_NET: the topology checked it at load
            return ipaddress.IPv4Network(self.topo.netns.subnet)
        used = _used_networks()
        candidates = list(LAB_NET.subnets(new_prefix=24))
        for net in candidates[100:] + candidates[1:100]:
            if not any(net.overlaps(u) for u in used):
                return net
        raise ProviderError(f"no free /24 left in {LAB_NET}")

    def _keys(self) -> None:
        self.state.record(LabDir(str(self.ssh_dir)))
        self.ssh_dir.mkdir(parents=True, exist_ok=True)
        for name in ("id_ed25519", "host_key"):
            if not (self.ssh_dir / name).exists():
                run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"carbonlab-{self.topo.lab_id}",
                     "-f", str(self.ssh_dir / name)])
        host_pub = (self.ssh_dir / "host_key.pub").read_text().split()[:2]
        lines = [f"{addr} {' '.join(host_pub)}" for addr in self.addresses().values()]
        (self.ssh_dir / "known_hosts").write_text("\n".join(lines) + "\n")

    def _network(self, net: ipaddress.IPv4Network) -> None:
        gateway = f"{net.network_address + 1}/{net.prefixlen}"
        if not link_exists(self.bridge):
            self.state.record(Link(self.bridge))
            run(["ip", "link", "add", self.bridge, "type", "bridge"])
            run(["ip", "addr", "add", gateway, "dev", self.bridge])
        run(["ip", "link", "set", self.bridge, "up"])
        mark_bridge(self.bridge, self.lab_dir)
        route = self.state.record(Route(str(net), SAFETY_METRIC))
        if not route_exists(route.prefix, route.metric):
            run(["ip", "route", "add", *route.spec()])
        self.state.record(NftTable("inet", self.table))
        b = self.bridge
        ruleset = (f"table inet {self.table} {{\n chain forward {{\n"
                   "  type filter hook forward priority 0; policy accept;\n"
                   f'  iifname "{b}" oifname != "{b}" drop\n'
                   f'  oifname "{b}" iifname != "{b}" drop\n }}\n}}\n')
        run(["nft", "delete", "table", "inet", self.table], check=False)
        run(["nft", "-f", "-"], input_text=ruleset)

    def _host(self, index: int, host: str, net: ipaddress.IPv4Network) -> None:
        ns = self.netns(host)
        root = self.lab_dir / "hosts" / host
        address = str(net.network_address + 10 + index)
        running = [p for p in self.state.of_kind(HostProcess) if p.host == host and p.alive()]
        if running and Path(f"/run/netns/{ns}").exists():
            return
        self.state.record(LabDir(str(root)))
        self.state.record(Netns(ns))
        if not Path(f"/run/netns/{ns}").exists():
            run(["ip", "netns", "add", ns])
        veth = self.veth(index)
        self.state.record(Link(veth))
        if not link_exists(veth):
            run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
        run(["ip", "link", "set", veth, "master", self.bridge, "up"])
        run(["ip", "-n", ns, "addr", "replace", f"{address}/{net.prefixlen}", "dev", "eth0"])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        run(["ip", "-n", ns, "route", "replace", "unreachable", "default"])
        self._prepare_root(root, host, address)
        log = self.lab_dir / "logs" / f"host-{host}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        entry = self.state.record(HostProcess(host))
        # Started through a shell that backgrounds it and exits: the host is nobody's child (no
        # zombie, no Popen to outlive), in its own session, and its PID is printed for the record.
        argv = ["setsid", "nsenter", f"--net=/run/netns/{ns}", "--", "unshare", "--mount", "--uts",
                "--pid", "--fork", "--kill-child", "--propagation", "private", "--",
                "/bin/sh", str(root / "init.sh"), str(root), host]
        done = run(["/bin/sh", "-c", 'log="$1"; shift; "$@" </dev/null >>"$log" 2>&1 & echo $!',
                    "sh", str(log), *argv], timeout_s=30)
        pid = int(done.stdout.strip())
        self.state.replace(entry, HostProcess(host, pid, start_time(pid)))

    def _prepare_root(self, root: Path, host: str, address: str) -> None:
        for sub in ("upper", "work", "root"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        ssh = root / "upper" / "etc" / "ssh"
        ssh.mkdir(parents=True, exist_ok=True)
        (ssh / "carbonlab_sshd_config").write_text(SSHD_CONFIG.format(host=host, address=address))
        key = ssh / "carbonlab_host_key"
        key.write_bytes((self.ssh_dir / "host_key").read_bytes())
        key.chmod(0o600)
        (ssh / "carbonlab_authorized_keys").write_text((self.ssh_dir / "id_ed25519.pub").read_text())
        (root / "upper" / "etc" / "hostname").write_text(host + "\n")
        (root / "init.sh").write_text(INIT_SCRIPT)

    def _wait_sshd(self, host: str, timeout_s: float | None = None) -> None:
        timeout_s = timeout_s or self.sshd_wait_s
        address = self.addresses()[host]
        entry = self._host_process(host)
        deadline = time.monotonic() + timeout_s
        log = self.lab_dir / "logs" / f"host-{host}.log"
        last = "no attempt"
        while time.monotonic() < deadline:
            if not entry.alive():
                raise StepError(host, "start host (sshd)",
                                f"the host's first process exited; {_log_tail(log)}", str(log))
            try:
                with socket.create_connection((address, 22), timeout=1.0) as sock:
                    sock.settimeout(2.0)
                    greeting = sock.recv(64)
                    if greeting.startswith(b"SSH-"):
                        return
                    last = f"the server said {greeting[:40]!r}"
            except OSError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
        raise StepError(host, "start host (sshd)",
                        f"no SSH banner at {address}:22 in {timeout_s} s ({self._diagnose(host, last, log)})",
                        str(log))

    def host_pid(self, host: str) -> int | None:
        pids = [p.pid for p in self.state.of_kind(HostProcess) if p.host == host and p.pid is not None]
        return pids[-1] if pids else None

    def network(self) -> LabNetwork:
        addresses = self.addresses()
        return LabNetwork(self.bridge, str(self.subnet().network_address + 1),
                          {h.id: HostLink(addresses[h.id], self.netns(h.id), self.veth(i))
                           for i, h in enumerate(self.topo.hosts)})

    def _host_process(self, host: str) -> HostProcess:
        """The newest record of the host's first process."""
        return [p for p in self.state.of_kind(HostProcess) if p.host == host][-1]

    def _diagnose(self, host: str, last: str, log: Path) -> str:
        """What an operator (or a CI log) needs to see why a host's sshd did not answer: the
        last connection error, what listens in the namespace, its addresses, and the log's end."""
        ns = self.netns(host)
        listening = run(["ip", "netns", "exec", ns, "ss", "-Htlnp"], check=False, timeout_s=10)
        addrs = run(["ip", "-n", ns, "-br", "addr"], check=False, timeout_s=10)
        parts = [f"last attempt: {last}",
                 f"listening in {ns}: {_one_line(listening.stdout) or 'nothing'}",
                 f"addresses: {_one_line(addrs.stdout or addrs.stderr)}",
                 _log_tail(log)]
        return "; ".join(parts)

    # access ----------------------------------------------------------------------------------
    def host_vars(self, host: str) -> dict[str, Any]:
        return {
            "ansible_host": self.addresses()[host],
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(self.ssh_dir / "id_ed25519"),
            "ansible_python_interpreter": "/usr/bin/python3",
            **remote_layout(),
            "carbonlab_service_manager": "supervisor",   # no systemd inside a netns host
        }

    def ansible_env(self) -> dict[str, str]:
        return ssh_env(self.ssh_dir)

    def service_log(self, host: str) -> Path:
        return self.lab_dir / "hosts" / host / "upper" / "var" / "log" / "carbonlab"

    # removal ---------------------------------------------------------------------------------
    @classmethod
    def destroy_recorded(cls, lab_dir: Path, state: LabState) -> None:
        close_control_masters(lab_dir / "ssh")
        try:
            super().destroy_recorded(lab_dir, state)
        finally:
            if state.lab_id:
                _remove_rig_tables(state.lab_id)


def _remove_rig_tables(lab_id: str) -> None:
    """A tool killed mid-change (a rig fault) leaves its nft table on the lab's bridge; the
    lab lends those names (lab/guests.py), so `down` ends them."""
    prefix = nft_table_prefix(lab_id)
    done = run(["nft", "list", "tables"], check=False)
    for line in done.stdout.splitlines():
        words = line.split()
        if len(words) == 3 and words[0] == "table" and words[2].startswith(prefix):
            run(["nft", "delete", "table", words[1], words[2]], check=False)


def _log_tail(log: Path, lines: int = 6) -> str:
    try:
        tail = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError as exc:
        return f"host log unreadable ({exc.strerror})"
    return "host log ends: " + (_one_line("\n".join(tail)) or "(empty)")


def _one_line(text: str) -> str:
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())


def _used_networks() -> list[ipaddress.IPv4Network]:
    done = run(["ip", "-4", "-j", "route", "show", "table", "all"], check=False)
    used = []
    for route in json.loads(done.stdout or "[]"):
        dst = route.get("dst", "")
        if dst and dst != "default":
            try:
                used.append(ipaddress.IPv4Network(dst, strict=False))
            except ValueError:
                continue
    return used
