"""Shared test helpers, and the session's leftover guard: as root, every network namespace,
link and nft table of the project's (named `cl...`) and every route in the lab range
(198.18.0.0/15) that appeared during the session must be gone at its end, else the session
fails and names them. Each test cleans up after itself; this catches the one that did not, in
the run that made the mess (the next lab would trip over it)."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess

import pytest

pytest_plugins = ["tests.sharedlab",      # the session's shared live lab: fixture `shared_lab`
                  "tests.sharedcluster"]  # its shared 4-node cluster: fixture `shared_cluster`

LAB_NET = ipaddress.IPv4Network("198.18.0.0/15")
_BEFORE = pytest.StashKey[set[str]]()


def _ip_json(*argv: str) -> list[dict[str, object]]:
    try:
        done = subprocess.run(["ip", "-j", *argv], capture_output=True, text=True, timeout=30, check=False)
        parsed = json.loads(done.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return []
    return parsed if isinstance(parsed, list) else []


def network_objects() -> set[str]:
    """The project's namespaces, links and nft tables, and the routes in the lab range, by name."""
    found = {f"netns {n.get('name')}" for n in _ip_json("netns", "list")
             if str(n.get("name")).startswith("cl")}
    found |= {f"link {li.get('ifname')}" for li in _ip_json("link", "show")
              if str(li.get("ifname")).startswith("cl")}
    for route in _ip_json("-4", "route", "show", "table", "all"):
        dst = str(route.get("dst", ""))
        try:
            if dst and dst != "default" and ipaddress.IPv4Network(dst, strict=False).subnet_of(LAB_NET):
                found.add(f"route {route.get('type', 'unicast')} {dst}")
        except ValueError:
            continue
    try:
        tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, timeout=30,
                                check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        tables = ""
    found |= {f"nft {line.strip()}" for line in tables.splitlines()
              if line.split() and line.split()[-1].startswith("cl")}
    return found


def _guarding() -> bool:
    return os.geteuid() == 0 and os.environ.get("CARBONLAB_LEFTOVER_GUARD", "1") != "0"


def pytest_sessionstart(session: pytest.Session) -> None:
    if _guarding():
        session.stash[_BEFORE] = network_objects()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.stash.get(_BEFORE, None)
    if before is None:
        return
    left = sorted(network_objects() - before)
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    text = ("the session left network objects behind (a test did not clean up): " + ", ".join(left)
            + "  (set CARBONLAB_LEFTOVER_GUARD=0 to skip this check)")
    if reporter is not None:
        reporter.line("")
        reporter.write_sep("=", "leftovers", red=True)
        reporter.write_line(text)
    else:
        print(text)
    if exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
