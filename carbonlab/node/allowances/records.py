"""Allowance records: the four kinds issue 14 puts on the chain, signed by a genesis member.

Theory of operation. A record is a *body* (what is recorded: an allocation, a transfer, a
surrender or a verification statement) inside a signed *envelope*: the chain id, the signer
(a genesis member id), the signer's sequence number and an Ed25519 signature by that
member's key (the key the node already holds; genesis `members[].public_key` verifies it).
The envelope's canonical encoding (`node/codec.py`, the codec of batches) is

    ["carbonlab/allowance/1", chain_id, signer, seq, kind, body, signature]

with `body` the body's fields as an array in declaration order; the signature covers the
same array without its last element (`signing_bytes`). Seven elements and the tag first make
a record distinguishable from a batch (five elements) by shape alone, so the PBFT request
path (`node/pbft/requests.py`) and the ledger tell the two request kinds apart without a
second framing. A record's id is the SHA-256 of its canonical bytes (as a batch's digest).

`seq` is per signer and strictly increasing (gaps allowed), as a gateway's `batch_seq`: a
record at or below its signer's last executed seq is a duplicate. The CLI takes the current
time in microseconds by default, so a member signing from two shells still increases it.

Quantities are whole allowances, `quantity_t: int`: one allowance is the right to emit one
tonne of CO2 (or CO2e), the unit both the EU ETS (Directive 2003/87/EC Art. 3(a)) and China's
national ETS issue, transfer and surrender, so balances are exact integers and every member
computes the same sums. Prices are float64 (they never enter a balance: they are read by the
position and the price forecast); a verification statement's `emissions_t` is float64 too,
because it is a measured figure (the report's total), not a count of allowances.

Every field's rule is declared once on these dataclasses with `carbonlab.fields`; the wire
decoder and the JSON decoder (`node/allowances/jsonform.py`) both check through them, and
`apps/compliance/records.py` reuses them.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from carbonlab import fields
from carbonlab.fields import FieldError, longest, spec
from carbonlab.node import codec
from carbonlab.node.crypto import SIGNATURE_BYTES, Signer, verify
from carbonlab.node.errors import SchemaError
from carbonlab.node.gwp import GwpSet
from carbonlab.node.model import MAX_ID_LEN

RECORD_TAG = "carbonlab/allowance/1"
MAX_RECORD_BYTES = 4096
MAX_T = 10**12                 # whole allowances in one record at most
MAX_PRICE_PER_T = 1e6
MAX_SEQ = 2**62


class Kind(StrEnum):
    ALLOCATION = "allocation"
    TRANSFER = "transfer"
    SURRENDER = "surrender"
    STATEMENT = "statement"


class Basis(StrEnum):
    """What a tonne of emissions counts: CO2 alone, or CO2-equivalent under a named GWP set."""
    CO2 = "co2"
    CO2E = "co2e"


_ID = longest(MAX_ID_LEN)


def _hash_hex(value: str) -> str | None:
    ok = len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    return None if ok else f"must be 64 lowercase hex digits (a SHA-256), got {value!r}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Allocation:
    """Allowances issued to `company` for compliance `year` (an emission department's record)."""
    company: str = spec(check=_ID)
    year: int = spec(lo=1990, hi=2200)
    quantity_t: int = spec(lo=1, hi=MAX_T)


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer:
    """A settled trade: `quantity_t` of `year`'s allowances from seller to buyer at a price
    (the trading centre's record)."""
    seller: str = spec(check=_ID)
    buyer: str = spec(check=_ID)
    year: int = fields.like(Allocation, "year")
    quantity_t: int = fields.like(Allocation, "quantity_t")
    price_per_t: float = spec(lo=0.0, hi=MAX_PRICE_PER_T)
    currency: str = spec(pattern="[A-Z]{3}")        # ISO 4217


@dataclass(frozen=True, slots=True, kw_only=True)
class Surrender:
    """Allowances given up by `company` against `year`'s emissions (its own power-company
    member's record)."""
    company: str = fields.like(Allocation, "company")
    year: int = fields.like(Allocation, "year")
    quantity_t: int = fields.like(Allocation, "quantity_t")


@dataclass(frozen=True, slots=True, kw_only=True)
class Statement:
    """The verifier's sign-off of `company`'s `year`: the emissions figure, its basis and GWP
    set, over the report bundle whose manifest hashes to `manifest_hash`."""
    company: str = fields.like(Allocation, "company")
    year: int = fields.like(Allocation, "year")
    emissions_t: float = spec(lo=0.0, hi=float(MAX_T))
    basis: Basis = spec(Basis.CO2)
    gwp_set: GwpSet | None = spec(None)       # named exactly when basis is co2e
    manifest_hash: str = spec(check=_hash_hex)


Body = Allocation | Transfer | Surrender | Statement
BODY_OF: dict[Kind, type[Body]] = {Kind.ALLOCATION: Allocation, Kind.TRANSFER: Transfer,
                                   Kind.SURRENDER: Surrender, Kind.STATEMENT: Statement}
KIND_OF: dict[type[Body], Kind] = {v: k for k, v in BODY_OF.items()}


def body_fields(kind: Kind) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(BODY_OF[kind]))


def body_wire(body: Body) -> list[Any]:
    return [_wire_value(getattr(body, name)) for name in body_fields(KIND_OF[type(body)])]


def _wire_value(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    return value


def check_body(body: Body) -> None:
    """Raise SchemaError naming the field if `body` breaks a declared rule (a body built in
    code, e.g. by the CLI, gets the same checks as one decoded from the wire)."""
    build_body(KIND_OF[type(body)], {n: _wire_value(getattr(body, n))
                                     for n in body_fields(KIND_OF[type(body)])}, "record.body")


def build_body(kind: Kind, raw: Any, path: str) -> Body:
    """A body from a mapping of its fields, each checked by its declared rule."""
    try:
        body = fields.build(BODY_OF[kind], raw, file="record", prefix=f"{path}.")
    except FieldError as exc:
        raise SchemaError(exc.field, exc.problem) from None
    if isinstance(body, Transfer) and body.seller == body.buyer:
        raise SchemaError(f"{path}.buyer", f"{body.buyer!r} is also the seller")
    if isinstance(body, Statement) and (body.basis is Basis.CO2E) != (body.gwp_set is not None):
        raise SchemaError(f"{path}.gwp_set", "names the GWP set exactly when basis is co2e, got "
                          f"basis {body.basis.value} with gwp_set "
                          f"{body.gwp_set.value if body.gwp_set is not None else None!r}")
    return body


@dataclass(frozen=True, slots=True)
class SignedRecord:
    """One record as the chain carries it. `record_id` is the SHA-256 (hex) of `encode()`."""

    chain_id: str
    signer: str
    seq: int
    body: Body
    signature: bytes = b""

    @property
    def kind(self) -> Kind:
        return KIND_OF[type(self.body)]

    def header(self) -> list[Any]:
        return [RECORD_TAG, self.chain_id, self.signer, self.seq, self.kind.value, body_wire(self.body)]

    def signing_bytes(self) -> bytes:
        return codec.encode(self.header())

    def to_wire(self) -> list[Any]:
        return [*self.header(), self.signature]

    def encode(self) -> bytes:
        return codec.encode(self.to_wire())

    @property
    def record_id(self) -> str:
        return hashlib.sha256(self.encode()).hexdigest()

    def signature_valid(self, public_key: bytes) -> bool:
        return verify(public_key, self.signature, self.signing_bytes())

    @classmethod
    def decode(cls, buf: bytes) -> SignedRecord:
        """From canonical bytes; SchemaError naming the field (`record.body.quantity_t`)."""
        buf = bytes(buf)
        record = cls.from_wire(codec.decode(buf, "record", max_bytes=MAX_RECORD_BYTES))
        if record.encode() != buf:   # e.g. an integer where a float64 field belongs
            raise SchemaError("record", "not in canonical encoding (a body field of the wrong type)")
        return record

    @classmethod
    def from_wire(cls, value: Any, path: str = "record") -> SignedRecord:
        from carbonlab.node.schema import as_bytes, as_choice, as_int, as_list, as_str

        items = as_list(value, path, length=7)
        if items[0] != RECORD_TAG:
            raise SchemaError(f"{path}.tag", f"must be {RECORD_TAG!r}, got {items[0]!r}")
        kind = Kind(as_choice(items[4], f"{path}.kind", [k.value for k in Kind]))
        names = body_fields(kind)
        raw_body = as_list(items[5], f"{path}.body", length=len(names))
        return cls(
            chain_id=as_str(items[1], f"{path}.chain_id", max_len=64),
            signer=as_str(items[2], f"{path}.signer", max_len=MAX_ID_LEN),
            seq=as_int(items[3], f"{path}.seq", lo=0, hi=MAX_SEQ),
            body=build_body(kind, dict(zip(names, raw_body, strict=True)), f"{path}.body"),
            signature=as_bytes(items[6], f"{path}.signature", size=SIGNATURE_BYTES),
        )


def is_record(request: bytes) -> bool:
    """Whether canonical request bytes are shaped as a record (a 7-array led by the tag): the
    cheap test that routes a request to the allowance contract rather than the batch one. The
    tag's msgpack prefix is checked without decoding the rest."""
    return request[:1] == b"\x97" and request[1:2 + len(RECORD_TAG)] == _TAG_BYTES


_TAG_BYTES = codec.encode(RECORD_TAG)


def check_seq(seq: int) -> None:
    """Raise SchemaError naming `record.seq` if it is outside 0..MAX_SEQ."""
    if not 0 <= seq <= MAX_SEQ:
        raise SchemaError("record.seq", f"must be 0..{MAX_SEQ}, got {seq}")


def sign_record(body: Body, member_id: str, private_key: Signer, *, chain_id: str,
                seq: int) -> SignedRecord:
    """`body` signed by `member_id` with its key; SchemaError naming a field that breaks a rule."""
    check_body(body)
    check_seq(seq)
    unsigned = SignedRecord(chain_id, member_id, seq, body)
    return dataclasses.replace(unsigned, signature=private_key.sign(unsigned.signing_bytes()))
