"""A real `carbonlab meters serve` process for a test: started from a METERS.yaml text, waited for
on its control port's /healthz, and stopped (and its log closed) also when the test fails."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CLI = [sys.executable, "-c", "import sys; from carbonlab.cli import main; sys.exit(main(sys.argv[1:]))"]


@contextlib.contextmanager
def meters_serving(root: Path, config: str, control: int) -> Iterator[str]:
    """Serve `config` (METERS.yaml text whose control_listen is 127.0.0.1:`control`) from `root`;
    yields the control URL once it answers."""
    (root / "meters.yaml").write_text(config)
    url = f"http://127.0.0.1:{control}"
    with (root / "meters.log").open("wb") as log:
        proc = subprocess.Popen([*CLI, "meters", "serve", "--config", str(root / "meters.yaml")],
                                stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = (root / "meters.log").read_text()[-2000:]
                    pytest.fail(f"meters process did not come up: {tail}")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
