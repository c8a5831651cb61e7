"""The application pages in a real browser on the shared lab: an allocation signed and submitted
in the emission department's console (n2) shows in the power company's console (n1) as more
allowances allocated to genco-a; a report bundle built on the reports page, tampered with and
uploaded on the same page, is shown as FAILED with its problems."""

from __future__ import annotations

import io
import secrets
import zipfile
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.e2e.browser import wait_for
from tests.e2e.conftest import Page
from tests.e2e.console import as_number, by_testid, click_fresh, login, text_of
from tests.e2e.lab import E2ELab

pytestmark = [pytest.mark.slow]
COMPANY = "genco-a"


def _allocated(page: Page, url: str) -> float:
    page.open(f"{url}/allowances?company={COMPANY}")
    found = wait_for("genco-a's allocated allowances", lambda: (lambda v: [v] if v is not None else None)(
        as_number(text_of(page.driver, "balance-allocated"))))
    return float(found[0])


def test_an_allocation_by_the_emission_department_shows_at_the_power_company(
        page: Page, e2e_lab: E2ELab) -> None:
    power = e2e_lab.client_for("power-company")
    department = e2e_lab.client_for("emission-management")
    login(page, power)
    before = _allocated(page, power.url)
    quantity = 1000 + secrets.randbelow(9000)
    login(page, department, f"/allowances?company={COMPANY}")
    form = by_testid(page.driver, "action-form-allocation")
    form.find_element(By.CSS_SELECTOR, "[data-testid=action-allocation-quantity_t]").send_keys(str(quantity))
    by_testid(page.driver, "action-allocation-submit").click()
    outcome = wait_for("the allocation's outcome", lambda: page.driver.find_element(
        By.CSS_SELECTOR, "[data-testid=action-outcome]"), timeout_s=60)
    assert outcome.get_attribute("data-status") == "committed", outcome.text
    page.shot("allowance-allocated")
    login(page, power)
    after = _allocated(page, power.url)
    assert after == before + quantity, (before, quantity, after)
    page.shot("allowances-power-company")


def test_a_tampered_bundle_is_shown_as_failed(page: Page, e2e_lab: E2ELab, tmp_path: Path) -> None:
    power = e2e_lab.client_for("power-company")
    login(page, power, "/reports")
    by_testid(page.driver, "report-build").click()
    href = str(wait_for("the built report's bundle link", lambda: new_bundle_href(page), timeout_s=180))
    with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {power.token}"}) as http:
        answer = http.get(href)
    assert answer.status_code == 200, (href, answer.status_code, answer.text[:200])
    tampered = tmp_path / "tampered-bundle.zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as original, zipfile.ZipFile(tampered, "w") as out:
        names = original.namelist()
        target = next(n for n in names if n.endswith("report.json"))
        for name in names:
            data = original.read(name)
            if name == target:
                at = next(i for i, b in enumerate(data) if chr(b).isdigit() and chr(b) != "9")
                data = data[:at] + bytes([data[at] + 1]) + data[at + 1:]
            out.writestr(name, data)
    page.open(f"{power.url}/reports")
    by_testid(page.driver, "report-bundle").send_keys(str(tampered))
    click_fresh(page.driver, By.CSS_SELECTOR, "[data-testid=report-verify]", "the verify button")
    verdict = wait_for("the verification's verdict", lambda: page.driver.find_element(
        By.CSS_SELECTOR, "[data-testid=verify-verdict]"), timeout_s=120)
    assert verdict.get_attribute("data-ok") == "no", verdict.text
    assert "FAILED" in verdict.text
    assert page.driver.find_elements(By.CSS_SELECTOR, "[data-testid^=problem-]")
    page.shot("report-tampered-failed")


def new_bundle_href(page: Page) -> str | None:
    """The just built report's bundle link (its row is marked), once the reports page lists it."""
    links = page.driver.find_elements(By.CSS_SELECTOR,
                                      "tr.row-up [data-testid$=-zip][data-testid^=download-]")
    return str(links[0].get_attribute("href")) if links else None
