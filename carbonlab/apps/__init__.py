"""The application modules over a ledger source (DESIGN.md, application layer).

`apps` may import `node`; only `client` and `cli` import `apps` (docs/architecture.md).
"""
