"""Browser walk of the decision pages (issue 15): Voice of the customer and Campaign readout on the demo.

The readout gets two real files through its upload widgets (a contact list with its control group and
a later customers file with churn flags); both pages are looked at on a desktop and a phone screen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.business.experiment import TREATMENT, assign_control_group
from analytics.data.datasets import DATA_DIR
from tests.e2e.conftest import screenshot
from tests.e2e.test_click_through import FIRST_FIT_MS, wait_until_idle

pytestmark = pytest.mark.e2e
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}


def readout_files(tmp_path) -> tuple[str, str]:
    customers = pd.read_csv(DATA_DIR / "subscription_customers.csv", dtype=str)
    current = customers.loc[customers["Churned"] == "No", "Customer ID"].head(2000)
    rng = np.random.default_rng(9)
    group = assign_control_group(current, rng.beta(2, 5, len(current)), control_share=0.1, seed=2026)
    listed = tmp_path / "customers_to_contact.csv"
    pd.DataFrame({"Rank": range(1, len(current) + 1), "Customer": current.to_numpy(), "group": group}).to_csv(
        listed, index=False
    )
    stay = rng.random(len(current)) < np.where(group.to_numpy() == TREATMENT, 0.9, 0.78)
    later = tmp_path / "customers_march.csv"
    pd.DataFrame({"Customer ID": current.to_numpy(), "Churned": np.where(stay, "No", "Yes")}).to_csv(later, index=False)
    return str(listed), str(later)


def open_page(page, app_url: str, path: str, heading: str) -> None:
    """Open a page by its address (the menu may fold long page lists behind 'View more')."""
    page.goto(f"{app_url}/{path}")
    page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=FIRST_FIT_MS)
    wait_until_idle(page)


def test_voice_of_the_customer_page(app_url, page):
    open_page(page, app_url, "voice", "Voice of the customer")
    page.get_by_text("Detractors who left").first.wait_for(timeout=FIRST_FIT_MS)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stVegaLiteChart'], .vega-embed").count() >= 2
    assert page.get_by_text("+21.3 points").count() >= 1
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(800)
        screenshot(page, f"decide-voice-{name}")


def test_campaign_readout_page_with_two_uploads(app_url, page, tmp_path):
    listed, later = readout_files(tmp_path)
    open_page(page, app_url, "readout", "Campaign readout")
    assert page.get_by_text("Upload both files").count() >= 1
    inputs = page.locator("[data-testid='stFileUploaderDropzoneInput']")
    inputs.nth(0).set_input_files(listed)
    wait_until_idle(page)
    inputs.nth(1).set_input_files(later)
    wait_until_idle(page)
    page.get_by_text("Retention, treated").first.wait_for(timeout=FIRST_FIT_MS)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("raised retention").count() >= 1
    assert page.locator("[data-testid='stVegaLiteChart'], .vega-embed").count() >= 1
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(800)
        screenshot(page, f"decide-readout-{name}")
