"""The console against a real cluster, over real HTTP: the token gate, every page, hostile
query strings, live events, the proof check (also through a member that tampers proofs)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from carbonlab.bench.localcluster import LocalCluster
from tests.integration.client.conftest import PORT_BASE, Console
from tests.recording_http import serve

pytestmark = pytest.mark.slow


# -- the token gate ------------------------------------------------------------------------
def test_no_token_is_401_with_the_login_form(console: Console) -> None:
    r = httpx.get(console.url + "/chain", timeout=10)
    assert r.status_code == 401
    assert 'data-testid="login-form"' in r.text
    r = httpx.get(console.url + "/emissions", headers={"Accept": "application/json"}, timeout=10)
    assert r.status_code == 401
    assert r.json()["field"] == "token"


def test_wrong_token_is_401_in_a_header_and_in_a_cookie(console: Console) -> None:
    assert httpx.get(console.url + "/chain", headers={"Authorization": "Bearer nope"},
                     timeout=10).status_code == 401
    assert httpx.get(console.url + "/chain", cookies={"carbonlab_token": "nope"},
                     timeout=10).status_code == 401
    assert httpx.get(console.url + "/events/chain", timeout=10).status_code == 401


def test_the_login_form_sets_a_cookie_that_opens_the_pages(console: Console) -> None:
    with httpx.Client(base_url=console.url, timeout=10) as web:
        bad = web.post("/login", data={"token": "wrong", "next": "/emissions"})
        assert bad.status_code == 401
        assert 'data-testid="login-failed"' in bad.text
        ok = web.post("/login", data={"token": console.token, "next": "/emissions"})
        assert ok.status_code == 303
        assert ok.headers["location"] == "/emissions"
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie.replace("SameSite=Strict",
                                                                             "SameSite=strict")
        assert web.get("/chain").status_code == 200
        web.post("/logout")
        assert web.get("/chain").status_code == 401


def test_login_never_redirects_off_the_console(console: Console) -> None:
    r = httpx.post(console.url + "/login", data={"token": console.token, "next": "//evil.example/"},
                   timeout=10)
    assert r.status_code == 303
    assert r.headers["location"] == "/"


def test_health_and_static_files_are_open(console: Console) -> None:
    assert httpx.get(console.url + "/healthz", timeout=10).json() == {"ok": True}
    assert httpx.get(console.url + "/static/console.css", timeout=10).status_code == 200


# -- the pages -------------------------------------------------------------------------------
def test_chain_page_shows_every_member_up_with_its_height(console: Console, cluster: LocalCluster) -> None:
    r = console.get("/chain")
    assert r.status_code == 200
    states = dict(re.findall(r'data-testid="member-(\w+)" data-state="(\w+)"', r.text))
    assert states == dict.fromkeys(cluster.members, "up")
    height = int(re.search(r'data-testid="height-n2">([0-9,]+)<', r.text).group(1).replace(",", ""))
    assert height >= 4


def test_emissions_page_shows_the_committed_co2(console: Console) -> None:
    r = console.get("/emissions?level=plant&period=interval")
    assert r.status_code == 200, r.text
    assert 'data-testid="erow-0"' in r.text
    assert "plant1" in r.text
    total = re.search(r'data-testid="emissions-total-co2e">([0-9,.]+)<', r.text).group(1)
    assert float(total.replace(",", "")) > 0
    assert 'data-testid="emissions-chart"' in r.text


def test_structure_page_shows_the_tree(console: Console) -> None:
    r = console.get("/structure")
    assert r.status_code == 200
    assert 'data-testid="tree-company-company1"' in r.text
    assert 'data-testid="tree-plant-plant1"' in r.text


def test_explorer_drills_from_a_plant_to_a_verified_reading(console: Console) -> None:
    r = console.get("/explorer?plant=plant1")
    assert r.status_code == 200
    link = re.search(r'data-testid="proof-link-(m\d+)-(\d+)" href="([^"]+)"', r.text)
    assert link is not None, r.text
    proof = console.get(link.group(3).replace("&amp;", "&"))
    assert proof.status_code == 200
    assert 'data-testid="proof-verdict" data-valid="true"' in proof.text


def test_explorer_shows_a_block_with_its_verdicts(console: Console) -> None:
    r = console.get("/explorer?height=1")
    assert r.status_code == 200
    assert 'data-testid="block-detail"' in r.text
    assert 'data-accepted="true"' in r.text


def test_rig_page_without_a_lab_dir_says_so(console: Console) -> None:
    r = console.get("/rig")
    assert r.status_code == 200
    assert "--lab-dir" in r.text


# -- hostile query strings -------------------------------------------------------------------
@pytest.mark.parametrize(("path", "field"), [
    ("/emissions?level=galaxy", "level"),
    ("/emissions?period=fortnight", "period"),
    ("/emissions?company=%3Cscript%3E", "company"),
    ("/emissions?company=nosuch", "company"),          # refused by the node, named by it
    ("/emissions?since=yesterday-ish", "since"),
    ("/emissions?gwp=AR1", "gwp"),
    ("/emissions?level=plant&level=unit", "level"),
    ("/emissions?compnay=company1", "compnay"),
    ("/explorer?height=abc", "height"),
    ("/explorer?height=-3", "height"),
    ("/explorer?height=99999999999999999999999", "height"),
    ("/explorer?meter=" + "m" * 500, "meter"),
    ("/explorer?meter=nosuch", "meter"),
    ("/explorer/proof?meter=m1", "seq"),
    ("/explorer/proof?meter=m1&seq=x", "seq"),
    ("/chain?x=1", "x"),
    ("/events/emissions?level=galaxy", "level"),
])
def test_a_bad_parameter_is_400_naming_it(console: Console, path: str, field: str) -> None:
    r = console.get(path, headers={"Accept": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field
    html = console.get(path)
    assert html.status_code == 400
    assert f'data-field="{field}"' in html.text
    assert "<script>" not in html.text


# -- live updates ----------------------------------------------------------------------------
@pytest.mark.parametrize(("page", "testid"), [
    ("chain", "chain-members"), ("emissions", "emissions-rows"), ("explorer", "blocks"),
    ("structure", "structure-tree"), ("rig", "rig-runs")])
def test_events_push_the_live_block(console: Console, page: str, testid: str) -> None:
    with httpx.stream("GET", console.url + f"/events/{page}", timeout=30,
                      headers={"Authorization": f"Bearer {console.token}"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        data = []
        for line in r.iter_lines():
            if line.startswith("data: "):
                data.append(line[6:])
            if line == "" and data:
                break
    assert f'data-testid="{testid}"' in "\n".join(data)


# -- the node down, and a member that lies -------------------------------------------------
def test_a_node_that_does_not_answer_is_a_named_error(start_console: Callable[..., Console]) -> None:
    down = start_console(node_url=f"http://127.0.0.1:{PORT_BASE + 499}")
    r = down.get("/chain")
    assert r.status_code == 200
    assert 'data-testid="node-error"' in r.text
    assert f"127.0.0.1:{PORT_BASE + 499}" in r.text
    assert 'data-testid="member-n2" data-state="down"' in r.text
    for path in ("/emissions", "/explorer", "/structure"):
        assert 'data-testid="node-error"' in down.get(path).text


class TamperingProxy(BaseHTTPRequestHandler):
    """A member that changes the CO2 mass in every proof it serves (a real HTTP server)."""

    upstream = ""

    def do_GET(self) -> None:
        r = httpx.get(self.upstream + self.path, timeout=10)
        body = r.content
        if self.path.endswith("/proof") and r.status_code == 200:
            proof = r.json()
            proof["reading"]["co2_kg"] = proof["reading"]["co2_kg"] * 0.5
            body = json.dumps(proof).encode()
        self.send_response(r.status_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tampering_node(cluster: LocalCluster) -> Iterator[str]:
    with serve(type("Handler", (TamperingProxy,), {"upstream": cluster.url("n2")})) as url:
        yield url


def test_a_tampered_proof_is_shown_invalid(start_console: Callable[..., Console], tampering_node: str,
                                           console: Console) -> None:
    honest = console.get("/explorer/proof?meter=m1&seq=1")
    assert 'data-valid="true"' in honest.text
    lying = start_console(node_url=tampering_node)
    r = lying.get("/explorer/proof?meter=m1&seq=1")
    assert r.status_code == 200
    assert 'data-testid="proof-verdict" data-valid="false"' in r.text
    assert "INVALID" in r.text
    assert 'data-testid="proof-problem"' in r.text
