"""`local`: each host is a directory under the lab directory and a block of loopback ports.

No root needed. Ansible reaches every host with its local connection, running as the
user who runs `lab up`. To stay fast the hosts reuse the controller's own virtualenv
(the one running this code) instead of installing the wheelhouse into a venv per host;
`netns` and `ssh` hosts do the offline install. Services run under carbonlab's supervisor
(restarted on failure, as systemd does on real hosts) with their pidfiles in the host's
`run/`; `down` ends the supervisors by PID, which stop their services.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from carbonlab.lab.providers.base import Provider
from carbonlab.lab.resources import LabDir, PidfileDir


class LocalProvider(Provider):
    name = "local"
    loopback_ports = True
    shares_controller_fs = True

    def host_root(self, host: str) -> Path:
        return self.lab_dir / "hosts" / host

    def addresses(self) -> dict[str, str]:
        return {h.id: "127.0.0.1" for h in self.topo.hosts}

    def create_hosts(self) -> None:
        hosts_dir = self.lab_dir / "hosts"
        self.state.record(LabDir(str(hosts_dir)))
        for host in self.topo.hosts:
            root = self.host_root(host.id)
            self.state.record(PidfileDir(str(root / "run")))
            root.mkdir(parents=True, exist_ok=True)
        self.progress(f"{len(self.topo.hosts)} local hosts under {hosts_dir}")

    def service_log(self, host: str) -> Path:
        return self.host_root(host) / "log"

    def service_run_dir(self, host: str) -> Path | None:
        return self.host_root(host) / "run"

    def host_vars(self, host: str) -> dict[str, Any]:
        root = self.host_root(host)
        bindir = Path(sys.executable).parent
        carbonlab = bindir / "carbonlab"
        return {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "carbonlab_root": str(root),
            "carbonlab_etc": str(root / "etc"),
            "carbonlab_var": str(root / "var"),
            "carbonlab_log": str(root / "log"),
            "carbonlab_run": str(root / "run"),
            "carbonlab_venv": sys.prefix,
            "carbonlab_bin": str(carbonlab if carbonlab.exists() else shutil.which("carbonlab")),
            "carbonlab_install": False,
            "carbonlab_manage_user": False,
            "carbonlab_user": "",
            "carbonlab_service_manager": "supervisor",
        }
