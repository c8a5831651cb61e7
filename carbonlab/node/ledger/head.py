"""The consortium's signed head: how far the chain goes, signed by 2f + 1 members.

Theory of operation. One ledger file cannot prove that it is complete: whoever cuts its
last blocks can also delete the checkpoint rows and rewrite the contract state, and
what is left verifies. Certificate Transparency's answer is the signed tree head: a
small statement "the log has size N and root R", signed, that any auditor fetches from
the log's operators and compares with the copy it holds. Ours is the head block's header
with its commit certificate: 2f + 1 genesis members' signatures over (view, seq,
proposal digest), and the header's fields reproduce that digest. Anyone holding genesis
can check it (`SignedHead.problem`), any member serves its own (`GET /v1/head`), and
`ledger verify --head` compares it with a ledger file:

- the ledger ends below the head's height: truncated;
- the ledger's block at that height carries another proposal: a fork;
- same proposal but another block hash: the header's `prev_hash` differs, so the two
  chains differ below that height (the commit certificate covers the proposal, not the
  link; every honest member derives the same link from the certified blocks before);
- the ledger is longer: fine, the head is older than the file.

`to_wire` is the canonical encoding (codec) and `to_json` the form the API serves and
a file holds; `from_json` refuses anything else with a `SchemaError` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carbonlab.node import codec
from carbonlab.node.block import HASH_BYTES, BlockHeader, CommitCertificate
from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger.errors import LedgerError
from carbonlab.node.ledger.render import (
    certificate_from_json,
    certificate_json,
    header_from_json,
    header_json,
)
from carbonlab.node.schema import as_dict, as_hex, as_int, as_str

FORMAT = "carbonlab-signed-head/1"
HEAD_TAG = "carbonlab/head/1"
FIELDS = ("format", "chain_id", "genesis_hash", "height", "block_hash", "header", "certificate")


class HeadError(LedgerError):
    """Raised when a signed head cannot be used: it is malformed, names another chain or
    genesis, or its certificate does not verify under genesis. The head's (or its
    server's) fault; nothing was compared with it."""


@dataclass(frozen=True, slots=True)
class SignedHead:
    """The head block's header and its commit certificate, for one chain and genesis."""

    chain_id: str
    genesis_hash: bytes
    header: BlockHeader
    certificate: CommitCertificate

    @property
    def height(self) -> int:
        return self.header.height

    @property
    def block_hash(self) -> bytes:
        return self.header.hash

    def to_wire(self) -> list[Any]:
        return [HEAD_TAG, self.chain_id, self.genesis_hash, self.header.to_wire(),
                self.certificate.to_wire()]

    def encode(self) -> bytes:
        return codec.encode(self.to_wire())

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "chain_id": self.chain_id, "genesis_hash": self.genesis_hash.hex(),
                "height": self.height, "block_hash": self.block_hash.hex(),
                "header": header_json(self.header), "certificate": certificate_json(self.certificate)}

    @classmethod
    def from_json(cls, value: Any, path: str = "head") -> SignedHead:
        """Parse the served form; `height` and `block_hash` must be the header's own."""
        d = as_dict(value, path, allowed=FIELDS, required=FIELDS)
        if d["format"] != FORMAT:
            raise SchemaError(f"{path}.format", f"expected {FORMAT!r}, got {d['format']!r}")
        head = cls(as_str(d["chain_id"], f"{path}.chain_id", max_len=64),
                   as_hex(d["genesis_hash"], f"{path}.genesis_hash", size=HASH_BYTES),
                   header_from_json(d["header"], f"{path}.header"),
                   certificate_from_json(d["certificate"], f"{path}.certificate"))
        if as_int(d["height"], f"{path}.height", lo=1) != head.height:
            raise SchemaError(f"{path}.height", f"{d['height']} is not the header's height "
                                                f"{head.height}")
        if as_hex(d["block_hash"], f"{path}.block_hash", size=HASH_BYTES) != head.block_hash:
            raise SchemaError(f"{path}.block_hash", "is not the hash of the header")
        return head

    def problem(self, genesis: Genesis) -> str | None:
        """None when 2f + 1 of genesis's members certified this head; otherwise why not."""
        if self.chain_id != genesis.chain_id or self.header.chain_id != genesis.chain_id:
            return f"it is for chain {self.chain_id!r}, not {genesis.chain_id!r}"
        if self.genesis_hash != genesis.hash:
            return "it was made under another genesis than the one given"
        if not self.header.proposal_digest_matches():
            return (f"block {self.height}'s header fields do not reproduce its proposal_digest "
                    "(a header field was altered)")
        wrong = self.certificate.mismatch(self.height, self.header.proposal_digest, "the header's")
        if wrong is not None:
            return wrong
        bad = self.certificate.check(genesis.chain_id, genesis.member_keys, genesis.quorum)
        return None if bad is None else f"block {self.height} certificate: {bad}"

    def checked(self, genesis: Genesis) -> SignedHead:
        """This head, or HeadError naming why it cannot be trusted."""
        problem = self.problem(genesis)
        if problem is not None:
            raise HeadError(f"the signed head does not verify: {problem}")
        return self
