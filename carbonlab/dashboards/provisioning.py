"""Grafana file provisioning: the Prometheus datasource and the dashboards provider.

Grafana reads these from `provisioning/datasources/` and `provisioning/dashboards/` under its
provisioning directory (`/etc/grafana/provisioning` on Debian); the provider points at the
folder holding the dashboard JSON files. The datasource uid is fixed (`carbonlab-prometheus`)
because every dashboard's `datasource` variable defaults to it.
"""

from __future__ import annotations

from typing import Any

from carbonlab.dashboards.defaults import DEFAULT_DASHBOARDS_PATH as DEFAULT_DASHBOARDS_PATH
from carbonlab.dashboards.defaults import DEFAULT_PROMETHEUS_URL as DEFAULT_PROMETHEUS_URL
from carbonlab.dashboards.model import DATASOURCE_NAME, DATASOURCE_UID

FOLDER_TITLE = "carbonlab"
FOLDER_UID = "carbonlab"


def datasource(prometheus_url: str, scrape_interval: str) -> dict[str, Any]:
    """The datasource as Grafana's HTTP API and its provisioning file both describe it."""
    return {
        "name": DATASOURCE_NAME,
        "uid": DATASOURCE_UID,
        "type": "prometheus",
        "access": "proxy",
        "url": prometheus_url,
        "isDefault": False,
        "jsonData": {"timeInterval": scrape_interval, "httpMethod": "POST"},
    }


def datasources_file(prometheus_url: str, scrape_interval: str) -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "datasources": [{**datasource(prometheus_url, scrape_interval), "orgId": 1, "editable": False}],
    }


def dashboards_file(dashboards_path: str) -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "carbonlab",
                "orgId": 1,
                "folder": FOLDER_TITLE,
                "folderUid": FOLDER_UID,
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": dashboards_path, "foldersFromFilesStructure": False},
            }
        ],
    }
