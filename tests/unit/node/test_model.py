"""Readings and batches: canonical encoding round trips, validation names the field."""

from __future__ import annotations

import json

import pytest

from carbonlab.node import codec, merkle
from carbonlab.node.crypto import Signer, verify
from carbonlab.node.errors import SchemaError
from carbonlab.node.model import Basis, Batch, DataFlag, Reading


def reading(seq: int = 1, **kw: object) -> Reading:
    base = dict(meter_id="m1", seq=seq, interval_start=1_700_000_040, interval_s=60, co2_pct=11.5,
                co2_basis=Basis.WET, o2_pct=6.0, h2o_pct=8.0, flow_m3_s=120.0, temp_c=140.0,
                pressure_kpa=100.5, valid_samples=60, flag=DataFlag.NORMAL, co2_kg=1234.5)
    base.update(kw)
    return Reading(**base)  # type: ignore[arg-type]


def test_batch_round_trips_through_wire_and_json() -> None:
    signer = Signer.generate()
    batch = Batch("chain", "gw1", 7, (reading(1), reading(2))).signed(signer)
    assert Batch.decode(batch.encode()) == batch
    assert Batch.from_json(json.loads(json.dumps(batch.to_json()))) == batch
    assert verify(signer.public_key, batch.signature, batch.signing_bytes())


def test_signature_covers_every_reading() -> None:
    signer = Signer.generate()
    batch = Batch("chain", "gw1", 7, (reading(1), reading(2))).signed(signer)
    tampered = Batch("chain", "gw1", 7, (reading(1), reading(2, co2_kg=1.0)), batch.signature)
    assert not verify(signer.public_key, tampered.signature, tampered.signing_bytes())


def test_non_canonical_encoding_is_refused() -> None:
    import msgpack

    value = [1.5, "x"]
    single = msgpack.packb(value, use_single_float=True)
    assert codec.decode(codec.encode(value)) == value
    with pytest.raises(SchemaError, match="canonical"):
        codec.decode(single)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"co2_pct": "high"}, "batch.readings[0].co2_pct"),
        ({"flag": "Q"}, "batch.readings[0].flag"),
        ({"seq": -1}, "batch.readings[0].seq"),
        ({"co2_basis": "moist"}, "batch.readings[0].co2_basis"),
        ({"valid_samples": True}, "batch.readings[0].valid_samples"),
        ({"bogus": 1}, "batch.readings[0].bogus"),
    ],
)
def test_json_errors_name_the_field(patch: dict[str, object], field: str) -> None:
    batch = Batch("chain", "gw1", 1, (reading(),)).signed(Signer.generate())
    obj = batch.to_json()
    obj["readings"][0].update(patch)
    with pytest.raises(SchemaError) as info:
        Batch.from_json(obj)
    assert info.value.field == field


def test_oversized_batch_is_refused() -> None:
    with pytest.raises(SchemaError, match="exceeds the limit"):
        Batch.decode(b"\x00" * (600 * 1024))


@pytest.mark.parametrize("n", range(1, 18))
def test_merkle_proofs_verify_and_detect_tampering(n: int) -> None:
    leaves = [f"leaf{i}".encode() for i in range(n)]
    root = merkle.root(leaves)
    for i in range(n):
        path = merkle.proof(leaves, i)
        assert merkle.verify(leaves[i], i, n, path, root)
        assert not merkle.verify(leaves[i] + b"x", i, n, path, root)
        if n > 1:
            assert not merkle.verify(leaves[i], (i + 1) % n, n, path, root)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 7, 8, 9, 13, 31, 32, 33, 100])
def test_iterative_merkle_root_is_rfc6962_split(n: int) -> None:
    leaves = [f"leaf{i}".encode() for i in range(n)]
    assert merkle.root(leaves) == merkle._root_of_hashes([merkle.leaf_hash(x) for x in leaves])


@pytest.mark.parametrize(
    "patch",
    [{1: 1.5}, {4: 1}, {4: float("inf")}, {4: float("nan")}, {5: "moist"}, {12: "Q"}, {14: 0},
     {0: ""}, {0: "x" * 65}, {11: -1}, {3: 0}, {1: True}],
)
def test_fast_and_slow_reading_paths_agree(patch: dict[int, object]) -> None:
    """The fast decoder rejects exactly what the field-by-field path rejects."""
    from carbonlab.node.model import _from_wire_fast

    wire = reading().to_wire()
    assert _from_wire_fast(wire) == Reading.from_wire(wire)
    for index, value in patch.items():
        wire[index] = value
    assert _from_wire_fast(wire) is None
    try:
        slow: Reading | None = Reading.from_wire(wire)
    except SchemaError:
        slow = None
    if slow is not None:  # an int where a float goes: accepted, but only by the slow path
        assert isinstance(wire[4], int)
        assert slow.co2_pct == float(wire[4])


def test_a_key_file_is_never_overwritten(tmp_path: object) -> None:
    from pathlib import Path

    from carbonlab.node.errors import NodeError

    path = Path(str(tmp_path)) / "node.key"
    first = Signer.generate()
    first.save(path)
    with pytest.raises(NodeError, match="already exists; refusing to overwrite a key"):
        Signer.generate().save(path)
    assert Signer.load(path).public_key == first.public_key


def test_codec_encoder_writes_what_encode_writes_and_recovers_after_a_refusal() -> None:
    from carbonlab.node import codec

    pack = codec.encoder()
    values = [[1, 2.0, "a", b"x", None, True, -(2**40), [3.5, []]], "wet", 2**62, 0.1]
    with pytest.raises(TypeError):
        pack([1, object()])
    assert [pack(v) for v in values] == [codec.encode(v) for v in values]
