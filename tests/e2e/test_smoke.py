"""One person's first minute: open the app, see the demo data loaded, open the Data page."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e
WAIT_MS = 60_000


def test_app_opens_on_demo_data(app_url, page):
    page.goto(app_url)
    page.get_by_role("heading", name="Keepwise").wait_for(timeout=WAIT_MS)
    page.get_by_text("85,454 of 85,797 rows used").first.wait_for(timeout=WAIT_MS)  # the data badge
    screenshot(page, "home")
    assert page.locator("[data-testid='stException']").count() == 0

    page.get_by_role("link", name="Data", exact=True).first.click()
    page.get_by_text("79,797 read = 79,454 used + 343 left out.").wait_for(timeout=WAIT_MS)
    page.get_by_text("Cancellation (invoice number starts with C)").first.wait_for(timeout=WAIT_MS)
    screenshot(page, "data")
    assert page.locator("[data-testid='stException']").count() == 0
