"""Test and benchmark harnesses: they drive the production packages from outside.

`localcluster` (a consortium of real node processes on loopback), `benchload` (gateway
load against a running cluster) and `forecast_eval` (the edge forecast scored on the
rig's emulated unit). The bench CLI and the tests use them; nothing in `node`,
`gateway`, `lab` or `rig` imports this package (docs/architecture.md).
"""
