"""Action forms already sent: a form's one-time token and the record it made, so that sending
the same form again submits the same signed record and never signs a second one.

Each action form the allowances page renders carries a fresh `form_token` (a hidden field). The
first post of a token signs the record and keeps it here under the token with the form's fields;
a second post of that form (a double click, the browser's resend after a refresh, a retry after
a page that waited for the contract and timed out) gets the very record again, which the console
submits again: the node is idempotent on a record's bytes, so the answer is the first one's
(committed at the same height, or still pending), and an allocation is never made twice. The
same token with other fields (a page edited and sent again) is refused (409) naming the token:
that is a new action, and a reload gives its form a new token. A post without a token (a script)
is a new action each time, as before. Bounded, oldest forgotten first; one console's event loop
is its only user.
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping

from carbonlab.client.appforms import FormError
from carbonlab.node.allowances.records import SignedRecord

FIELD = "form_token"
CAPACITY = 4096
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_token() -> str:
    return secrets.token_urlsafe(18)


class SentForms:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._sent: OrderedDict[str, tuple[tuple[tuple[str, str], ...], SignedRecord]] = OrderedDict()

    def record(self, token: str, fields: Mapping[str, str], sign: Callable[[], SignedRecord]) -> SignedRecord:
        """The record the form sent under `token` made, or `sign()`'s, kept under it; FormError
        when the token is malformed or was sent with other fields."""
        if not _TOKEN.fullmatch(token):
            raise FormError(FIELD, "malformed: 16 to 64 of A-Z, a-z, 0-9, - and _ (the page's hidden field)")
        values = tuple(sorted(fields.items()))
        kept = self._sent.get(token)
        if kept is not None:
            if kept[0] != values:
                raise FormError(FIELD, "this form was already sent with other values; reload the page "
                                       "for a new form", status=409)
            return kept[1]
        made = sign()
        self._sent[token] = (values, made)
        while len(self._sent) > self.capacity:
            self._sent.popitem(last=False)
        return made

    def __len__(self) -> int:
        return len(self._sent)
