"""The application modules over a ledger source: planning (unit models, dispatch, pathways)
and forecasts (emissions, carbon price, backtests). They may import `node`, nothing else of
carbonlab besides the shared top-level modules; heavy numerics (scipy, statsmodels,
matplotlib, the `apps` extra) are imported inside the functions that use them.
"""
