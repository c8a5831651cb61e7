"""`AllowanceRecords` from the chain: a ledger file or a member's API (issue 14, item 1).

Theory of operation. The chain's allowance contract (`carbonlab.node.allowances`) has already
decided which records count: only the accepted ones are read, refused ones (kept on the
ledger with their reason) never reach a position. Each is turned into the position's view
(`records.py`) by `view_of`: the body, the signing member as issuer / settled_by / signer /
verifier, whole allowances as tonnes. Reading is the same for both sources, because the
ledger's queries and the API's answers are the same `RecordEntry` values.

The chain has no carry-over record (the issue's four kinds), so `carried_over` is 0 here:
banking what is left is a rule set's outcome (`docs/compliance.md`), not a chain record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from carbonlab.apps.compliance.errors import InputError
from carbonlab.apps.compliance.records import Allocation, Surrender, Transfer, VerificationStatement
from carbonlab.node.allowances import records as chain
from carbonlab.node.allowances.answers import RecordEntry
from carbonlab.node.errors import NodeError

View = Allocation | Transfer | Surrender | VerificationStatement


def view_of(record: chain.SignedRecord) -> View:
    """The position's view of one chain record."""
    b = record.body
    if isinstance(b, chain.Allocation):
        return Allocation(company=b.company, year=b.year, quantity_t=float(b.quantity_t),
                          issuer=record.signer)
    if isinstance(b, chain.Transfer):
        return Transfer(seller=b.seller, buyer=b.buyer, year=b.year, quantity_t=float(b.quantity_t),
                        price_per_t=b.price_per_t, currency=b.currency, settled_by=record.signer)
    if isinstance(b, chain.Surrender):
        return Surrender(company=b.company, year=b.year, quantity_t=float(b.quantity_t),
                         signer=record.signer)
    return VerificationStatement(company=b.company, year=b.year, emissions_t=b.emissions_t,
                                 basis=b.basis, gwp_set=None if b.gwp_set is None else b.gwp_set.value,
                                 verifier=record.signer, manifest_hash=b.manifest_hash)


@dataclass(frozen=True)
class ChainRecords:
    source: str
    views: tuple[View, ...]

    @classmethod
    def from_entries(cls, entries: Sequence[RecordEntry], source: str) -> ChainRecords:
        return cls(source, tuple(view_of(e.record) for e in entries if e.accepted))

    @classmethod
    def from_ledger(cls, path: Path, genesis_path: Path) -> ChainRecords:
        from carbonlab.node.genesis import Genesis
        from carbonlab.node.ledger import Ledger

        try:
            with Ledger.open_readonly(path, Genesis.load(genesis_path)) as ledger:
                return cls.from_entries(ledger.allowance_records(), str(path))
        except NodeError as exc:
            raise InputError(str(path), "(ledger)", str(exc)) from None

    @classmethod
    def from_node(cls, url: str) -> ChainRecords:
        from carbonlab.node.allowances.client import AllowanceClient

        try:
            return cls.from_entries(AllowanceClient(url).records(), url)
        except NodeError as exc:
            raise InputError(url, getattr(exc, "field", None) or "(node)", str(exc)) from None

    def _of(self, kind: type[View], company: str, year: int) -> list[View]:
        return [v for v in self.views if isinstance(v, kind) and v.year == year and company in
                ((v.seller, v.buyer) if isinstance(v, Transfer) else (v.company,))]

    # AllowanceRecords
    def allocations(self, company: str, year: int) -> Sequence[Allocation]:
        return [v for v in self._of(Allocation, company, year) if isinstance(v, Allocation)]

    def transfers(self, company: str, year: int) -> Sequence[Transfer]:
        return [v for v in self._of(Transfer, company, year) if isinstance(v, Transfer)]

    def surrenders(self, company: str, year: int) -> Sequence[Surrender]:
        return [v for v in self._of(Surrender, company, year) if isinstance(v, Surrender)]

    def carried_over(self, company: str, year: int) -> float:
        return 0.0

    def statement(self, company: str, year: int) -> VerificationStatement | None:
        found = [v for v in self._of(VerificationStatement, company, year)
                 if isinstance(v, VerificationStatement)]
        return found[0] if found else None     # the contract accepts one per company-year

    def companies(self) -> Sequence[str]:
        names = {n for v in self.views for n in ((v.seller, v.buyer) if isinstance(v, Transfer)
                                                  else (v.company,))}
        return sorted(names)
