"""Each member's web console as the lab provisions it (the client role), on the session's
shared lab: listening on its port of the port plan, its token in the lab directory with mode
0600, 401 without the token, 200 with it, and showing every member up."""

from __future__ import annotations

import re
import stat

import httpx
import pytest

from carbonlab.lab.names import client_token_file
from tests.sharedlab import SharedLab

pytestmark = pytest.mark.slow


def test_every_member_has_a_console_that_needs_its_token(shared_lab: SharedLab) -> None:
    ports = shared_lab.lab.ports()
    tokens = set()
    for member in shared_lab.members.values():
        url = ports.url(member.host, f"{member.id}-client")
        assert url.startswith("http://127.0.0.1:")
        token_file = client_token_file(shared_lab.lab_dir, member.id)
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        tokens.add(token)
        assert httpx.get(f"{url}/chain", timeout=30).status_code == 401
        assert httpx.get(f"{url}/chain", headers={"Authorization": "Bearer not-it"},
                         timeout=30).status_code == 401
        page = httpx.get(f"{url}/chain", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert page.status_code == 200
        assert f"member <strong>{member.id}</strong>" in page.text
        states = dict(re.findall(r'data-testid="member-([\w-]+)" data-state="(\w+)"', page.text))
        assert set(states) == set(shared_lab.members)
        assert "down" not in states.values(), states
    assert len(tokens) == len(shared_lab.members)     # one token per organisation


def test_lab_health_and_status_show_the_consoles(shared_lab: SharedLab) -> None:
    from carbonlab.lab import health
    from carbonlab.lab.state import LabState
    from carbonlab.lab.view import status_text

    facts = health.gather(shared_lab.topology, shared_lab.lab.ports())
    assert [c.member for c in facts.clients] == list(shared_lab.members)
    assert all(c.up for c in facts.clients), facts.clients
    # readings come from the ledger: every node reports the same committed count or more
    assert min(n.readings for n in facts.nodes) > 0
    text = status_text(LabState.load(shared_lab.lab_dir / "state.json"), facts, str(shared_lab.lab_dir))
    for member in shared_lab.members:
        assert str(client_token_file(shared_lab.lab_dir, member)) in text
