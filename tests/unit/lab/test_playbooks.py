"""The playbooks: ansible-lint passes, the systemd unit template verifies, roles follow STYLE 18."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from carbonlab.lab.ansible_run import PLAYBOOKS

ROLES = ("common", "node", "gateway", "meters", "prometheus", "grafana")
BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_ansible_lint_passes() -> None:
    lint = BIN / "ansible-lint"
    if not lint.exists():
        pytest.skip("ansible-lint is not installed in this venv (pip install -e '.[dev]')")
    done = subprocess.run([str(lint), "--offline", "-q", "site.yml", "roles"], cwd=PLAYBOOKS,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("role", ROLES)
def test_role_layout(role: str) -> None:
    base = PLAYBOOKS / "roles" / role
    defaults = yaml.safe_load((base / "defaults" / "main.yml").read_text()) or {}
    assert all(name.startswith(f"{role}_") for name in defaults), defaults
    specs = yaml.safe_load((base / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    declared = {name for spec in specs.values() for name in spec.get("options", {})}
    missing = sorted(set(defaults) - declared)
    assert not missing, f"{role}: not in meta/argument_specs.yml: {missing}"
    text = (base / "defaults" / "main.yml").read_text()
    for name in defaults:       # every setting has a comment above it (or above its group)
        before = text[:text.index(f"\n{name}:")].rstrip().splitlines()
        assert any(line.startswith("#") for line in before[-4:]), f"{role}: {name} is not commented"


def test_systemd_unit_template_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    variables = {"common_service_name": "node-n1",
                 "common_service_argv": ["/bin/true", "node", "run", "--config",
                                         "/etc/carbonlab/node n1.toml"],
                 "carbonlab_var": "/var/lib/carbonlab", "carbonlab_log": "/var/log/carbonlab",
                 "carbonlab_user": "carbonlab"}
    defaults = yaml.safe_load((PLAYBOOKS / "roles" / "common" / "defaults" / "main.yml").read_text())
    policy = ("common_service_restart_s", "common_service_start_limit_burst",
              "common_service_start_limit_interval_s", "common_service_stop_grace_s")
    variables.update({name: defaults[name] for name in policy})    # the supervisor's numbers too
    unit = tmp_path / "carbonlab-node-n1.service"
    src = PLAYBOOKS / "roles" / "common" / "templates" / "carbonlab.service.j2"
    done = subprocess.run(
        [str(BIN / "ansible"), "localhost", "-c", "local", "-m", "ansible.builtin.template",
         "-a", f"src={src} dest={unit}", "-e", json.dumps(variables)],
        capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": "/usr/bin:/bin", "ANSIBLE_HOME": str(tmp_path / "ansible"),
             "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
             "ANSIBLE_PYTHON_INTERPRETER": sys.executable})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ExecStart=/bin/true node run --config '/etc/carbonlab/node n1.toml'" in unit.read_text()
    for line in ("Restart=on-failure", "RestartSec=2", "StartLimitBurst=5", "StartLimitIntervalSec=60",
                 "TimeoutStopSec=10"):
        assert f"\n{line}\n" in unit.read_text(), line
    verify = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert verify.returncode == 0, verify.stderr
    assert verify.stderr.strip() == "", verify.stderr
