"""Action forms sent twice make one record (`client/sentforms.py`): the same token and fields give
the very record signed the first time; other fields under a token, or a malformed token, are
refused naming `form_token`; the memory is bounded."""

from __future__ import annotations

import pytest

from carbonlab.client.appforms import FormError
from carbonlab.client.sentforms import SentForms, new_token
from carbonlab.node.allowances.records import Allocation, SignedRecord, sign_record
from tests.unit.node.factories import signer_for

KEY = signer_for("n2")


class Signing:
    """Signs a fresh record per call (each with its own seq, as the console does) and counts."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> SignedRecord:
        self.calls += 1
        return sign_record(Allocation(company="company1", year=2026, quantity_t=500), "n2", KEY,
                           chain_id="test-chain", seq=self.calls)


FORM = {"kind": "allocation", "company": "company1", "year": "2026", "quantity_t": "500"}


def test_the_same_form_sent_twice_gets_the_record_signed_the_first_time() -> None:
    sent, sign, token = SentForms(), Signing(), new_token()
    first = sent.record(token, FORM, sign)
    again = sent.record(token, dict(reversed(FORM.items())), sign)      # field order does not matter
    assert again is first
    assert sign.calls == 1
    other = sent.record(new_token(), FORM, sign)                       # another form: another record
    assert other.seq != first.seq
    assert sign.calls == 2


def test_a_token_sent_with_other_values_is_refused_naming_it() -> None:
    sent, sign, token = SentForms(), Signing(), new_token()
    sent.record(token, FORM, sign)
    with pytest.raises(FormError) as refused:
        sent.record(token, {**FORM, "quantity_t": "5000"}, sign)
    assert (refused.value.field, refused.value.status) == ("form_token", 409)
    assert "reload the page" in str(refused.value)
    assert sign.calls == 1


@pytest.mark.parametrize("token", ["", "short", "x" * 65, "a" * 20 + "/..", "é" * 20, "a b" * 8])
def test_a_malformed_token_is_refused_before_anything_is_signed(token: str) -> None:
    sign = Signing()
    with pytest.raises(FormError) as refused:
        SentForms().record(token, FORM, sign)
    assert (refused.value.field, refused.value.status) == ("form_token", 400)
    assert sign.calls == 0


def test_a_refused_form_keeps_nothing_and_the_memory_is_bounded() -> None:
    sent, token = SentForms(capacity=3), new_token()

    def refuse() -> SignedRecord:
        raise FormError("quantity_t", "must be an integer")

    with pytest.raises(FormError):
        sent.record(token, FORM, refuse)
    assert len(sent) == 0
    sign = Signing()
    tokens = [new_token() for _ in range(5)]
    for t in tokens:
        sent.record(t, FORM, sign)
    assert len(sent) == 3
    sent.record(tokens[0], FORM, sign)               # forgotten (oldest): signed anew
    assert sign.calls == 6
    sent.record(tokens[-1], FORM, sign)              # kept
    assert sign.calls == 6
