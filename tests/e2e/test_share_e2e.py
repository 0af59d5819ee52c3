"""Share in a real browser: upload in one browser context, make a link, open it in a fresh context and
see the same KPIs with the same setting; a third context without the link sees only the demo; an
upload over the size limit is refused with the limit named.

Uses the shared app server (tests/e2e/conftest.py), whose links go to KEEPWISE_DATA_DIR or the
git-ignored var/shares; the test deletes the link it made, through the Share page.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, screenshot

pytestmark = pytest.mark.e2e
WAIT_MS = 120_000
IDLE = "[data-test-script-state='notRunning']"
SHARES = Path(os.environ.get("KEEPWISE_DATA_DIR") or ROOT / "var" / "shares")


def shop_csv() -> str:
    """30 customers, Jan-Jun 2024 (customer i buys in months 1..i % 6 + 1 for 10 + i); one refund."""
    lines = ["client;date;amount"]
    for i in range(1, 31):
        lines += [f"c{i:02d};05.{month:02d}.2024;{10 + i},00" for month in range(1, i % 6 + 2)]
    lines.append("c01;06.01.2024;-11,00")
    return "\n".join(lines) + "\n"


def fresh(browser):
    """A new browser context: no cookies, no session, like a colleague's laptop."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    return context, context.new_page()


def settle(page) -> None:
    """Until the page has run and no part of it still waits for a background fit (ui/background.py):
    a part that fills in reruns the page and moves what is below it."""
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.body.innerText.includes('fills in when it is done')", timeout=WAIT_MS)
    page.wait_for_selector(IDLE, timeout=WAIT_MS)


def go(page, title: str) -> None:
    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name=title, exact=True).click()
    page.get_by_role("heading", name=title).first.wait_for(timeout=WAIT_MS)
    settle(page)


def metrics(page) -> dict[str, str]:
    cards = page.locator("[data-testid='stMetric']")
    return {
        cards.nth(i).get_by_test_id("stMetricLabel").inner_text().strip(): cards.nth(i)
        .get_by_test_id("stMetricValue")
        .inner_text()
        .strip()
        for i in range(cards.count())
    }


def test_upload_share_and_open_in_a_fresh_browser(app_url, browser, tmp_path):
    url = app_url
    upload = tmp_path / "shop.csv"
    upload.write_text(shop_csv())

    sender_context, sender = fresh(browser)
    sender.goto(f"{url}/data")
    sender.get_by_role("heading", name="Data").first.wait_for(timeout=WAIT_MS)
    settle(sender)
    sender.locator("input[type=file]").first.set_input_files(str(upload))
    sender.get_by_text("106 read = 105 used + 1 left out.").wait_for(timeout=WAIT_MS)
    go(sender, "Customer health")
    sender.get_by_text("Quarter", exact=True).click()
    sender.get_by_text("(the last complete quarter)").wait_for(timeout=WAIT_MS)
    settle(sender)
    kpis = metrics(sender)
    assert kpis["Customers on the books, end of Q1 2024"] == "30"  # c01 .. c30
    assert kpis["Revenue, Q1 2024"] == "1,900"  # Jan-Mar 2024: sum of (10 + i) x months bought in Q1, by hand

    other_context, other = fresh(browser)  # a colleague WITHOUT the link
    other.goto(f"{url}/data")
    other.get_by_text("79,797 read = 79,454 used + 343 left out.").wait_for(timeout=WAIT_MS)
    assert other.get_by_text("shop.csv").count() == 0

    go(sender, "Share this analysis")
    sender.get_by_role("button", name="Create the link").click()
    sender.get_by_text("Link ready.").wait_for(timeout=WAIT_MS)
    link = sender.locator("[data-testid='stCode'] code").first.inner_text().strip()
    share_id = link.split("share=")[1]
    assert link == f"{url}/?share={share_id}" and len(share_id) == 32
    assert sorted(p.name for p in (SHARES / share_id).iterdir()) == ["meta.json", "transactions.parquet"]
    screenshot(sender, "share_link_made")

    receiver_context, receiver = fresh(browser)
    receiver.goto(link)
    receiver.get_by_role("heading", name="Keepwise").wait_for(timeout=WAIT_MS)
    settle(receiver)
    receiver.get_by_test_id("stSidebar").get_by_text("Opened from a share link; it works until").wait_for(
        timeout=WAIT_MS
    )
    go(receiver, "Customer health")
    assert receiver.get_by_role("radio", name="Quarter").is_checked()
    assert metrics(receiver) == kpis
    screenshot(receiver, "share_link_opened")
    go(receiver, "Data")
    receiver.get_by_text("106 read = 105 used + 1 left out.").wait_for(timeout=WAIT_MS)

    other.reload()  # still the demo: opening the link elsewhere changed nothing here
    other.get_by_text("79,797 read = 79,454 used + 343 left out.").wait_for(timeout=WAIT_MS)
    assert other.get_by_text("shop.csv").count() == 0
    for page in (sender, other, receiver):
        assert page.locator("[data-testid='stException']").count() == 0

    go(sender, "Share this analysis")  # the maker deletes it: the link stops working for everyone
    sender.get_by_role("button", name="Delete").click()
    sender.get_by_text("None yet.").wait_for(timeout=WAIT_MS)
    assert not (SHARES / share_id).exists()
    for context in (sender_context, other_context, receiver_context):
        context.close()


def test_bad_link_and_oversized_upload(app_url, browser, tmp_path):
    url = app_url
    context, page = fresh(browser)
    page.goto(f"{url}/?share=../../etc/passwd")
    page.get_by_text("This share link does not open an analysis").wait_for(timeout=WAIT_MS)
    assert page.locator("[data-testid='stException']").count() == 0

    big = tmp_path / "big.csv"
    with open(big, "wb") as handle:
        handle.truncate(201 * 1024 * 1024)  # sparse: 201 MB by size, no disk used
    page.goto(f"{url}/data")
    page.get_by_text("79,797 read = 79,454 used + 343 left out.").wait_for(timeout=WAIT_MS)
    page.locator("input[type=file]").first.set_input_files(str(big))
    # Streamlit's uploader refuses it in the browser (server.maxUploadSize = 200 in .streamlit/config.toml):
    # the file shows in red and its message names the limit; nothing reaches the server.
    page.get_by_text("File must be 200.0MB or smaller.").wait_for(state="attached", timeout=WAIT_MS)
    settle(page)
    assert page.get_by_text("79,797 read = 79,454 used + 343 left out.").count() == 1
    context.close()
