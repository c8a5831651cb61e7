"""The application modules over a ledger source (DESIGN.md, application layer): compliance
(rule sets, positions), the one-click report and its offline verification, planning (unit
models, dispatch, pathways) and forecasts (emissions, carbon price, backtests).

`apps` may import `node`; only `client` and `cli` import `apps` (docs/architecture.md). Heavy
libraries (scipy, statsmodels, matplotlib, reportlab, openpyxl: the `apps` extra) are imported
inside the functions that use them.
"""
