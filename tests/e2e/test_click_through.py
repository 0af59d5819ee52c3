"""A workshop run in a real browser: click every page in the menu on the demo data.

Each page must render its heading, finish running, show no exception, and (where it has charts)
draw them. The full-page screenshots land in tests/e2e/screenshots/ for a person to look at.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e

# (menu label, page heading, charts the page draws at least)
PAGES = [
    ("Home", "Keepwise", 0),
    ("Data", "Data", 0),
    ("Customer health", "Customer health", 1),
    ("Cohorts", "Cohorts", 2),
    ("Segments", "Segments", 2),
    ("Churn: who is leaving", "Churn: who is leaving", 3),
    ("Churn: three angles", "Churn: three angles", 0),
    ("Lifetime value", "Lifetime value", 3),
    ("What-if: retention lift", "What-if: retention lift", 3),
    ("Action list", "Action list", 0),
    ("Voice of the customer", "Voice of the customer", 2),
    ("Campaign readout", "Campaign readout", 0),
    ("Share this analysis", "Share this analysis", 0),
]
FIRST_FIT_MS = 300_000  # the first visit fits every model on a 2-core machine
RUNNING = "[data-testid='stStatusWidget'] >> text=/Running|Stop/"


def wait_until_idle(page) -> None:
    page.wait_for_timeout(1500)
    page.locator(RUNNING).first.wait_for(state="detached", timeout=FIRST_FIT_MS)
    page.wait_for_timeout(1000)


def test_every_page_renders_on_the_demo(app_url, page):
    page.set_viewport_size({"width": 1400, "height": 3200})  # Streamlit scrolls inside its own pane
    page.goto(app_url)
    page.get_by_role("heading", name="Keepwise").wait_for(timeout=FIRST_FIT_MS)
    problems = []
    for number, (label, heading, charts) in enumerate(PAGES, start=1):
        nav = page.get_by_test_id("stSidebarNav")
        link = nav.get_by_role("link", name=label, exact=True)
        more = nav.get_by_text("View", exact=False).filter(has_text="more")
        # the menu is redrawn with each page: wait until it shows the link or its folded tail's toggle
        link.or_(more).first.wait_for(timeout=FIRST_FIT_MS)
        if not link.count():  # a long menu folds its tail
            more.first.click()
        link.click()
        page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=FIRST_FIT_MS)
        wait_until_idle(page)
        screenshot(page, f"{number:02d}-{label.split(':')[0].lower().replace(' ', '-')}")
        if page.locator("[data-testid='stException']").count():
            problems.append(f"{label}: an exception is shown")
        drawn = page.locator("[data-testid='stVegaLiteChart'], .vega-embed").count()
        if drawn < charts:
            problems.append(f"{label}: {drawn} charts drawn, expected at least {charts}")
        errors = page.locator("[data-testid='stAlertContentError']").all_inner_texts()
        if errors:
            problems.append(f"{label}: error message {errors[0][:120]!r}")
    assert problems == []
