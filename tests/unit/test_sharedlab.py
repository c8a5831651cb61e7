"""The shared lab's pytest plugin (tests/sharedlab.py) in inner pytest runs (pytester): its users
run last, in the order collected, each after a health check; a lab that cannot come up because
its ports are taken is refused, naming the port, and leaves no directory behind. (Bringing the
lab up for real is what its users, tests/hil/test_rig_mini_lab.py among them, do.)"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
REPO = Path(__file__).parents[2]

# A stand-in for the session's lab: only to watch the plugin order and check the tests; it
# counts health checks so the test sees one before and one after each user.
FAKE_LAB = """
import pytest

pytest_plugins = ["tests.sharedlab"]
CHECKS = []


class FakeLab:
    def wait_healthy(self, timeout_s=0.0):
        CHECKS.append(timeout_s)


@pytest.fixture(scope="session")
def _shared_lab_session():
    yield FakeLab()
"""


def test_users_run_last_in_collected_order_with_health_checks(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(FAKE_LAB)
    pytester.makepyfile(
        test_a="def test_x(shared_lab):\n    pass\n\ndef test_y():\n    pass\n",
        test_b="def test_z():\n    pass\n\ndef test_w(shared_lab):\n    pass\n",
        test_c=("from conftest import CHECKS\n\ndef test_checks(shared_lab):\n"
                "    assert len(CHECKS) == 5  # before and after test_x and test_w, before this one\n"),
    )
    result = pytester.runpytest("-v", "-p", "no:randomly")
    result.assert_outcomes(passed=5)
    ran = [line.split(" ")[0] for line in result.stdout.lines if " PASSED" in line]
    assert ran == ["test_a.py::test_y", "test_b.py::test_z", "test_a.py::test_x", "test_b.py::test_w",
                   "test_c.py::test_checks"]


def test_taken_ports_are_refused_naming_the_port(pytester: pytest.Pytester,
                                                 monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A real start of the plugin (no stand-in): the first port of its plan is held by a
    listener, as another worktree's shared lab would hold it."""
    base = 28900          # this test's own block (the mini topology needs 6 x 20 ports)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    pytester.makeconftest('pytest_plugins = ["tests.sharedlab"]\n')
    pytester.makepyfile("def test_uses(shared_lab):\n    raise AssertionError('must not run')\n")
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", base))
        holder.listen(8)
        result = pytester.runpytest_subprocess("--shared-lab-base-port", str(base), "--shared-lab-id", "tshl",
                                               timeout=120)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*SharedLabError: the shared lab cannot come up here: *port {base} "
                                 f"(n1-p2p of node1) on 127.0.0.1 is in use by PID {os.getpid()} *"
                                 "--shared-lab-base-port N*"])
    assert list(tmp.iterdir()) == []
