"""`carbonlab --version`: the installed package's version, answered without importing any
subcommand module (the venv-pack check and hosts call it; it must not pay for libp2p)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import carbonlab

CARBONLAB = Path(sys.executable).parent / "carbonlab"


def test_version_prints_the_package_version() -> None:
    done = subprocess.run([str(CARBONLAB), "--version"], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"carbonlab {carbonlab.__version__}\n"


def test_version_imports_no_subcommand() -> None:
    probe = ("import sys; from carbonlab.cli import main; rc = main(['--version']); "
             "print(sorted(m for m in sys.modules if m.startswith(('carbonlab.cli.', 'libp2p', 'trio'))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"carbonlab {carbonlab.__version__}", "[]"]


def test_help_lists_version() -> None:
    from carbonlab.cli import build_parser
    assert "--version" in build_parser(only="carbonlab.cli.node_cmd").format_help()
