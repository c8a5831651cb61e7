"""Observability as code: Prometheus scrape config and rules, Grafana dashboards and provisioning.

Everything here is generated from Python: `scrape.scrape_config()` turns a list of targets into
Prometheus scrape jobs, `rules` holds the recording and alerting rules, `consensus`, `emissions`
and `rig` build the Grafana dashboards (JSON, schema v1), `provisioning` writes Grafana's file
provisioning, `build` writes it all to a folder, `push` sends it to a running Grafana and
`annotate` marks rig faults on it.
"""
