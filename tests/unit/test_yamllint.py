"""yamllint with the project's configuration (.yamllint, run by `./dev test`): the repository's YAML
passes it, and the configuration really holds lines to the project's length of 110."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
YAMLLINT = Path(sys.executable).parent / "yamllint"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    if not YAMLLINT.exists():
        pytest.skip("yamllint is not installed in this venv (pip install -e '.[dev]')")
    return subprocess.run([str(YAMLLINT), "--strict", "-f", "parsable", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


def test_repository_yaml_passes_yamllint() -> None:
    done = run(".", cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_config_allows_110_characters_and_refuses_111(tmp_path: Path) -> None:
    path = tmp_path / "lines.yaml"
    path.write_text(f"---\nok: {'x' * 106}\nlong: {'y' * 105}\n")   # 110 and 111 characters
    done = run("-c", str(ROOT / ".yamllint"), str(path), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        f"{path}:3:111: [error] line too long (111 > 110 characters) (line-length)"]


def test_generated_files_are_left_to_their_generator(tmp_path: Path) -> None:
    """Only the generated folder is excluded: the same text elsewhere is checked."""
    generated = ROOT / "carbonlab/dashboards/generated/provisioning/datasources/carbonlab.yml"
    copy = tmp_path / "carbonlab.yml"
    copy.write_text(generated.read_text())
    assert run("-c", str(ROOT / ".yamllint"), str(generated.relative_to(ROOT)), cwd=ROOT).returncode == 0
    assert run("-c", str(ROOT / ".yamllint"), str(copy), cwd=ROOT).returncode == 1
