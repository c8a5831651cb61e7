"""Allowance records on the chain (issue 14, item 1): types, signing, the contract.

`records` defines the four record kinds and their signed envelope (canonical wire form,
`sign_record`), `jsonform` their JSON form for the API, `contract` the checks by the
signer's genesis role and the balances they keep. `docs/allowances.md` describes all three.
"""
