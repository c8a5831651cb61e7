"""A reader that goes away (`carbonlab sim --seeds 0..299 --json | head -1`) stops the command
quietly: exit status 141 as a Unix filter's, no traceback (also from a sweep on two processes)."""

from __future__ import annotations

import subprocess
import sys


def test_a_closed_pipe_ends_the_command_quietly() -> None:
    argv = [sys.executable, "-c", "import sys; from carbonlab.cli import main; sys.exit(main())",
            "sim", "--seeds", "0..299", "--steps", "20", "--json", "--workers", "2"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        assert child.stdout is not None
        assert child.stderr is not None
        try:
            first = child.stdout.readline()
            child.stdout.close()
            err = child.stderr.read()
            rc = child.wait(timeout=120)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(10)
    assert first.startswith(b'{"seed": 0, ')
    assert rc == 141, err.decode(errors="replace")
    assert b"Traceback" not in err, err.decode(errors="replace")
    assert b"BrokenPipe" not in err, err.decode(errors="replace")
