"""Reward and punishment: a company's compliance position under a rule set kept as data.

`ruleset.load_named("cn-ets")` reads a shipped rule set (`rulesets/*.yaml`), `records.assemble`
folds a company-year of allowance records into typed `ComplianceInputs`, and
`position.position(inputs, rules)` computes the `Position` (a pure function). docs/compliance.md
gives the formulas and each term's clause.
"""
