"""Merkle proofs for one reading: produced by a ledger, checked with genesis alone."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from carbonlab.node.ledger import Ledger
from carbonlab.node.ledger.proof import ProofError, check_proof
from tests.unit.node.factories import Kit, make_kit


def build(path: Path) -> Kit:
    kit = make_kit()
    with Ledger.open(path, kit.genesis) as ledger:
        for h in range(1, 4):
            requests = [kit.next_batch("gw1", per_meter=3).encode(), kit.next_batch("gw2").encode(),
                        kit.next_batch("gw1").encode()]
            ledger.commit(*kit.certified(h, requests, view=1))
        ledger.commit(*kit.certified(4, [kit.next_batch("gw2").encode()]))  # one leaf, empty paths
    return kit


def proof_of(path: Path, kit: Kit, meter: str, seq: int) -> dict[str, Any]:
    with Ledger.open(path, kit.genesis) as ledger:
        proof = ledger.reading_proof(meter, seq)
    assert proof is not None
    return json.loads(json.dumps(proof))  # it is JSON-able, and checked after a round trip


@pytest.mark.parametrize(("meter", "seq"), [("m1", 1), ("m2", 5), ("m1", 12), ("m3", 2), ("m3", 4)])
def test_proof_checks_with_genesis_alone(tmp_path: Path, meter: str, seq: int) -> None:
    kit = build(tmp_path / "l.db")
    proof = proof_of(tmp_path / "l.db", kit, meter, seq)
    reading = check_proof(kit.genesis, proof)
    assert (reading.meter_id, reading.seq) == (meter, seq)


def test_no_proof_for_a_reading_not_on_the_ledger(tmp_path: Path) -> None:
    kit = build(tmp_path / "l.db")
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        assert ledger.reading_proof("m1", 999) is None


def set_in(proof: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    target = proof
    for k in keys[:-1]:
        target = target[k]
    target[keys[-1]] = value


def flip_hex(text: str) -> str:
    return ("1" if text[0] == "0" else "0") + text[1:]


TAMPERS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("reading value", lambda p: set_in(p, ("reading", "co2_kg"), p["reading"]["co2_kg"] + 1),
     "is not leaf"),
    ("reading index", lambda p: set_in(p, ("reading_index",), p["reading_index"] + 1), "is not leaf"),
    ("readings path", lambda p: set_in(p, ("readings_path", 0), flip_hex(p["readings_path"][0])),
     "is not leaf"),
    ("gateway signature", lambda p: set_in(p, ("gateway_signature",), flip_hex(p["gateway_signature"])),
     "gateway signature does not verify"),
    ("batch bytes", lambda p: set_in(p, ("batch",), p["batch"][:-2] + "00"),
     "do not carry the signed batch header"),
    ("batches path", lambda p: set_in(p, ("batches_path", 0), flip_hex(p["batches_path"][0])),
     "is not request"),
    ("block timestamp", lambda p: set_in(p, ("block", "timestamp_ms"), p["block"]["timestamp_ms"] + 1),
     "do not reproduce its proposal_digest"),
    ("certificate signature", lambda p: set_in(p, ("certificate", "signatures", 0, 1),
                                               flip_hex(p["certificate"]["signatures"][0][1])),
     "bad signature by 'n1'"),
    ("certificate quorum", lambda p: set_in(p, ("certificate", "signatures"),
                                            p["certificate"]["signatures"][:2]),
     "2 signatures, 3 needed"),
    ("certificate view", lambda p: set_in(p, ("certificate", "view"), 0), "bad signature"),
    ("format", lambda p: set_in(p, ("format",), "x"), "proof.format"),
    ("missing field", lambda p: p.pop("batches_path"), "proof is malformed"),
    ("genesis", lambda p: set_in(p, ("genesis_hash",), "00" * 32), "another genesis"),
]


@pytest.mark.parametrize(("name", "tamper", "message"), TAMPERS, ids=[t[0] for t in TAMPERS])
def test_altered_proof_is_refused(tmp_path: Path, name: str,
                                  tamper: Callable[[dict[str, Any]], None], message: str) -> None:
    kit = build(tmp_path / "l.db")
    proof = proof_of(tmp_path / "l.db", kit, "m2", 5)
    bad = copy.deepcopy(proof)
    tamper(bad)
    with pytest.raises(ProofError, match=message):
        check_proof(kit.genesis, bad)


def test_proof_under_another_consortium_is_refused(tmp_path: Path) -> None:
    kit = build(tmp_path / "l.db")
    proof = proof_of(tmp_path / "l.db", kit, "m1", 2)
    with pytest.raises(ProofError, match="not 'other'"):
        check_proof(make_kit(chain_id="other").genesis, proof)
