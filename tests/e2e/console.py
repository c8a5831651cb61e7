"""What the browser tests do on the web client: log in through its form, read a test id's text,
wait for a live value to change without a reload. Test ids are the ones the page modules
document (carbonlab/client/pages/*.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.e2e.browser import wait_for

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

    from tests.e2e.conftest import Page
    from tests.e2e.lab import Client


def by_testid(driver: WebDriver, testid: str) -> WebElement:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f"[data-testid={testid!r}]".replace("'", '"'))


def text_of(driver: WebDriver, testid: str) -> str:
    """The element's text, read in one script (a live update may replace the element between
    finding it and reading it); AssertionError when it is not on the page."""
    text = driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
        f'[data-testid="{testid}"]')
    if text is None:
        raise AssertionError(f"no element with data-testid={testid} on {driver.current_url}")
    return str(text).strip()


def click_fresh(driver: WebDriver, by: str, selector: str, what: str) -> str:
    """Find the element anew and click it, again if a live update replaced it in between;
    returns the link's href (or '')."""
    def attempt() -> str:
        element = driver.find_element(by, selector)
        href = str(element.get_attribute("href") or "")
        element.click()
        return href or "clicked"

    done = str(wait_for(what, attempt))
    return "" if done == "clicked" else done


def login(page: Page, client: Client, path: str = "/") -> None:
    """Through the login form, as a person would; then on `path`."""
    page.open(f"{client.url}/login")
    field = by_testid(page.driver, "login-token")
    field.clear()
    field.send_keys(client.token)
    by_testid(page.driver, "login-submit").click()
    wait_for("the console after logging in", lambda: page.driver.find_elements(
        "css selector", "[data-testid=logout]"))
    if path != "/":
        page.open(f"{client.url}{path}")


def mark_document(driver: WebDriver) -> None:
    """Tag the loaded document, so `still_same_document` can tell a live update from a reload."""
    driver.execute_script("window.__carbonlab_e2e = true")


def still_same_document(driver: WebDriver) -> bool:
    return bool(driver.execute_script("return window.__carbonlab_e2e === true"))


def as_number(text: str) -> float | None:
    cleaned = text.replace(",", "").replace("\u202f", "").split()
    try:
        return float(cleaned[0]) if cleaned else None
    except ValueError:
        return None
