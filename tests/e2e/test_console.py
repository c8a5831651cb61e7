"""The members' web console (carbonlab/client) in a real browser against the session's shared
lab (tests/e2e/lab.py: four members, each with the console the lab provisions): login refused
without the token and granted with it; every page of every organisation loads without a console
error, passes the accessibility checks and is saved as a screenshot; the chain page's heights
and the emissions page's total move without a reload; a plant's total drills down to one
reading whose proof the console judges valid; a member killed by SIGKILL turns red on the chain
page and green again when the lab's supervisor has restarted it.

Ordering: the kill test runs last in this module (it disturbs the lab, and waits until the
member is back up before it ends; the shared lab's fixture then checks the lab healthy)."""

from __future__ import annotations

import os
import signal

import pytest

from tests.e2e import a11y
from tests.e2e.browser import wait_for
from tests.e2e.conftest import Page
from tests.e2e.console import (
    as_number,
    by_testid,
    click_fresh,
    login,
    mark_document,
    still_same_document,
    text_of,
)
from tests.e2e.lab import E2ELab

pytestmark = [pytest.mark.slow]

DOWN_WITHIN_S = 15.0        # the refresh interval (<= 2 s) plus the link noticing the death
BACK_WITHIN_S = 120.0       # the supervisor's restart, the node's catch-up, under CI load


def _pages(role: str | None) -> list[tuple[str, str]]:
    from carbonlab.client import pages

    return [(p.name, p.path) for p in pages.visible(role)]


def test_login_is_refused_without_the_token(page: Page, e2e_lab: E2ELab) -> None:
    client = e2e_lab.clients["n1"]
    page.console.expect("401")
    page.open(f"{client.url}/chain", ready="[data-testid=login-form]")
    assert page.driver.find_elements("css selector", "[data-testid=chain-members]") == []
    field = by_testid(page.driver, "login-token")
    field.send_keys("not-the-token")
    by_testid(page.driver, "login-submit").click()
    wait_for("the refusal", lambda: page.driver.find_elements("css selector", "[data-testid=login-failed]"))
    assert page.driver.find_elements("css selector", "[data-testid=chain-members]") == []
    page.shot("login-refused")
    assert page.accessibility(nav=False) == []
    login(page, client, "/chain")
    assert by_testid(page.driver, "chain-members").is_displayed()


@pytest.mark.parametrize("member", ["n1", "n2", "n3", "n4"])
def test_every_page_loads_clean_and_accessible(page: Page, e2e_lab: E2ELab, member: str) -> None:
    client = e2e_lab.clients[member]
    login(page, client)
    problems: list[str] = []
    for name, path in _pages(client.role):
        page.open(f"{client.url}{path}")
        by_testid(page.driver, f"nav-{name}")
        page.shot(f"{member}-{name}")
        problems += [f"{member} {path}: {p}" for p in page.accessibility()]
        errors = page.console.errors()
        assert not errors, f"{path}: console errors {errors}"
    assert problems == []


def test_chain_heights_move_without_a_reload(page: Page, e2e_lab: E2ELab) -> None:
    client = e2e_lab.clients["n1"]
    login(page, client, "/chain")
    mark_document(page.driver)
    members = sorted(e2e_lab.hosts)
    first = wait_for("every member's height", lambda: (lambda h: h if None not in h.values() else None)(
        {m: as_number(text_of(page.driver, f"height-{m}")) for m in members}))

    def moved() -> bool:
        now = {m: as_number(text_of(page.driver, f"height-{m}")) for m in members}
        return all(now[m] is not None and now[m] > first[m] for m in members)  # type: ignore[operator]

    wait_for(f"every member's height to rise above {first}", moved, timeout_s=60)
    assert still_same_document(page.driver), "the page was reloaded; it must update live"
    page.shot("chain-live")


def test_emissions_move_without_a_reload(page: Page, e2e_lab: E2ELab) -> None:
    client = e2e_lab.clients["n1"]
    login(page, client, "/emissions?level=plant")
    mark_document(page.driver)
    first = wait_for("a total on the emissions page", lambda: as_number(
        text_of(page.driver, "emissions-total-co2e")))
    wait_for(f"the total CO2e to rise above {first} t", lambda: (as_number(
        text_of(page.driver, "emissions-total-co2e")) or 0) > first, timeout_s=60)
    assert still_same_document(page.driver), "the page was reloaded; it must update live"
    page.shot("emissions-live")


def test_a_live_update_keeps_the_keyboard_focus(page: Page, e2e_lab: E2ELab) -> None:
    """A keyboard user inside the live block keeps the focus while updates arrive (the newest is
    held and applied when the focus leaves); then the block updates again."""
    client = e2e_lab.clients["n1"]
    login(page, client, "/emissions?level=plant")
    d = page.driver
    wait_for("a link in the live block", lambda: d.execute_script(
        "return document.querySelector('#live a') !== null"))
    d.execute_script("document.querySelector('#live a').focus();"
                     "window.__focused = document.activeElement;")
    held = wait_for("the held update's notice", lambda: "held" in text_of(d, "live-status"), timeout_s=30)
    assert held
    assert d.execute_script("return document.activeElement === window.__focused && "
                            "window.__focused.isConnected"), "a live update took the focus away"
    d.execute_script("document.activeElement.blur(); document.body.focus();")
    wait_for("the update applied once the focus left", lambda: "updated" in text_of(d, "live-status"),
             timeout_s=30)


def test_drill_down_from_a_plant_to_a_verified_reading(page: Page, e2e_lab: E2ELab) -> None:
    """From the plant's row on the emissions page, one level down per click (each page's own
    links) to the readings, then a reading's proof: judged VALID by the console."""
    from selenium.webdriver.common.by import By

    client = e2e_lab.clients["n1"]
    login(page, client, "/emissions?level=plant")
    trail = [str(page.driver.current_url)]
    by, selector = By.XPATH, "//table[@data-testid='emissions-rows']//th/a[normalize-space()='plant-a']"
    for _ in range(6):
        target = click_fresh(page.driver, by, selector, f"a link one level down on {trail[-1]}")
        wait_for(f"{target} after the click", lambda t=target: page.driver.current_url == t
                 and page.driver.execute_script("return document.readyState") == "complete")
        trail.append(target)
        if page.driver.find_elements(By.CSS_SELECTOR, "[data-testid=readings]"):
            break
        by, selector = By.CSS_SELECTOR, "[data-testid=erow-0] th a"
    else:
        raise AssertionError(f"no readings reached from plant-a: {trail}")
    page.shot("explorer-readings")
    click_fresh(page.driver, By.CSS_SELECTOR, "[data-testid^=proof-link-]", "a reading's proof link")
    verdict = wait_for("the proof's verdict", lambda: page.driver.find_element(
        By.CSS_SELECTOR, "[data-testid=proof-verdict]"))
    assert verdict.get_attribute("data-valid") == "true", verdict.text
    assert "VALID" in verdict.text
    assert by_testid(page.driver, "proof-reading").is_displayed()
    page.shot("proof-valid")
    assert page.accessibility() == []


def test_the_enter_key_follows_the_navigation(page: Page, e2e_lab: E2ELab) -> None:
    client = e2e_lab.clients["n1"]
    login(page, client, "/chain")
    names = [name for name, _path in _pages(client.role)]
    target = names[-1]
    a11y.press(page.driver, by_testid(page.driver, f"nav-{target}"), "ENTER")
    wait_for(f"the {target} page after Enter on its link", lambda: by_testid(
        page.driver, f"nav-{target}").get_attribute("aria-current") == "page")


def _rgb(css: str) -> tuple[int, int, int]:
    import re

    r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
    return r, g, b


def _colour(page: Page, selector: str) -> str:
    """The rendered text colour of selector, read in one script (the row is re-rendered live)."""
    return str(wait_for(f"the colour of {selector}", lambda: page.driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? getComputedStyle(e).color : null;",
        selector)))


def _red(css: str) -> bool:
    r, g, b = _rgb(css)
    return r > 120 and r > 2 * g and r > 2 * b


def _green(css: str) -> bool:
    r, g, b = _rgb(css)
    return g > 60 and g > 1.5 * r and g > 1.5 * b


def test_a_killed_member_turns_red_and_comes_back_green(page: Page, e2e_lab: E2ELab) -> None:
    client = e2e_lab.clients["n1"]
    login(page, client, "/chain")
    primary = text_of(page.driver, "chain-primary")
    victim = next(m for m in sorted(e2e_lab.hosts) if m not in {client.member, primary})
    pid = e2e_lab.node_pid(victim)
    assert pid is not None, f"no pidfile of {victim}'s node"
    mark_document(page.driver)
    os.kill(pid, signal.SIGKILL)
    row = f"[data-testid=member-{victim}]"
    wait_for(f"{victim} shown down after SIGKILL of pid {pid}", lambda: page.driver.find_element(
        "css selector", row).get_attribute("data-state") == "down", timeout_s=DOWN_WITHIN_S)
    colour = _colour(page, f"{row} .state-down")
    assert _red(colour), colour
    page.shot("chain-member-down")
    wait_for(f"{victim} back up after the supervisor restarted it", lambda: page.driver.find_element(
        "css selector", row).get_attribute("data-state") == "up", timeout_s=BACK_WITHIN_S)
    colour = _colour(page, f"{row} .state-up")
    assert _green(colour), colour
    assert e2e_lab.node_pid(victim) not in (None, pid)
    assert still_same_document(page.driver), "the page was reloaded; it must update live"
