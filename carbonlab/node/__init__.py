"""The consortium node: consensus core, ledger, verification contract, driver, API."""
