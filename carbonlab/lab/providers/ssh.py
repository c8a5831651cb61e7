"""`ssh`: real hosts or VMs named in the topology (address, user, key); nothing is created.

`up` provisions them; `down` forgets the lab's state and closes the SSH control
connections, but leaves the hosts and what was installed on them (they are not ours
to remove). A login user other than root needs passwordless sudo (Ansible `become`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from carbonlab.lab.providers.base import Provider
from carbonlab.lab.providers.ssh_access import close_control_masters, remote_layout, ssh_env
from carbonlab.lab.state import LabState


class SshProvider(Provider):
    name = "ssh"
    can_reach_package_repos = True
    needs_host_addresses = True

    def addresses(self) -> dict[str, str]:
        return {h.id: h.address for h in self.topo.hosts}

    def create_hosts(self) -> None:
        (self.lab_dir / "ssh").mkdir(parents=True, exist_ok=True)
        known = self.lab_dir / "ssh" / "known_hosts"
        known.touch()
        self.progress(f"{len(self.topo.hosts)} ssh hosts from {self.topo.path}")

    def host_vars(self, host: str) -> dict[str, Any]:
        spec = self.topo.host(host)
        user = spec.user or "root"
        out: dict[str, Any] = {"ansible_host": spec.address, "ansible_user": user,
                               "ansible_port": spec.ssh_port,
                               "ansible_python_interpreter": "/usr/bin/python3", **remote_layout()}
        if spec.ssh_key:
            out["ansible_ssh_private_key_file"] = str(Path(spec.ssh_key).expanduser())
        if user != "root":
            out["ansible_become"] = True
        return out

    def ansible_env(self) -> dict[str, str]:
        # Real hosts: learn their keys on first contact (recorded in the lab's known_hosts).
        return ssh_env(self.lab_dir / "ssh", host_key_checking="accept-new")

    def service_log(self, host: str) -> Path:
        return Path(f"{host}:/var/log/carbonlab")

    @classmethod
    def destroy_recorded(cls, lab_dir: Path, state: LabState) -> None:
        close_control_masters(lab_dir / "ssh")
        super().destroy_recorded(lab_dir, state)
