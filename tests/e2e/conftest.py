"""Fixtures of the browser tests (tests/e2e): one headless Chromium for the session
(tests/e2e/browser.py), a per-test console-error collector, screenshots into an artefact
directory, and the accessibility checks (tests/e2e/a11y.py).

- `browser` (session): the running Chromium; the whole directory skips, with the reason, where
  Chromium, chromedriver or selenium is missing.
- `page` (per test): the driver wrapped with the test's console log. Before the test the console
  is drained (what an earlier test left is not this test's); after it, any SEVERE entry fails the
  test with the messages. `page.shot(name)` saves the viewport as `<artefacts>/<name>.png`.
- `e2e_lab`: the session's shared live lab (tests/sharedlab.py) and each member's console as
  the lab provisions it (tests/e2e/lab.py).
- Artefacts go to `$CARBONLAB_E2E_ARTEFACTS`, else `test-artifacts/e2e/` at the repository's root
  (ignored by git); a failing test's last screen is saved there as `FAILED-<test>.png`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e import a11y
from tests.e2e.browser import Browser, ConsoleLog, chromium, open_page, screenshot, unavailable
from tests.e2e.lab import E2ELab, consoles

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

    from tests.sharedlab import SharedLab

ROOT = Path(__file__).parents[2]
_PAGE_KEY = pytest.StashKey["Page"]()


def artefact_dir() -> Path:
    return Path(os.environ.get("CARBONLAB_E2E_ARTEFACTS") or ROOT / "test-artifacts" / "e2e")


@dataclass
class Page:
    """What a browser test drives: the driver, the test's console log, where screenshots go."""

    driver: WebDriver
    console: ConsoleLog
    artefacts: Path
    shots: list[Path] = field(default_factory=list)

    def open(self, url: str, ready: str = "main") -> None:
        open_page(self.driver, url, ready)

    def shot(self, name: str) -> Path:
        path = screenshot(self.driver, self.artefacts, name)
        self.shots.append(path)
        return path

    def accessibility(self, *, tab: bool = True, nav: bool = True) -> list[str]:
        return a11y.check_all(self.driver, tab=tab, nav=nav)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    why = unavailable()
    if why:
        pytest.skip(f"browser tests need Debian's Chromium and chromedriver: {why}")
    with chromium() as running:
        yield running


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    driver = browser.driver
    driver.delete_all_cookies()
    console = ConsoleLog(driver)
    console.drain()
    console.seen.clear()
    current = Page(driver, console, artefact_dir())
    request.node.stash[_PAGE_KEY] = current
    yield current
    errors = console.errors()
    if errors:
        pytest.fail("the browser console logged errors:\n" + "\n".join(
            f"  {e.source}: {e.message}" for e in errors), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    current = item.stash.get(_PAGE_KEY, None)
    if current is not None and report.failed and call.when == "call":
        name = "FAILED-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name)
        from selenium.common.exceptions import WebDriverException

        try:
            current.shot(name)
        except (WebDriverException, AssertionError, OSError) as exc:   # the browser may be what failed
            report.sections.append(("e2e", f"no screenshot of the failure: {exc!r}"))
    return report


@pytest.fixture
def e2e_lab(browser: Browser, shared_lab: SharedLab) -> E2ELab:
    """The shared lab's consoles (tests/e2e/lab.py). Asks for the browser first, so a machine
    without Chromium skips before the shared lab is brought up for it."""
    return consoles(shared_lab)
