"""The wire and JSON value checks (`carbonlab.checks`) bound to node's `SchemaError`.

`Reading.from_wire`'s slow path, batches, genesis, the PBFT message decoder and the ledger's
rows use these; a bad value raises `SchemaError(field, problem)`, a `NodeError` (the sender's
fault) that is also the neutral `CheckError`.
"""

from __future__ import annotations

from carbonlab.checks import Checks
from carbonlab.node.errors import SchemaError

_CHECKS = Checks(SchemaError)

as_str = _CHECKS.as_str
as_int = _CHECKS.as_int
as_float = _CHECKS.as_float
as_bool = _CHECKS.as_bool
as_bytes = _CHECKS.as_bytes
as_hex = _CHECKS.as_hex
as_list = _CHECKS.as_list
as_dict = _CHECKS.as_dict
as_choice = _CHECKS.as_choice
