"""The growth bench (issue 17 item 5) at a tiny size: a real ledger grown through
`Ledger.commit` with real signatures by worker processes, measured at each size, kept in
its cache and continued from there, and the sizes it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from carbonlab.bench import growth, growthledger
from carbonlab.errors import CarbonlabError
from carbonlab.node.crypto import verify
from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger import Ledger
from carbonlab.node.model import Batch

STACKS = 10          # 40 readings per block


def _count(cache: Path) -> int:
    with Ledger.open_readonly(cache / growthledger.code_key(STACKS) / "ledger.sqlite") as ledger:
        return ledger.reading_count()


def test_sizes_are_read_with_k_and_m_and_bad_ones_are_named() -> None:
    assert growth.parse_sizes("100k,1M,3M,10M") == [100_000, 1_000_000, 3_000_000, 10_000_000]
    assert growth.parse_sizes("2500, 1.5M") == [2500, 1_500_000]
    for bad in ("1X", "", "0", "2k,1k", "1k,1k", "0.5", "200M"):
        with pytest.raises(CarbonlabError, match="--growth"):
            growth.parse_sizes(bad)


def test_blocks_carry_gateway_signatures_genesis_verifies() -> None:
    genesis = Genesis.from_json(growthledger.genesis_json(STACKS))
    (proposal, cert), = growthledger.build_blocks(STACKS, 7, 1)
    assert proposal.seq == cert.seq == 7
    assert len(proposal.requests) == len(genesis.gateways)
    keys = {g.id: g.public_key for g in genesis.gateways}
    for request in proposal.requests:
        batch = Batch.decode(request)
        assert len(batch.readings) == 20
        assert verify(keys[batch.gateway_id], batch.signature, batch.signing_bytes())
        assert not verify(keys[batch.gateway_id], batch.signature, batch.signing_bytes() + b"x")
    assert growthledger.build_blocks(STACKS, 7, 1)[0][0].digest == proposal.digest


def test_grows_in_steps_measures_each_size_and_continues_from_the_cache(tmp_path: Path) -> None:
    seen: list[growth.StepFigures] = []
    steps = growth.grow([1000, 3000], stacks=STACKS, cache=tmp_path, repeat=1, workers=2,
                        report=seen.append)
    assert steps == seen
    assert [s.readings for s in steps] == [1000, 3000]
    assert [s.blocks for s in steps] == [25, 75]
    assert [s.grown_readings for s in steps] == [1000, 2000]
    for s in steps:
        assert s.verify_ok
        assert not s.cached
        assert s.file_bytes + s.wal_bytes > 100 * s.readings       # a reading and its batch share
        assert s.table_bytes["readings"] > 0
        assert s.table_bytes["batches"] > 0
        assert s.queries.structure_readings == s.readings
        assert s.queries.month_rows == 744                          # January 2024 hour by hour
    # company1 holds all 10 stacks here: the year's roll-up counts every reading
    assert steps[1].queries.company_year_readings == 3000
    assert _count(tmp_path) == 3000
    again = growth.grow([1000, 3000, 4000], stacks=STACKS, cache=tmp_path, repeat=1, workers=1)
    assert [s.cached for s in again] == [True, True, False]
    assert again[1].commit_s == steps[1].commit_s                  # the figures measured then
    assert again[2].grown_readings == 1000
    assert again[2].verify_ok
    assert _count(tmp_path) == 4000


def test_a_size_below_the_grown_ledger_and_not_measured_needs_fresh(tmp_path: Path) -> None:
    growth.grow([2000], stacks=STACKS, cache=tmp_path, repeat=1, workers=1)
    with pytest.raises(CarbonlabError, match="--fresh"):
        growth.grow([1000], stacks=STACKS, cache=tmp_path, repeat=1, workers=1)
    (step,) = growth.grow([1000], stacks=STACKS, cache=tmp_path, fresh=True, repeat=1, workers=1)
    assert not step.cached
    assert step.grown_readings == 1000
    assert _count(tmp_path) == 1000


def test_figures_it_cannot_read_are_named_not_trusted(tmp_path: Path) -> None:
    growth.grow([1000], stacks=STACKS, cache=tmp_path, repeat=1, workers=1)
    state = tmp_path / growthledger.code_key(STACKS) / "steps.json"
    state.write_text('[{"readings": 1000, "blocks": "x"}]')
    with pytest.raises(CarbonlabError, match=r"steps\.json: not the figures"):
        growth.grow([1000], stacks=STACKS, cache=tmp_path, workers=1)
    (step,) = growth.grow([1000], stacks=STACKS, cache=tmp_path, fresh=True, repeat=1, workers=1)
    assert step.verify_ok


def test_one_run_at_a_time_grows_a_ledger(tmp_path: Path) -> None:
    where = tmp_path / growthledger.code_key(STACKS)
    with growth._locked(where), pytest.raises(CarbonlabError, match="another run"):
        growth.grow([1000], stacks=STACKS, cache=tmp_path, workers=1)


def test_stacks_must_fill_whole_gateways(tmp_path: Path) -> None:
    with pytest.raises(CarbonlabError, match="--stacks"):
        growth.grow([1000], stacks=7, cache=tmp_path)
