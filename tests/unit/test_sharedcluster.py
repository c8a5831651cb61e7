"""The shared cluster's pytest plugin (tests/sharedcluster.py): its genesis gives every pool
gateway a company of its own and `claim` hands each out once, naming who holds what; in inner
pytest runs (pytester) its users run after the other tests and before the shared lab's, each
checked before and after (a test that leaves a member down errors naming it), and the real
cluster is stopped, its processes gone and its directory removed, right after its last user."""

from __future__ import annotations

from pathlib import Path

import pytest

from carbonlab.bench.localcluster import LocalCluster
from carbonlab.node.genesis import Genesis
from tests.sharedcluster import APPS_GATEWAYS, GATEWAYS, ROLES, SharedCluster, make_genesis

pytest_plugins = ["pytester"]
REPO = Path(__file__).parents[2]


def _cluster(tmp_path: Path) -> LocalCluster:   # made, never started
    return make_genesis(LocalCluster.create(tmp_path / "c", 4, gateways=GATEWAYS, roles=ROLES))


def test_each_gateway_is_its_own_companys_and_claimed_once(tmp_path: Path) -> None:
    cluster = _cluster(tmp_path)
    assert Genesis.load(tmp_path / "c" / "genesis.json") == cluster.genesis   # what the nodes read
    shared = SharedCluster(cluster)
    apps = shared.claim("pages", gateways=APPS_GATEWAYS)
    assert apps.companies == ("company1", "company2")
    first = shared.claim("first", 2)
    second = shared.claim("second")
    assert first.companies == ("tenant3", "tenant4")
    assert second.companies == ("tenant5",)
    assert [f.gateway_id for f in (*first.feeds, *second.feeds)] == ["gw3", "gw4", "gw5"]
    company_of = {m.id: m.company for m in cluster.genesis.meters}
    for claim in (apps, first, second):
        for feed, company in zip(claim.feeds, claim.companies, strict=True):
            assert {company_of[m] for m in feed.meters} == {company}
            assert feed.batch_seq == 0
    assert {c.id for c in cluster.genesis.companies} == {"company1", "company2"} | {
        f"tenant{g}" for g in range(3, GATEWAYS + 1)}
    assert all(c.member == "n1" for c in cluster.genesis.companies)
    assert [m.role for m in cluster.genesis.members] == list(ROLES)
    with pytest.raises(ValueError, match=r"already claimed: \{'gw3': 'first'\}"):
        shared.claim("late", gateways=("gw3",))
    with pytest.raises(ValueError, match=r"genesis does not name: \['gw99'\]"):
        shared.claim("late", gateways=("gw99",))
    with pytest.raises(ValueError, match=rf"late asks for {GATEWAYS} gateways of the shared cluster, "
                                         rf"{GATEWAYS - 5} are left"):
        shared.claim("late", GATEWAYS)


# A stand-in for the session's cluster and lab: only to watch the plugin order and check the
# tests; DOWN is what the stand-in's members report as not answering.
FAKES = """
import pytest

pytest_plugins = ["tests.sharedlab", "tests.sharedcluster"]
DOWN = []


class FakeCluster:
    def down(self):
        return list(DOWN)


class FakeLab:
    def wait_healthy(self, timeout_s=0.0):
        pass


@pytest.fixture(scope="session")
def shared_cluster():
    yield FakeCluster()


@pytest.fixture(scope="session")
def _shared_lab_session():
    yield FakeLab()
"""


def test_users_run_after_the_others_and_before_the_labs(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(FAKES)
    pytester.makepyfile(
        test_a="def test_x(shared_cluster):\n    pass\n\ndef test_y():\n    pass\n",
        test_b="def test_l(shared_lab):\n    pass\n\ndef test_w(shared_cluster):\n    pass\n",
        test_c="def test_z():\n    pass\n",
    )
    result = pytester.runpytest("-v", "-p", "no:randomly")
    result.assert_outcomes(passed=5)
    ran = [line.split(" ")[0] for line in result.stdout.lines if " PASSED" in line]
    assert ran == ["test_a.py::test_y", "test_c.py::test_z", "test_a.py::test_x", "test_b.py::test_w",
                   "test_b.py::test_l"]


def test_a_test_that_leaves_a_member_down_errors_naming_it(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(FAKES)
    pytester.makepyfile(test_a=("from conftest import DOWN\n\n"
                                "def test_kills(shared_cluster):\n    DOWN.append('n3')\n\n"
                                "def test_next(shared_cluster):\n    pass\n"))
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.re_match_lines([r".*test_kills left members of the shared cluster down: \['n3'\]",
                                  r".*members of the shared cluster do not answer before the test: \['n3'\]"])


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_real_cluster_is_gone_after_its_last_user(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A real start (no stand-in): the user submits one batch through its claimed gateway and
    writes down the members' PIDs and directory; the test after it (a stand-in lab's user, which
    runs later) finds the processes ended and the directory removed."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    pytester.makeconftest("""
import pytest

pytest_plugins = ["tests.sharedlab", "tests.sharedcluster"]
SEEN = {}


class FakeLab:
    def wait_healthy(self, timeout_s=0.0):
        pass


@pytest.fixture(scope="session")
def _shared_lab_session():
    yield FakeLab()
""")
    pytester.makepyfile(test_real="""
import os
import httpx
from conftest import SEEN


def test_user(shared_cluster):
    cluster = shared_cluster.cluster
    feed, = shared_cluster.claim("inner").feeds
    got = httpx.post(cluster.url("n2") + "/v1/batches", params={"wait_ms": 30000},
                     json=feed.next_batch().to_json(), timeout=60)
    assert got.json()["status"] == "committed", got.text
    SEEN["pids"] = [p.pid for p in cluster.procs.values()]
    SEEN["root"] = cluster.root
    assert len(SEEN["pids"]) == 4


def test_after(shared_lab):
    for pid in SEEN["pids"]:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"member process {pid} still runs after the last user")
    assert not SEEN["root"].exists()
""")
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider", timeout=280)
    result.assert_outcomes(passed=2)
    assert list(tmp.iterdir()) == []
