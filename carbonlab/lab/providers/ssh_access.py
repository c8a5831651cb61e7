"""How the lab reaches hosts over SSH (netns and ssh providers alike): Ansible's SSH settings,
the control connections kept in the lab's `ssh/` folder, and where carbonlab lives on a host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from carbonlab.lab.proc import run


def remote_layout() -> dict[str, Any]:
    """Where carbonlab lives on a netns or ssh host (FHS places; a venv under /opt)."""
    return {
        "carbonlab_root": "/opt/carbonlab",
        "carbonlab_etc": "/etc/carbonlab",
        "carbonlab_var": "/var/lib/carbonlab",
        "carbonlab_log": "/var/log/carbonlab",
        "carbonlab_run": "/run/carbonlab",
        "carbonlab_venv": "/opt/carbonlab/venv",
        "carbonlab_bin": "/opt/carbonlab/venv/bin/carbonlab",
        "carbonlab_install": True,
        "carbonlab_manage_user": True,
        "carbonlab_user": "carbonlab",
    }


def ssh_env(ssh_dir: Path, *, host_key_checking: str = "yes") -> dict[str, str]:
    """Ansible over real SSH: pipelining, and a control path inside the lab directory.
    `host_key_checking` is ssh's StrictHostKeyChecking: `yes` for hosts whose keys the lab
    made, `accept-new` for real hosts (learnt on first contact into the lab's known_hosts)."""
    control = ssh_dir / "cm-%h-%p"
    args = (f"-o ControlMaster=auto -o ControlPersist=120s -o ControlPath={control} "
            f"-o UserKnownHostsFile={ssh_dir / 'known_hosts'} "
            f"-o StrictHostKeyChecking={host_key_checking} "
            "-o ConnectTimeout=10 -o BatchMode=yes")
    return {"ANSIBLE_SSH_ARGS": args, "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(ssh_dir)}


def close_control_masters(ssh_dir: Path) -> None:
    for sock in sorted(ssh_dir.glob("cm-*")) if ssh_dir.is_dir() else []:
        run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "carbonlab-lab"], check=False,
            timeout_s=10)
        sock.unlink(missing_ok=True)
