"""The verification contract: which batches go on the ledger, and with which marks.

Theory of operation. Every node runs the same pure, deterministic function over
each request of a committed proposal, in order: `evaluate(genesis, state, request)`
decides from the genesis document and the contract state alone (no clock, no
randomness, no I/O), and `apply` advances the state after an accepted batch. Two
honest nodes that start from genesis and execute the same proposals therefore hold
the same verdicts and the same state, and `carbonlab ledger verify` can re-run the
contract over a whole ledger and compare.

A batch is accepted or rejected whole; a rejection carries one reason code and a
detail naming the field, the value and what was allowed. Checks run cheapest
first: decoding, chain id, gateway, the gateway's signature, batch replay, then per
reading: meter known and assigned, basis and alignment, meter-seq replay and
interval overlap, physical ranges, and the recomputed CO2 mass. Replay rule: a
`batch_seq` at or below the gateway's last accepted one, or a reading `seq` at or
below its meter's last accepted one (also earlier in the same batch), is a replay;
gaps are allowed. A reading whose interval starts before the end of its meter's
previous accepted interval is a replay too: it would count the same emissions twice.

Accepted readings may carry anomaly marks (`carbonlab.node.anomaly`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from carbonlab.node import emissions
from carbonlab.node.anomaly import Anomaly, Baseline, advance, assess
from carbonlab.node.block import Proposal
from carbonlab.node.checkedbatches import CheckedBatches
from carbonlab.node.contract_channels import channel_problem
from carbonlab.node.contract_table import reading_passes, table_of
from carbonlab.node.crypto import verify
from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import MEASURES, Genesis, MeterInfo
from carbonlab.node.model import Batch, Reading
from carbonlab.node.schema import as_bool, as_choice, as_dict, as_int, as_list, as_str
from carbonlab.node.sigcache import VerifiedSignatures

__all__ = ["Anomaly", "ContractState", "Reason", "Verdict", "apply", "evaluate", "evaluate_and_apply",
           "execute", "reading_problem"]


class Reason(StrEnum):
    """Why a batch was rejected."""

    MALFORMED = "malformed"
    WRONG_CHAIN = "wrong_chain"
    UNKNOWN_GATEWAY = "unknown_gateway"
    UNKNOWN_METER = "unknown_meter"
    METER_NOT_ASSIGNED = "meter_not_assigned"
    BAD_SIGNATURE = "bad_signature"
    REPLAY_BATCH = "replay_batch"
    REPLAY_READING = "replay_reading"
    OUT_OF_RANGE = "out_of_range"
    CO2_MISMATCH = "co2_mismatch"
    # wire version 2 (contract_channels): a channel genesis does not declare, or one missing
    # or in another unit or basis; a gas mass that is not its recomputation; load vs heat
    CHANNEL_MISMATCH = "channel_mismatch"
    GAS_MISMATCH = "gas_mismatch"
    LOAD_MISMATCH = "load_mismatch"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The contract's decision on one request. `anomalies` pairs a reading index with a mark.
    A rejection names the offending `field` (a dotted path, `batch.readings[2].co2_kg`) as
    data; its `detail` is `"<field>: <what was wrong>"`. An acceptance has neither."""

    accepted: bool
    reason: Reason | None
    detail: str
    gateway_id: str | None
    batch_seq: int | None
    anomalies: tuple[tuple[int, Anomaly], ...] = ()
    field: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "reason": self.reason.value if self.reason else None,
                "field": self.field, "detail": self.detail, "gateway_id": self.gateway_id,
                "batch_seq": self.batch_seq, "anomalies": [[i, a.value] for i, a in self.anomalies]}

    @classmethod
    def from_json(cls, value: Any, path: str = "verdict") -> Verdict:
        obj = as_dict(value, path, allowed=("accepted", "reason", "field", "detail", "gateway_id",
                                            "batch_seq", "anomalies"),
                      required=("accepted", "reason", "detail", "gateway_id", "batch_seq",
                                "anomalies"))
        reason, field_path = obj["reason"], obj.get("field")
        marks = []
        for i, pair in enumerate(as_list(obj["anomalies"], f"{path}.anomalies")):
            index, mark = as_list(pair, f"{path}.anomalies[{i}]", length=2)
            marks.append((as_int(index, f"{path}.anomalies[{i}][0]", lo=0),
                          Anomaly(as_choice(mark, f"{path}.anomalies[{i}][1]",
                                            [a.value for a in Anomaly]))))
        return cls(
            accepted=as_bool(obj["accepted"], f"{path}.accepted"),
            reason=None if reason is None else Reason(
                as_choice(reason, f"{path}.reason", [r.value for r in Reason])),
            detail=as_str(obj["detail"], f"{path}.detail", max_len=1 << 16, allow_empty=True),
            gateway_id=None if obj["gateway_id"] is None else as_str(obj["gateway_id"],
                                                                     f"{path}.gateway_id"),
            batch_seq=None if obj["batch_seq"] is None else as_int(obj["batch_seq"],
                                                                   f"{path}.batch_seq", lo=0),
            anomalies=tuple(marks),
            field=None if field_path is None else as_str(field_path, f"{path}.field", max_len=256),
        )


@dataclass
class ContractState:
    """What the contract remembers between batches; the ledger keeps it in its tables."""

    last_batch_seq: dict[str, int] = field(default_factory=dict)     # gateway -> batch_seq
    last_reading_seq: dict[str, int] = field(default_factory=dict)   # meter -> seq
    interval_end: dict[str, int] = field(default_factory=dict)       # meter -> end of last interval
    baselines: dict[str, Baseline] = field(default_factory=dict)     # meter -> spike/stuck baseline

    def copy(self) -> ContractState:
        return ContractState(dict(self.last_batch_seq), dict(self.last_reading_seq),
                             dict(self.interval_end), dict(self.baselines))


class _Reject(Exception):  # internal control flow; never escapes evaluate()
    def __init__(self, reason: Reason, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.reason = reason
        self.field = field
        self.detail = f"{field}: {problem}"


def evaluate(genesis: Genesis, state: ContractState, request: bytes,
             signatures: VerifiedSignatures | None = None,
             checked: CheckedBatches | None = None,
             decoded: Batch | None = None) -> tuple[Verdict, Batch | None]:
    """Decide on one request (canonical batch bytes) without changing `state`. With
    `signatures`, a batch signature this party already verified is not verified again; with
    `checked`, a batch this party already decoded and found to pass every stateless check is
    neither decoded nor checked statelessly again (an accepted one is remembered there).
    `decoded`, when given, must be `Batch.decode(request)` itself (the API's binary route
    decoded the body already): it is used instead of decoding the bytes a second time. A batch
    built any other way (from JSON) must not be given: every member decodes the same bytes."""
    verdict, batch, _ = _evaluate(genesis, state, request, signatures, checked, pre_check=True,
                                  decoded=decoded)
    return verdict, batch


_Overlay = tuple[dict[str, int], dict[str, int], dict[str, "Baseline | None"]]


def _evaluate(genesis: Genesis, state: ContractState, request: bytes,
              signatures: VerifiedSignatures | None,
              checked: CheckedBatches | None = None,
              pre_check: bool = False,
              decoded: Batch | None = None) -> tuple[Verdict, Batch | None, _Overlay | None]:
    """With `checked`, a pre-check (`evaluate`) remembers a batch it accepts and finds one it
    remembered; an execution takes it out (each accepted batch is executed once)."""
    key: bytes | None = None
    batch: Batch | None = None
    if checked is not None:
        key = checked.key(genesis.hash, request)
        batch = checked.get(key) if pre_check else checked.take(key)
    known = batch is not None
    if batch is None and decoded is not None:
        batch = decoded
    if batch is None:
        try:
            batch = Batch.decode(request)
        except SchemaError as exc:
            return Verdict(False, Reason.MALFORMED, str(exc), None, None, field=exc.field), None, None
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            return Verdict(False, Reason.MALFORMED, f"batch: undecodable ({exc})", None, None,
                           field="batch"), None, None
    try:
        anomalies, overlay = _check(genesis, state, batch, signatures, known)
    except _Reject as rej:
        return Verdict(False, rej.reason, rej.detail, batch.gateway_id, batch.batch_seq,
                       field=rej.field), batch, None
    if pre_check and not known and checked is not None and key is not None:
        checked.remember(key, batch)    # accepted: every stateless check passed
    return Verdict(True, None, "", batch.gateway_id, batch.batch_seq, anomalies), batch, overlay


def _check(genesis: Genesis, state: ContractState, batch: Batch, signatures: VerifiedSignatures | None,
           known: bool = False) -> tuple[tuple[tuple[int, Anomaly], ...], _Overlay]:
    """The checks in the order their verdicts are worded; `known`: the stateless ones passed
    before for these very bytes (`CheckedBatches`), so only those reading the state run."""
    if not known:
        _check_batch(genesis, batch, signatures)
    last = state.last_batch_seq.get(batch.gateway_id)
    if last is not None and batch.batch_seq <= last:
        raise _Reject(Reason.REPLAY_BATCH,
                      "batch.batch_seq", f"{batch.batch_seq} is not above gateway "
                      f"{batch.gateway_id!r}'s last accepted batch_seq {last}")
    if not batch.readings:
        raise _Reject(Reason.MALFORMED, "batch.readings", "a batch must hold at least one reading")
    table = table_of(genesis)
    assigned = table.assigned[batch.gateway_id]
    meter_checks = table.meters
    last_seqs, last_ends, last_baselines = state.last_reading_seq, state.interval_end, state.baselines
    seqs: dict[str, int] = {}
    ends: dict[str, int] = {}
    baselines: dict[str, Baseline | None] = {}
    marks: list[tuple[int, Anomaly]] = []
    for i, reading in enumerate(batch.readings):
        mid = reading.meter_id
        check = meter_checks.get(mid)
        if not known and not reading_passes(check, assigned, reading):   # the exact checks word it
            _check_reading(genesis, genesis.gateway_by_id[batch.gateway_id].meters, batch.gateway_id,
                           reading, f"batch.readings[{i}]")
        assert check is not None
        last_seq = seqs.get(mid, last_seqs.get(mid))
        if last_seq is not None and reading.seq <= last_seq:
            where = "earlier in this batch" if mid in seqs else "last accepted"
            raise _Reject(Reason.REPLAY_READING, f"batch.readings[{i}].seq", f"{reading.seq} is not "
                          f"above meter {mid!r}'s {where} seq {last_seq}")
        end = ends.get(mid, last_ends.get(mid))
        if end is not None and reading.interval_start < end:
            raise _Reject(Reason.REPLAY_READING,
                          f"batch.readings[{i}].interval_start", f"{reading.interval_start} overlaps "
                          f"meter {mid!r}'s previous accepted interval, which ends at {end}")
        seqs[mid] = reading.seq
        ends[mid] = reading.interval_start + reading.interval_s
        found, baseline = assess(check.meter, baselines.get(mid, last_baselines.get(mid)), reading)
        baselines[mid] = baseline
        if found:
            marks.extend((i, mark) for mark in found)
    return tuple(marks), (seqs, ends, baselines)


def _check_batch(genesis: Genesis, batch: Batch, signatures: VerifiedSignatures | None) -> None:
    """The batch's own stateless checks: its chain, its gateway, its signature."""
    if batch.chain_id != genesis.chain_id:
        raise _Reject(Reason.WRONG_CHAIN,
                      "batch.chain_id", f"{batch.chain_id!r} is not this chain ({genesis.chain_id!r})")
    gateway = genesis.gateway_by_id.get(batch.gateway_id)
    if gateway is None:
        raise _Reject(Reason.UNKNOWN_GATEWAY,
                      "batch.gateway_id", f"{batch.gateway_id!r} is not a gateway in genesis")
    check_signature = verify if signatures is None else signatures.verify
    if not check_signature(gateway.public_key, batch.signature, batch.signing_bytes()):
        raise _Reject(Reason.BAD_SIGNATURE, "batch.signature", f"does not verify under the genesis "
                                            f"key of gateway {batch.gateway_id!r}")


def _check_reading(genesis: Genesis, assigned: tuple[str, ...], gateway_id: str,
                   reading: Reading, path: str) -> None:
    meter = genesis.meter_by_id.get(reading.meter_id)
    if meter is None:
        raise _Reject(Reason.UNKNOWN_METER,
                      f"{path}.meter_id", f"{reading.meter_id!r} is not a meter in genesis")
    if reading.meter_id not in assigned:
        raise _Reject(Reason.METER_NOT_ASSIGNED, f"{path}.meter_id", f"meter {reading.meter_id!r} is "
                                                 f"not assigned to gateway {gateway_id!r}")
    if reading.interval_start % reading.interval_s:
        raise _Reject(Reason.MALFORMED, f"{path}.interval_start", f"{reading.interval_start} is not "
                                        f"aligned to interval_s {reading.interval_s}")
    for name in MEASURES:
        value = getattr(reading, name)
        lo, hi = meter.ranges[name]
        if not lo <= value <= hi:
            raise _Reject(Reason.OUT_OF_RANGE, f"{path}.{name}", f"{value} is outside meter "
                                               f"{meter.id!r}'s range [{lo}, {hi}]")
    if reading.temp_c <= emissions.ABSOLUTE_ZERO_C:
        raise _Reject(Reason.OUT_OF_RANGE, f"{path}.temp_c", f"{reading.temp_c} is not above absolute zero")
    if reading.co2_basis.value != meter.co2_basis:
        raise _Reject(Reason.CO2_MISMATCH, f"{path}.co2_basis", f"{reading.co2_basis.value!r} but meter "
                                           f"{meter.id!r} reports on a {meter.co2_basis!r} basis")
    if reading.co2_method is not meter.co2_method:
        # a gateway may not pick the constant that reports less: genesis fixes it per meter
        raise _Reject(Reason.CO2_MISMATCH, f"{path}.co2_method", f"{reading.co2_method.value!r} but meter "
                                           f"{meter.id!r} follows {meter.co2_method.value!r}")
    computed = emissions.co2_mass_kg(reading.co2_pct, meter.co2_basis, reading.h2o_pct,
                                     reading.flow_m3_s, reading.temp_c, reading.pressure_kpa,
                                     reading.interval_s, reading.co2_method)
    if not emissions.mass_matches(reading.co2_kg, computed):
        raise _Reject(Reason.CO2_MISMATCH, f"{path}.co2_kg", f"{reading.co2_kg} does not match the "
                                           f"recomputed {computed!r} kg")
    _check_channels(meter, reading, path)


def _check_channels(meter: MeterInfo, reading: Reading, path: str) -> None:
    """Wire version 2's channels (CH4, N2O, load, heat input): `contract_channels`."""
    problem = channel_problem(meter, reading, path)
    if problem is not None:
        raise _Reject(Reason(problem.reason), problem.field, problem.problem)


def reading_problem(genesis: Genesis, gateway_id: str, reading: Reading,
                    path: str = "reading") -> tuple[Reason, str] | None:
    """The stateless checks of one reading (everything but replay): None when it passes.
    A Merkle proof checker uses this to show that a proven reading is valid on its own."""
    gateway = genesis.gateway_by_id.get(gateway_id)
    if gateway is None:
        return Reason.UNKNOWN_GATEWAY, f"gateway {gateway_id!r} is not a gateway in genesis"
    try:
        _check_reading(genesis, gateway.meters, gateway_id, reading, path)
    except _Reject as rej:
        return rej.reason, rej.detail
    return None


def apply(state: ContractState, batch: Batch, verdict: Verdict) -> None:
    """Advance `state` past an accepted batch; a rejected one leaves it unchanged."""
    if not verdict.accepted:
        return
    state.last_batch_seq[batch.gateway_id] = batch.batch_seq
    for reading in batch.readings:
        mid = reading.meter_id
        state.last_reading_seq[mid] = reading.seq
        state.interval_end[mid] = reading.interval_start + reading.interval_s
        baseline = advance(state.baselines.get(mid), reading)
        if baseline is not None:
            state.baselines[mid] = baseline


def evaluate_and_apply(genesis: Genesis, state: ContractState, request: bytes,
                       signatures: VerifiedSignatures | None = None,
                       checked: CheckedBatches | None = None) -> tuple[Verdict, Batch | None]:
    """`evaluate`, then `apply` to `state`: the same result, but an accepted batch's new
    state is taken from the evaluation instead of being worked out a second time."""
    verdict, batch, overlay = _evaluate(genesis, state, request, signatures, checked)
    if batch is not None and verdict.accepted and overlay is not None:
        seqs, ends, baselines = overlay
        state.last_batch_seq[batch.gateway_id] = batch.batch_seq
        state.last_reading_seq.update(seqs)
        state.interval_end.update(ends)
        for mid, baseline in baselines.items():
            if baseline is not None:
                state.baselines[mid] = baseline
    return verdict, batch


def execute(genesis: Genesis, state: ContractState, proposal: Proposal,
            signatures: VerifiedSignatures | None = None,
            checked: CheckedBatches | None = None) -> list[Verdict]:
    """Evaluate and apply each request of a committed proposal, in order."""
    return [evaluate_and_apply(genesis, state, request, signatures, checked)[0]
            for request in proposal.requests]
