"""Debian's headless Chromium driven through Selenium, for the web client's browser tests.

The browser is the system's (`/usr/bin/chromium`) and so is the driver (`/usr/bin/chromedriver`):
the Service is pointed at the driver and the options at the browser, and `SE_OFFLINE` is set, so
Selenium Manager never looks for (or downloads) anything. A machine without either binary, or
without the `selenium` package (the `dev` extra), skips the browser tests with that reason
(`./dev test` installs both as root; a non-root run cannot).

One browser serves the whole session (starting Chromium costs seconds on the loaded CI machine).
At the end, or when anything fails, the driver is asked to quit and then every process of the
driver's tree still alive (the driver, the browser and its helpers, found by their parent pid in
/proc) is killed by pid, and the browser's profile directory is removed.

The browser's console is read through the `goog:loggingPrefs` capability: `ConsoleLog.drain()`
returns what the page logged since the last drain; a `SEVERE` entry (a `console.error`, an
uncaught exception, a failed resource load) is an error that fails the test that caused it,
unless the test declared it expected (`ConsoleLog.expect`: the 401 of a refused login).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WIDTH, HEIGHT = 1280, 800
PAGE_LOAD_TIMEOUT_S = 30.0
SCRIPT_TIMEOUT_S = 30.0
WAIT_S = 30.0        # a page's answer under CI load (2 cores, a lab and the browser)


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    for binary, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not binary.exists():
            return (f"{binary} is missing (Debian package {package}; `./dev test` installs it as root)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is missing (pip install -e '.[dev]')"
    return None


def _children(pid: int) -> list[int]:
    """Every live descendant of pid, from /proc's parent pids."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@dataclass
class Browser:
    """The session's browser: the driver, its process tree and its profile directory."""

    driver: WebDriver
    driver_pid: int
    profile: Path

    def pids(self) -> list[int]:
        return [self.driver_pid, *_children(self.driver_pid)]

    def close(self) -> None:
        tree = self.pids()
        with contextlib.suppress(Exception):   # the browser may already be gone: kill by pid below
            self.driver.quit()
        _kill([pid for pid in tree if Path(f"/proc/{pid}").exists()])
        shutil.rmtree(self.profile, ignore_errors=True)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Chromium at 1280x800 with console logging on; closed (and killed) on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"   # Selenium Manager: never reach for the network
    profile = Path(tempfile.mkdtemp(prefix="carbonlab-e2e-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", f"--window-size={WIDTH},{HEIGHT}", "--no-sandbox",
                "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--force-device-scale-factor=1", "--hide-scrollbars", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(CHROMEDRIVER))
    try:
        driver = webdriver.Chrome(service=service, options=options)
    except BaseException:
        if service.process is not None:
            _kill([service.process.pid, *_children(service.process.pid)])
        shutil.rmtree(profile, ignore_errors=True)
        raise
    assert service.process is not None
    browser = Browser(driver, service.process.pid, profile)
    try:
        driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT_S)
        driver.set_script_timeout(SCRIPT_TIMEOUT_S)
        driver.set_window_size(WIDTH, HEIGHT)
        # the window includes the browser's own frame: make the page's viewport itself 1280x800
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
        yield browser
    finally:
        browser.close()


@dataclass(frozen=True)
class ConsoleEntry:
    level: str
    message: str
    source: str


class ConsoleLog:
    """The browser console's entries, drained from the driver; errors are the SEVERE ones."""

    def __init__(self, driver: WebDriver) -> None:
        self.driver = driver
        self.seen: list[ConsoleEntry] = []
        self.expected: list[str] = []

    def expect(self, fragment: str) -> None:
        """An error the test provokes on purpose (e.g. the 401 of a refused login): an entry
        whose message contains fragment is not counted as an error."""
        self.expected.append(fragment)

    def drain(self) -> list[ConsoleEntry]:
        entries = [ConsoleEntry(str(e.get("level")), str(e.get("message")), str(e.get("source", "")))
                   for e in self.driver.get_log("browser")]
        self.seen.extend(entries)
        return entries

    def errors(self) -> list[ConsoleEntry]:
        self.drain()
        return [e for e in self.seen
                if e.level == "SEVERE" and not any(f in e.message for f in self.expected)]


def wait_for(what: str, check: Callable[[], Any], timeout_s: float = WAIT_S, every_s: float = 0.2) -> Any:
    """Poll check() until it returns something truthy; fail naming `what` after timeout_s."""
    from selenium.common.exceptions import WebDriverException

    deadline = time.monotonic() + timeout_s
    last: Any = None
    error: Exception | None = None
    while True:
        try:
            last = check()
            error = None
        except WebDriverException as exc:   # a stale element while the page re-renders: try again
            error = exc
        if last:
            return last
        if time.monotonic() > deadline:
            detail = f" (last error: {error!r})" if error else f" (last value: {last!r})"
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}{detail}")
        time.sleep(every_s)


def open_page(driver: WebDriver, url: str, ready_selector: str = "main") -> None:
    """Load url and wait until the document is complete and ready_selector is in it."""
    from selenium.webdriver.common.by import By

    driver.get(url)
    wait_for(f"{url} to finish loading", lambda: driver.execute_script("return document.readyState")
             == "complete")
    wait_for(f"{ready_selector!r} on {url}", lambda: driver.find_elements(By.CSS_SELECTOR, ready_selector))


def screenshot(driver: WebDriver, directory: Path, name: str) -> Path:
    """The viewport (1280x800) as directory/name.png."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    if not driver.save_screenshot(str(path)):
        raise AssertionError(f"the browser did not save a screenshot to {path}")
    return path
