"""The allowance actions an organisation may take from its console, built and signed on its side.

Theory of operation. Which record kind a member may sign is the allowance contract's rule
(`node.allowances.contract.ROLE_OF`, by the signer's genesis role): an emission department
allocates, the trading centre records transfers with their price, the verifier signs statements
over a report's manifest hash, a power company surrenders. A power company surrenders only for
the companies genesis's `companies[].member` says it represents. `allowed_kinds` reads those
two facts and nothing else, so the console offers exactly what the contract would accept; a
request for any other kind (a forged POST) is refused here with `ActionRefused` (HTTP 403)
before anything is signed, and would be refused by the contract too (`wrong_role`,
`not_company_member`).

A permitted action is read from the form with the record body's own declared rules
(`appforms.read` over `node.allowances.records`' dataclasses: no second schema), signed with
the organisation's key (`sign_record`, `seq` the time in microseconds like the CLI's), posted to
the member's `POST /v1/records?wait_ms=` (the node's `AllowanceClient`), and followed at its
status URL until it is final or `wait_s` passes; the answer is the node's typed `RecordStatus`
(committed at height H, or refused with the contract's reason and field, or still pending).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from carbonlab.client.appdata import NodeUnavailable
from carbonlab.client.appforms import FormError, read
from carbonlab.errors import CarbonlabError
from carbonlab.node.allowances.answers import RecordState, RecordStatus
from carbonlab.node.allowances.client import AllowanceClient, AllowanceClientError
from carbonlab.node.allowances.contract import ROLE_OF, made_by
from carbonlab.node.allowances.records import (
    BODY_OF,
    Body,
    Kind,
    SignedRecord,
    Surrender,
    check_body,
    sign_record,
)
from carbonlab.node.crypto import Signer
from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import Genesis

WAIT_S = 10.0        # how long a page waits for the contract's answer before showing "pending"
POLL_S = 0.25


class ActionRefused(CarbonlabError):
    """The organisation's role may not take this action (HTTP 403); the client signs nothing."""

    def __init__(self, member: str, kind: str, reason: str) -> None:
        super().__init__(f"{member} may not make a {kind} record: {reason}")
        self.member, self.kind, self.reason = member, kind, reason


@dataclass(frozen=True, slots=True)
class Organisation:
    """Who this console acts for: its genesis member and, when it may sign, its key."""

    member: str
    role: str
    key: Signer | None

    @classmethod
    def of(cls, genesis: Genesis, member: str, key: Signer | None) -> Organisation:
        found = next((m for m in genesis.members if m.id == member), None)
        if found is None:
            raise ValueError(f"--member: {member!r} is not a genesis member; members: "
                             f"{', '.join(genesis.member_ids)}")
        if key is not None and key.public_key != found.public_key:
            raise ValueError(f"--key: the key is not {member}'s (genesis names another public key)")
        return cls(member, found.role, key)


def represented(genesis: Genesis, member: str) -> tuple[str, ...]:
    """The companies genesis says `member` represents (a power company's own companies)."""
    return tuple(c.id for c in genesis.companies if c.member == member)


def allowed_kinds(genesis: Genesis, org: Organisation) -> tuple[Kind, ...]:
    """The record kinds this organisation may sign: its role's, and none without a key."""
    if org.key is None:
        return ()
    kinds = tuple(k for k, role in ROLE_OF.items() if role == org.role)
    if Kind.SURRENDER in kinds and not represented(genesis, org.member):
        kinds = tuple(k for k in kinds if k is not Kind.SURRENDER)
    return kinds


def check_allowed(genesis: Genesis, org: Organisation, kind_text: str) -> Kind:
    try:
        kind = Kind(kind_text)
    except ValueError:
        raise FormError("kind", f"must be one of {', '.join(k.value for k in Kind)}, "
                        f"got {kind_text!r}") from None
    if org.key is None:
        raise ActionRefused(org.member, kind.value, "this console was started without the organisation's key")
    if kind not in allowed_kinds(genesis, org):
        raise ActionRefused(org.member, kind.value, made_by(kind)
                            + (" representing the company" if kind is Kind.SURRENDER else "")
                            + f"; {org.member} is {org.role}")
    return kind


def build(genesis: Genesis, org: Organisation, kind_text: str, form: dict[str, str]) -> SignedRecord:
    """The signed record of a permitted action; `ActionRefused` (403) or `FormError` (400 naming
    the field) otherwise."""
    kind = check_allowed(genesis, org, kind_text)
    body: Body = read(BODY_OF[kind], form, ignore=("kind",))
    if isinstance(body, Surrender) and body.company not in represented(genesis, org.member):
        raise ActionRefused(org.member, kind.value, f"it does not represent {body.company!r} "
                            f"(it represents {', '.join(represented(genesis, org.member)) or 'no company'})")
    try:
        check_body(body)
    except SchemaError as exc:
        raise FormError(exc.field.removeprefix("record.body."), exc.problem) from None
    assert org.key is not None
    return sign_record(body, org.member, org.key, chain_id=genesis.chain_id, seq=time.time_ns() // 1000)


def submit(url: str, record: SignedRecord, wait_s: float = WAIT_S) -> RecordStatus:
    """Post the record to the member's API (the node's own `AllowanceClient`) and wait up to
    `wait_s` for the contract's answer."""
    client = AllowanceClient(url)
    try:
        status = client.submit(record, wait_s)
        deadline = time.monotonic() + wait_s
        while not status.final and time.monotonic() < deadline:
            time.sleep(POLL_S)
            status = client.status(status.id)
    except AllowanceClientError as exc:
        raise NodeUnavailable(f"{client.url}/v1/records", str(exc)) from None
    return status


def outcome_text(status: RecordStatus) -> str:
    if status.status is RecordState.COMMITTED:
        return f"committed at height {status.height}"
    if status.status is RecordState.REFUSED:
        where = f" ({status.field})" if status.field else ""
        return f"refused: {status.reason.value if status.reason else 'refused'}{where}: {status.error}"
    return f"{status.status.value}: not executed within the wait; see /v1/records/{status.id}"
