"""The browser harness itself, on small static pages served by a real HTTP server on loopback
(tests/recording_http.py): a page that is right passes every accessibility check, and each kind
of fault (an unlabelled field, an image without alt, low contrast, a missing landmark, a
positive tabindex, a focus trap, a control that ignores the keyboard, a console error) is found
and named. So a browser test of the client that passes means the checks ran, not that they
could not fail."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import a11y
from tests.e2e.browser import Browser, ConsoleLog, open_page, wait_for
from tests.e2e.conftest import Page
from tests.recording_http import serve

HEAD = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        '<title>{title}</title>'
        '<style>body {{ font: 16px sans-serif; color: #1a1a1a; background: #fff; }} {style}</style></head>')
GOOD_BODY = """<body><header><h1>Chain</h1>
<nav aria-label="pages"><a href="good.html">Chain</a> <a href="good.html#e">Emissions</a></nav></header>
<main><p>Height <span data-testid="height">12</span></p>
<form><label for="who">Member</label> <input id="who" name="who">
<label>Year <select name="y"><option>2026</option></select></label>
<button type="button" id="go" onclick="this.textContent = 'done'">Go</button></form>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="a dot">
<svg role="img" aria-label="heights chart" width="10" height="10"></svg></main></body></html>"""

PAGES = {
    "good.html": HEAD.format(title="good", style="") + GOOD_BODY,
    "nolabel.html": HEAD.format(title="nolabel", style="") + GOOD_BODY.replace(
        '<label for="who">Member</label> ', ""),
    "noalt.html": HEAD.format(title="noalt", style="") + GOOD_BODY.replace(' alt="a dot"', ""),
    "grey.html": HEAD.format(title="grey", style="span { color: #aaa; background: rgba(255,255,255,.5); }")
    + GOOD_BODY,
    "nomain.html": HEAD.format(title="nomain", style="") + GOOD_BODY.replace("<main>", "<div>")
    .replace("</main>", "</div>"),
    "tabindex.html": HEAD.format(title="tabindex", style="") + GOOD_BODY.replace(
        '<button type="button" id="go"', '<button type="button" id="go" tabindex="3"'),
    "trap.html": HEAD.format(title="trap", style="") + GOOD_BODY.replace(
        '<input id="who" name="who">',
        '<input id="who" name="who" onkeydown="if (event.key === \'Tab\') event.preventDefault()">'),
    "divbutton.html": HEAD.format(title="divbutton", style="") + GOOD_BODY.replace(
        '<button type="button" id="go" onclick="this.textContent = \'done\'">Go</button>',
        '<div role="button" tabindex="0" id="go" onclick="this.textContent = \'done\'">Go</div>'),
    "error.html": HEAD.format(title="error", style="") + GOOD_BODY.replace(
        "</main>", "<script>console.error('carbonlab-e2e boom')</script></main>"),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root: Path = tmp_path_factory.mktemp("e2e-site")
    for name, html in PAGES.items():
        (root / name).write_text(html)

    class Files(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    with serve(Files) as url:
        yield url


def test_a_right_page_passes_every_check(page: Page, site: str) -> None:
    page.open(f"{site}/good.html")
    assert page.accessibility() == []
    assert page.shot("harness-good").stat().st_size > 1000


@pytest.mark.parametrize(("name", "check", "expected"), [
    ("nolabel.html", a11y.labels, "form control without a label: input#who"),
    ("noalt.html", a11y.images, "image without alt: data:image/gif"),
    ("grey.html", a11y.contrast, 'contrast 2.32:1 < 4.5:1 (text rgb(170, 170, 170) on rgb(255, 255, 255)): '
                                 'span[data-testid=height] "12"'),
    ("nomain.html", a11y.landmarks, "expected one <main> landmark, found 0"),
    ("tabindex.html", a11y.keyboard, 'positive tabindex breaks the tab order: button#go "Go"'),
    ("trap.html", a11y.keyboard, "Tab order differs from the document order"),
    ("nolabel.html", a11y.axe, "axe label:"),
    ("noalt.html", a11y.axe, "axe image-alt:"),
])
def test_each_fault_is_found_and_named(page: Page, site: str, name: str, check: object,
                                       expected: str) -> None:
    page.open(f"{site}/{name}", ready="h1")
    problems = check(page.driver)  # type: ignore[operator]
    assert any(p.startswith(expected) for p in problems), problems


def test_contrast_ratio_is_wcag_s() -> None:
    assert a11y.contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert a11y.contrast_ratio((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)


def test_enter_and_space_operate_a_button_not_a_bare_div(page: Page, site: str) -> None:
    from selenium.webdriver.common.by import By

    for key in ("ENTER", "SPACE"):
        page.open(f"{site}/good.html")
        a11y.press(page.driver, page.driver.find_element(By.ID, "go"), key)
        wait_for(f"the button to act on {key}", lambda: page.driver.find_element(By.ID, "go").text == "done")
    page.open(f"{site}/divbutton.html")
    a11y.press(page.driver, page.driver.find_element(By.ID, "go"), "ENTER")
    with pytest.raises(AssertionError, match="timed out"):
        wait_for("a div with only a click handler to act on Enter",
                 lambda: page.driver.find_element(By.ID, "go").text == "done", timeout_s=1.5)


def test_a_console_error_is_collected(browser: Browser, site: str) -> None:
    console = ConsoleLog(browser.driver)
    console.drain()
    open_page(browser.driver, f"{site}/error.html")
    errors = console.errors()
    assert any("carbonlab-e2e boom" in e.message for e in errors), console.seen
    console.seen.clear()   # drained: the next test's collector starts clean


def test_the_browser_runs_as_its_own_process_tree(browser: Browser) -> None:
    pids = browser.pids()
    assert len(pids) >= 2, pids   # the driver and at least the browser
    assert any("chromium" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
               for pid in pids[1:])
