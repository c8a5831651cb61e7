"""The allowance contract: which records take effect, and the balances they leave.

Theory of operation. Like the batch contract (`node/contract.py`), a pure deterministic
function every member runs over each record request of a committed block, in order:
`evaluate_and_apply(genesis, state, request, block_time_ms)` decides from genesis, the
allowance state and the block's own timestamp (certified with the block, so every member
uses the same one; no clock is read), and advances `state` only for an accepted record.
Honest members that execute the same blocks therefore hold the same balances, and
`carbonlab ledger verify` re-runs it over a whole ledger and compares.

Checks, in order, each refusal naming a `RecordReason` and the field:
decoding (`malformed`), chain id (`wrong_chain`), signer in genesis (`unknown_signer`), the
signer's Ed25519 signature under its genesis key (`bad_signature`), the signer's seq above
its last executed one (`duplicate`), the signer's genesis role for the kind (`wrong_role`:
allocation by emission-management, transfer by trading-centre, surrender by power-company,
statement by verifier), each company named is a genesis company (`unknown_company`), the
compliance year still open (`closed_year`), a surrender signed by the member genesis names
for that company (`not_company_member`), a second statement for a company-year
(`duplicate`), and a transfer or surrender above the holder's balance (`insufficient_balance`).

Closing. Compliance year Y closes at 00:00 UTC on 1 January of Y + 2 by block time: the
following year is left for verification, trading and surrender (China's ETS surrenders by
31 December of the following year; the EU ETS by 30 September). A record for a closed year
is refused; a year is never reopened. The rule needs no genesis field, so every existing
genesis keeps its hash.

Balances are whole allowances per (company, year): an allocation adds, a transfer moves,
a surrender removes (and counts as surrendered). No accepted record makes one negative.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from carbonlab.node.allowances.records import (
    Allocation,
    Kind,
    SignedRecord,
    Statement,
    Surrender,
    Transfer,
)
from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import Genesis, Member

ROLE_OF: dict[Kind, str] = {Kind.ALLOCATION: "emission-management", Kind.TRANSFER: "trading-centre",
                            Kind.SURRENDER: "power-company", Kind.STATEMENT: "verifier"}


class RecordReason(StrEnum):
    """Why a record was refused."""

    MALFORMED = "malformed"
    WRONG_CHAIN = "wrong_chain"
    UNKNOWN_SIGNER = "unknown_signer"
    BAD_SIGNATURE = "bad_signature"
    DUPLICATE = "duplicate"
    WRONG_ROLE = "wrong_role"
    UNKNOWN_COMPANY = "unknown_company"
    CLOSED_YEAR = "closed_year"
    NOT_COMPANY_MEMBER = "not_company_member"
    INSUFFICIENT_BALANCE = "insufficient_balance"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The contract's decision on one record request. A refusal names `reason` and `field`;
    `detail` is `"<field>: <what was wrong>"`. `record` is None when the bytes did not decode."""

    accepted: bool
    record_id: str
    record: SignedRecord | None
    reason: RecordReason | None = None
    field: str | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.record_id, "status": "committed" if self.accepted else "refused"}
        if not self.accepted:
            out.update(reason=self.reason.value if self.reason else None, field=self.field,
                       error=self.detail)
        return out


Key = tuple[str, int]      # (company, year)


@dataclass
class AllowanceState:
    """What the contract remembers between records; derivable from the ledger's
    `allowance_records` table (`ledger/allowance_rows.py`)."""

    held: dict[Key, int] = field(default_factory=dict)          # allowances held now
    surrendered: dict[Key, int] = field(default_factory=dict)
    statements: set[Key] = field(default_factory=set)
    last_seq: dict[str, int] = field(default_factory=dict)       # signer -> last executed seq

    def copy(self) -> AllowanceState:
        return AllowanceState(dict(self.held), dict(self.surrendered), set(self.statements),
                              dict(self.last_seq))

    def balance(self, company: str, year: int) -> int:
        return self.held.get((company, year), 0)


def year_closes_ms(year: int) -> int:
    """When compliance year `year` closes: 00:00 UTC, 1 January of year + 2, in ms."""
    return calendar.timegm((year + 2, 1, 1, 0, 0, 0, 0, 0, 0)) * 1000


class _Refuse(Exception):   # internal control flow; never escapes evaluate_and_apply()
    def __init__(self, reason: RecordReason, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.reason, self.field, self.detail = reason, field, f"{field}: {problem}"


def evaluate_and_apply(genesis: Genesis, state: AllowanceState, request: bytes,
                       block_time_ms: int) -> Outcome:
    """Decide on one record request and, if accepted, apply it to `state`."""
    record_id = hashlib.sha256(request).hexdigest()
    try:
        record = SignedRecord.decode(request)
    except SchemaError as exc:
        return Outcome(False, record_id, None, RecordReason.MALFORMED, exc.field, str(exc))
    try:
        _check(genesis, state, record, block_time_ms)
    except _Refuse as ref:
        return Outcome(False, record_id, record, ref.reason, ref.field, ref.detail)
    apply(state, record)
    return Outcome(True, record_id, record)


def stateless_refusal(genesis: Genesis, record: SignedRecord) -> Outcome | None:
    """The checks only genesis decides (chain, signer, signature, the signer's role, the
    companies named, a surrender's company member): a refusal the API gives before ordering,
    or None. No ledger state can make such a record acceptable."""
    try:
        member = _signed(genesis, record)
        _genesis_rules(genesis, member, record)
        _company_member(genesis, record)
    except _Refuse as ref:
        return Outcome(False, record.record_id, record, ref.reason, ref.field, ref.detail)
    return None


def _signed(genesis: Genesis, record: SignedRecord) -> Member:
    if record.chain_id != genesis.chain_id:
        raise _Refuse(RecordReason.WRONG_CHAIN, "record.chain_id",
                      f"{record.chain_id!r} is not this chain ({genesis.chain_id!r})")
    member = next((m for m in genesis.members if m.id == record.signer), None)
    if member is None:
        raise _Refuse(RecordReason.UNKNOWN_SIGNER, "record.signer",
                      f"{record.signer!r} is not a member in genesis")
    if not record.signature_valid(member.public_key):
        raise _Refuse(RecordReason.BAD_SIGNATURE, "record.signature",
                      f"does not verify under the genesis key of member {record.signer!r}")
    return member


def _check(genesis: Genesis, state: AllowanceState, record: SignedRecord, block_time_ms: int) -> None:
    member = _signed(genesis, record)
    last = state.last_seq.get(record.signer)
    if last is not None and record.seq <= last:
        raise _Refuse(RecordReason.DUPLICATE, "record.seq", f"{record.seq} is not above member "
                      f"{record.signer!r}'s last executed seq {last}")
    _genesis_rules(genesis, member, record)
    body = record.body
    if block_time_ms >= year_closes_ms(body.year):
        raise _Refuse(RecordReason.CLOSED_YEAR, "record.body.year", f"compliance year {body.year} "
                      f"closed at {year_closes_ms(body.year)} ms (1 January {body.year + 2} UTC); "
                      f"this block's time is {block_time_ms} ms")
    _company_member(genesis, record)
    if isinstance(body, Statement) and (body.company, body.year) in state.statements:
        raise _Refuse(RecordReason.DUPLICATE, "record.body.company",
                      f"{body.company} {body.year} already has a verification statement")
    holder = body.seller if isinstance(body, Transfer) else body.company
    if isinstance(body, Transfer | Surrender):
        held = state.balance(holder, body.year)
        if body.quantity_t > held:
            raise _Refuse(RecordReason.INSUFFICIENT_BALANCE, "record.body.quantity_t",
                          f"{body.quantity_t} t is above {holder}'s {body.year} balance of {held} t")


def made_by(kind: Kind) -> str:
    """"an allocation is made by an emission-management member": the one wording of the rule."""
    def a(word: str) -> str:
        return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"
    return f"{a(kind.value)} is made by {a(ROLE_OF[kind])} member"


def _genesis_rules(genesis: Genesis, member: Member, record: SignedRecord) -> None:
    """The signer's role may make the kind, and every company named is a genesis company."""
    role = ROLE_OF[record.kind]
    if member.role != role:
        raise _Refuse(RecordReason.WRONG_ROLE, "record.signer",
                      f"{made_by(record.kind)}; {record.signer!r} is {member.role}")
    body = record.body
    companies = {c.id for c in genesis.companies}
    for name in ("seller", "buyer") if isinstance(body, Transfer) else ("company",):
        company = getattr(body, name)
        if company not in companies:
            raise _Refuse(RecordReason.UNKNOWN_COMPANY, f"record.body.{name}",
                          f"{company!r} is not a company in genesis; companies: "
                          f"{', '.join(sorted(companies)) or '(none: genesis has no companies section)'}")


def _company_member(genesis: Genesis, record: SignedRecord) -> None:
    """A surrender is signed by the member genesis names for its company."""
    body = record.body
    if isinstance(body, Surrender):
        member = next(c.member for c in genesis.companies if c.id == body.company)
        if member != record.signer:
            raise _Refuse(RecordReason.NOT_COMPANY_MEMBER, "record.signer",
                          f"{body.company!r} is represented by member {member!r}, not {record.signer!r}")


def apply(state: AllowanceState, record: SignedRecord) -> None:
    """Advance `state` past an accepted record."""
    body = record.body
    state.last_seq[record.signer] = record.seq
    if isinstance(body, Allocation):
        key = (body.company, body.year)
        state.held[key] = state.held.get(key, 0) + body.quantity_t
    elif isinstance(body, Transfer):
        src, dst = (body.seller, body.year), (body.buyer, body.year)
        state.held[src] = state.held.get(src, 0) - body.quantity_t
        state.held[dst] = state.held.get(dst, 0) + body.quantity_t
    elif isinstance(body, Surrender):
        key = (body.company, body.year)
        state.held[key] = state.held.get(key, 0) - body.quantity_t
        state.surrendered[key] = state.surrendered.get(key, 0) + body.quantity_t
    else:
        state.statements.add((body.company, body.year))
