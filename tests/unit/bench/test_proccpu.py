"""CPU seconds of real processes from /proc."""

from __future__ import annotations

import subprocess
import sys

import pytest

from carbonlab.bench.proccpu import cpu_seconds


@pytest.mark.timeout(60)
def test_a_busy_process_is_charged_its_cpu_and_a_gone_one_nothing() -> None:
    busy = subprocess.Popen([sys.executable, "-c", "import time\nt = time.process_time()\n"
                             "while time.process_time() - t < 0.5: pass\nimport sys; sys.stdin.read()"],
                            stdin=subprocess.PIPE)
    try:
        while cpu_seconds(busy.pid) < 0.5 and busy.poll() is None:
            subprocess.run(["sleep", "0.05"], check=True)
        assert cpu_seconds(busy.pid) >= 0.5
    finally:
        assert busy.stdin is not None
        busy.stdin.close()
        busy.wait(timeout=30)
    assert cpu_seconds(busy.pid) == 0.0        # reaped: no /proc entry left
