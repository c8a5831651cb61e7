"""Defaults the command line shows in its help, kept apart from the builders so that
`carbonlab dashboards --help` does not load them (and YAML, the dashboard model...)."""

from __future__ import annotations

from pathlib import Path

DEFAULT_PROMETHEUS_URL = "http://127.0.0.1:9090"
DEFAULT_DASHBOARDS_PATH = "/var/lib/grafana/dashboards/carbonlab"
DEFAULT_SCRAPE_INTERVAL = "5s"
GENERATED_DIR = Path(__file__).parent / "generated"
