"""`report build --node`: the report from a member's API on a real 4-node cluster is the report
from that member's ledger file, and it verifies offline with genesis alone (the CLI end to end)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest

from carbonlab.bench.localcluster import T0, LocalCluster
from carbonlab.cli import main
from tests.sharedcluster import Claim, SharedCluster


@pytest.fixture(scope="module")
def claim(shared_cluster: SharedCluster) -> Claim:
    """This module's gateway on the session's shared cluster (tests/sharedcluster.py), the only
    one of its company: the report counts this module's readings alone."""
    return shared_cluster.claim("report node source")


@pytest.fixture(scope="module")
def cluster(shared_cluster: SharedCluster, claim: Claim) -> LocalCluster:
    return shared_cluster.cluster


@pytest.mark.timeout(240)
def test_report_from_the_api_equals_the_ledger_files_and_verifies(
        cluster: LocalCluster, claim: Claim, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = cluster.url("n2")
    for feed in claim.feeds:
        for _ in range(2):
            got = httpx.post(f"{url}/v1/batches", params={"wait_ms": 10_000}, timeout=30,
                             json=feed.next_batch(per_meter=3).to_json())
            assert got.status_code == 200, got.text
    company, = claim.companies
    year = dt.datetime.fromtimestamp(T0, dt.UTC).year
    genesis = cluster.root / "genesis.json"
    by_api, by_file = tmp_path / "api", tmp_path / "file"
    common = ["--company", company, "--year", str(year), "--template", "eu-mrr"]
    assert main(["report", "build", *common, "--node", url, "--genesis", str(genesis),
                 "--out", str(by_api)]) == 0
    assert main(["report", "build", *common, "--ledger",
                 str(cluster.root / "data" / "n2" / "ledger.sqlite"), "--out", str(by_file)]) == 0
    capsys.readouterr()
    # every file the same bytes (the build is reproducible), so the manifests are equal
    assert (by_api / "manifest.json").read_bytes() == (by_file / "manifest.json").read_bytes()
    assert json.loads((by_api / "proofs.json").read_text()) == \
        json.loads((by_file / "proofs.json").read_text())
    assert main(["report", "verify", str(by_api), "--genesis", str(genesis)]) == 0
    out = capsys.readouterr().out
    assert "ok:" in out
    assert " 12 readings" in out      # 2 batches x 2 meters x 3 readings of the company's gateway
    # the CLI's bad input: exit 2 and a line naming the option
    assert main(["report", "build", *common[:-2], "--template", "eu-mrr", "--node", url,
                 "--out", str(tmp_path / "x")]) == 2
    assert "--genesis" in capsys.readouterr().err
    assert main(["report", "build", "--company", "initech", "--year", str(year), "--template", "cn-power",
                 "--node", url, "--genesis", str(genesis), "--out", str(tmp_path / "y")]) == 2
    assert "--company" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert not (tmp_path / "y").exists()
