"""Ways to run a command on a host: `LocalShell` (a subprocess here) and `PyinfraShell`
(pyinfra's Python API: its ssh connector for `netns` and `ssh` hosts, `@local` otherwise).

pyinfra is imported only when a `PyinfraShell` is made, so that importing the rig stays cheap.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from carbonlab.rig.errors import HostError
from carbonlab.rig.hosts.base import CommandResult

RC_MARK = "##carbonlab-rc="


class LocalShell:
    """Commands through /bin/sh on this machine (the `local` provider's hosts)."""

    def __init__(self, name: str = "local") -> None:
        self.name = name

    def run(self, command: str, *, timeout_s: float = 30.0) -> CommandResult:
        try:
            done = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True,
                                  timeout=timeout_s, check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise HostError(f"{self.name}: no answer within {timeout_s} s from: {command[:120]}") from None
        return CommandResult(done.returncode, done.stdout, done.stderr)

    def close(self) -> None:
        return None


class PyinfraShell:
    """Commands through pyinfra's connectors. `address` "@local" uses pyinfra's local connector;
    anything else is reached over SSH as `user` with `key` and a strict `known_hosts` file."""

    def __init__(self, name: str, address: str, *, user: str = "root", key: Path | None = None,
                 known_hosts: Path | None = None, port: int = 22, connect_timeout_s: int = 10) -> None:
        from pyinfra.api.config import Config
        from pyinfra.api.connect import connect_all
        from pyinfra.api.inventory import Inventory
        from pyinfra.api.state import State

        self.name = name
        data: dict[str, Any] = {}
        if address != "@local":
            data = {"ssh_user": user, "ssh_port": port, "ssh_connect_timeout": connect_timeout_s}
            if key is not None:
                data["ssh_key"] = str(key)
            if known_hosts is not None:
                data["ssh_known_hosts_file"] = str(known_hosts)
                data["ssh_strict_host_key_checking"] = "yes"
        self._inventory = Inventory(([(address, data)], {}))  # type: ignore[no-untyped-call]
        self._state = State(self._inventory, Config(CONNECT_TIMEOUT=connect_timeout_s))  # type: ignore[no-untyped-call]
        connect_all(self._state)
        self._host = self._inventory.get_host(address)
        if not self._host.connected:
            raise HostError(f"{name}: pyinfra could not connect to {address}")

    def run(self, command: str, *, timeout_s: float = 30.0) -> CommandResult:
        # the marker goes on a line of its own even when the output does not end in a newline
        wrapped = f"( {command}\n); printf '\\n{RC_MARK}%d\\n' $?"
        try:
            _ok, output = self._host.run_shell_command(wrapped, _timeout=int(max(1, timeout_s)))
        except Exception as exc:  # noqa: BLE001 - pyinfra/gevent raise many kinds; name the host
            raise HostError(f"{self.name}: command failed through pyinfra ({type(exc).__name__}: {exc})") \
                from None
        out_lines = list(output.stdout_lines)
        rc = -1
        if out_lines and out_lines[-1].startswith(RC_MARK):
            rc = int(out_lines.pop()[len(RC_MARK):])
            if out_lines and out_lines[-1] == "":
                out_lines.pop()
        elif not _ok:
            raise HostError(f"{self.name}: no exit status (timed out after {timeout_s} s?): {command[:120]}")
        stdout = "\n".join(out_lines) + ("\n" if out_lines else "")
        return CommandResult(rc, stdout, "\n".join(output.stderr_lines))

    def close(self) -> None:
        self._host.disconnect()
