"""The console starts on a host whose wheelhouse carries carbonlab without its `apps` extra (lab
hosts get the base dependencies only): building the app, with every page registered, imports
none of the extra's packages; a page that needs one says which and how to install it.

Found by CI's netns lab: every console failed to start there (reportlab missing) while the
local-provider tests, which run in the controller's venv with every extra, passed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from carbonlab.client.appviews import mapped
from carbonlab.client.nodeapi import NodeDown

APPS_EXTRA = ("scipy", "statsmodels", "matplotlib", "reportlab", "openpyxl", "numpy", "pandas")


def test_building_the_console_imports_nothing_of_the_apps_extra() -> None:
    code = ("import sys\n"
            "from carbonlab.client import pages, approutes, app, serve\n"
            f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({APPS_EXTRA!r}))))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=True)
    assert done.stdout.strip() == "", f"the console imports {done.stdout.strip()} at start"


def test_a_page_needing_a_missing_package_names_it_and_the_extra() -> None:
    with pytest.raises(NodeDown) as caught, mapped():
        raise ModuleNotFoundError("No module named 'reportlab'", name="reportlab")
    assert "'reportlab'" in str(caught.value)
    assert "carbonlab[apps]" in str(caught.value)
