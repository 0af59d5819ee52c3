"""Hostile uploads in a real browser: user text never becomes markup, downloads never carry formulas.

- A column name holding a markdown image (`![x](http://127.0.0.1:9/x.png)`) in a file that is
  used and in one that is refused (so it appears in the error message too): no request may leave
  for that address while the Data page, Home and the Action list render.
- The Action list's table, saved with the table toolbar's "Download as CSV", on ids that start with
  `=cmd|`: every formula-leading text cell comes out prefixed with a quote (the page shows the table
  through ui.text.safe_table, so the toolbar's raw CSV is safe too).
"""

from __future__ import annotations

import csv
import io

import pytest

from tests.e2e.conftest import ROOT
from tests.e2e.test_share_e2e import WAIT_MS, go, settle

pytestmark = pytest.mark.e2e
IMAGE = "![x](http://127.0.0.1:9/x.png)"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def open_page(page, title: str) -> None:
    """Open a page from the menu (keeps the session and its upload; the menu may fold behind 'View more')."""
    more = page.get_by_test_id("stSidebarNavViewButton")
    if more.count() and "more" in more.first.inner_text().lower():
        more.first.click()
    go(page, title)


def orders_csv(id_prefix: str = "c") -> str:
    lines = [f"customer_id,order_date,amount,{IMAGE}"]
    for i in range(1, 41):
        for month in range(1, i % 5 + 2):
            lines.append(f"{id_prefix}{i:02d},2024-{month:02d}-1{i % 9},{10 + i}.50,note")
    return "\n".join(lines) + "\n"


def test_markdown_image_in_a_column_name_fetches_nothing(app_url, page, tmp_path):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    used = tmp_path / "orders.csv"
    used.write_text(orders_csv())
    refused = tmp_path / "people.csv"
    refused.write_text(f'"{IMAGE}",score\na,1\nb,2\n')

    page.goto(f"{app_url}/data")
    page.get_by_role("heading", name="Data").first.wait_for(timeout=WAIT_MS)
    settle(page)
    page.locator("input[type=file]").first.set_input_files([str(used), str(refused)])
    page.get_by_text("has no customer id column").first.wait_for(timeout=WAIT_MS)
    settle(page)
    assert page.get_by_text(IMAGE).count() >= 1  # the name is shown, literally
    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="Home", exact=True).click()
    page.get_by_role("heading", name="Keepwise").first.wait_for(timeout=WAIT_MS)
    settle(page)
    open_page(page, "Action list")
    assert page.locator("[data-testid='stException']").count() == 0
    assert not [url for url in requests if "127.0.0.1:9/" in url]


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


FORMULA_IDS = ROOT / "tests" / "data" / "corpus" / "files" / "formula_leading_ids" / "orders.csv"


def test_action_list_toolbar_download_has_no_formula_cell(app_url, page, tmp_path):
    # Streamlit's toolbar saves through the File System Access API where the browser has it; without
    # it, through a plain download, which Playwright can catch (the bytes are the same CSV).
    page.add_init_script("delete window.showSaveFilePicker;")
    page.goto(f"{app_url}/data")
    page.get_by_role("heading", name="Data").first.wait_for(timeout=WAIT_MS)
    settle(page)
    page.locator("input[type=file]").first.set_input_files(str(FORMULA_IDS))
    page.get_by_text("orders.csv").first.wait_for(timeout=WAIT_MS)
    settle(page)
    open_page(page, "Action list")
    page.get_by_role("heading", name="Whom to call first").first.wait_for(timeout=WAIT_MS)
    settle(page)
    table = page.get_by_test_id("stDataFrame").filter(has_text="Value at stake").first
    block = page.get_by_test_id("stElementContainer").filter(has=table).last  # the table's own container
    # The toolbar sits on the table's top edge: bring that edge well below Streamlit's sticky header
    # (scrolled only "into view", it lay under the header, which took the click).
    block.evaluate(
        """el => { el.scrollIntoView({block: 'start'}); let p = el.parentElement;
        while (p && !(p.scrollHeight > p.clientHeight && getComputedStyle(p).overflowY !== 'visible')) p = p.parentElement;
        (p || document.scrollingElement).scrollBy(0, -200); }"""
    )
    page.wait_for_timeout(300)
    table.hover()
    with page.expect_download(timeout=WAIT_MS) as download:
        block.get_by_test_id("stElementToolbar").get_by_label("Download as CSV").click()
    path = tmp_path / "actions.csv"
    download.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert len(rows) > 10 and "Value at stake" in rows[0]
    ids = [row[rows[0].index("Customer")] for row in rows[1:]]
    assert any(cell.startswith("'=cmd|") for cell in ids), rows[:3]  # the hostile ids are there, as text
    risky = [cell for row in rows for cell in row if cell.startswith(FORMULA_START) and not _number(cell)]
    assert not risky, risky[:5]
