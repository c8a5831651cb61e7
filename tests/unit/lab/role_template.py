"""Render one role's template through Ansible's own `template` module with the project's filter
plugins, as a playbook run would on the controller (shared by the config-file role tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from carbonlab.lab.ansible_run import PLAYBOOKS

BIN = Path(sys.executable).parent


def render(role: str, template: str, dest: Path, variables: dict[str, Any],
           tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run `ansible localhost -m ansible.builtin.template` for roles/ROLE/templates/TEMPLATE."""
    return subprocess.run(
        [str(BIN / "ansible"), "localhost", "-c", "local", "-m", "ansible.builtin.template",
         "-a", f"src={PLAYBOOKS / 'roles' / role / 'templates' / template} dest={dest}",
         "-e", json.dumps(variables)],
        capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": "/usr/bin:/bin", "ANSIBLE_HOME": str(tmp_path / "ansible"),
             "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
             "ANSIBLE_FILTER_PLUGINS": str(PLAYBOOKS / "filter_plugins"),
             "ANSIBLE_PYTHON_INTERPRETER": sys.executable})
