"""Presentation in a real browser (issue 14): the what-if result stays in view, charts fit a phone.

- At 1440x900 the what-if's profit figure and the lift slider are in the viewport together, before
  and after the slider moves, and the profit figure is still in view beside the last slider.
- At 390x844 (a phone) the same holds: the result is pinned above the sliders.
- At 390x844 no chart title or legend on Home or What-if is cut: every title and legend lies inside
  the page's width and no text of theirs ends in Vega's truncation mark "…".
- The Action list's HTML brief has no sideways scrolling on a phone and its first page fits Letter.
Screenshots of Home, What-if and the brief go to tests/e2e/screenshots/.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import SCREENSHOTS

pytestmark = pytest.mark.e2e

DESKTOP = (1440, 900)
PHONE = (390, 844)
IDLE_MS = 240_000
PROFIT = ".st-key-whatif_result [data-testid='stMetric']:has-text('Profit change')"


def open_page(browser, url: str, size: tuple[int, int]):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.goto(url, timeout=IDLE_MS)
    page.wait_for_selector("[data-testid='stMain']", timeout=IDLE_MS)
    wait_idle(page)
    return context, page


def wait_idle(page) -> None:
    """Until the page has run and every part waiting for a background fit has filled in (ui/background.py)."""
    page.wait_for_timeout(800)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-testid=\"stSpinner\"]')"
        " && !document.body.innerText.includes('fills in when it is done')",
        timeout=IDLE_MS,
    )
    page.wait_for_timeout(800)


def in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    return (
        box is not None
        and box["y"] >= 0
        and box["y"] + box["height"] <= height
        and box["x"] >= 0
        and box["x"] + box["width"] <= width
    )


def scroll_to_rest(page, locator, attempts: int = 20) -> None:
    """Scroll `locator` into view and wait until it stops moving.

    On a loaded machine (CI) a chart above the sliders can still be drawing, or a rerun can redraw the
    column, after the first scroll: the slider then moves out of the viewport through no fault of the
    layout. Scroll again until two readings 300 ms apart agree (at most `attempts` times, ~6 s)."""
    previous = None
    for _ in range(attempts):
        locator.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        box = locator.bounding_box()
        if box is not None and box == previous and in_viewport(page, locator):
            return
        previous = box


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1440x900", "390x844"])
def test_whatif_profit_and_lift_slider_are_in_view_together(browser, app_url, size):
    context, page = open_page(browser, f"{app_url}/whatif", size)
    try:
        profit = page.locator(PROFIT).first
        lift = page.get_by_test_id("stSlider").filter(has_text="Retention lift").first
        scroll_to_rest(page, lift)
        assert in_viewport(page, lift), f"the lift slider is not in view: {lift.bounding_box()}"
        assert in_viewport(page, profit), "the profit figure is not in view beside the lift slider"
        shot(page, f"whatif-{size[0]}x{size[1]}")
        before = profit.inner_text()
        thumb = lift.get_by_role("slider")
        thumb.focus()
        for _ in range(4):  # +2 points: the result must move while both stay in view
            thumb.press("ArrowRight")
        page.wait_for_function(
            "([sel, old]) => { const e = document.querySelector(sel); return e && e.innerText !== old; }",
            arg=[".st-key-whatif_result [data-testid='stMetric']", before],
            timeout=60_000,
        )
        assert profit.inner_text() != before
        assert in_viewport(page, lift) and in_viewport(page, profit)
        last = page.get_by_test_id("stSlider").last  # the last loyalty slider, far down the column
        scroll_to_rest(page, last)
        assert in_viewport(page, last) and in_viewport(page, profit), "the result scrolled away from the sliders"
        # and with that slider high on the screen, where a presenter drags it
        page.evaluate(
            "([y]) => document.querySelector('[data-testid=\"stMain\"]').scrollBy(0, y)",
            [last.bounding_box()["y"] - size[1] * 0.35],
        )
        page.wait_for_timeout(500)
        assert in_viewport(page, last) and in_viewport(page, profit), "the result scrolled away from the last slider"
    finally:
        context.close()


CLIPPED_JS = """
() => Array.from(document.querySelectorAll('.vega-embed')).map(embed => {
  const parts = Array.from(embed.querySelectorAll('.role-title, .role-legend'));
  return parts.map(part => {
    const box = part.getBoundingClientRect();
    const texts = Array.from(part.querySelectorAll('text')).map(t => t.textContent);
    return {role: part.getAttribute('class'), left: box.left, right: box.right, texts: texts};
  });
}).flat()
"""


@pytest.mark.parametrize("path", ["", "whatif"], ids=["home", "whatif"])
def test_no_chart_title_or_legend_is_cut_on_a_phone(browser, app_url, path):
    context, page = open_page(browser, f"{app_url}/{path}", PHONE)
    try:
        if path == "whatif":
            page.wait_for_selector(".st-key-whatif_result", timeout=IDLE_MS)
        # Streamlit draws a chart when it scrolls into view: walk down the page first.
        for _ in range(60):
            at_end = page.evaluate(
                "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
                " m.scrollBy(0, 600); return m.scrollTop + m.clientHeight >= m.scrollHeight - 2; }"
            )
            page.wait_for_timeout(400)
            if at_end:
                break
        page.wait_for_selector(".vega-embed svg", state="attached", timeout=60_000)
        page.wait_for_timeout(1000)
        assert page.locator(".vega-embed").count() >= 1
        parts = page.evaluate(CLIPPED_JS)
        assert any("role-title" in p["role"] for p in parts)
        for part in parts:
            assert part["left"] >= 0 and part["right"] <= PHONE[0], f"{part['texts']} sticks out of the page"
            cut = [t for t in part["texts"] if t.endswith("…")]
            assert not cut, f"cut short: {cut}"
        page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTo(0, 0)")
        shot(page, f"{path or 'home'}-phone-top")
    finally:
        context.close()


LETTER_PRINTABLE = (726, 966)  # 8.5 x 11 in at 96 px/in, less the brief's 12 mm margins


def test_html_brief_fits_a_phone_and_its_first_page_fits_letter(browser, app_url, tmp_path):
    """The Action list's HTML brief as a CEO gets it: no sideways scrolling on a phone (its 6-column action
    table scrolls in its own box; unwrapped it made the page 809 px wide), and page one (headline, cards,
    three actions, the what-if and its chart) fits one Letter page when printed."""
    context, page = open_page(browser, f"{app_url}/actions?dataset=cdnow_sample", DESKTOP)
    try:
        page.get_by_role("button", name="Build the workshop report").click()
        wait_idle(page)
        with page.expect_download(timeout=IDLE_MS) as info:
            page.get_by_role("button", name="Download the report (HTML)").click()
        report = tmp_path / "brief.html"
        info.value.save_as(report)
    finally:
        context.close()
    phone = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]})
    try:
        view = phone.new_page()
        view.goto(report.as_uri())
        view.wait_for_timeout(500)
        assert view.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
        assert view.locator(".tw table").count() >= 1  # the wide tables sit in scrolling boxes
        shot(view, "report_390x844")
    finally:
        phone.close()
    paper = browser.new_context(viewport={"width": LETTER_PRINTABLE[0], "height": LETTER_PRINTABLE[1]})
    try:
        view = paper.new_page()
        view.goto(report.as_uri())
        view.emulate_media(media="print")
        view.wait_for_timeout(500)
        brief = view.locator(".brief").bounding_box()
        assert brief is not None and brief["height"] <= LETTER_PRINTABLE[1]
        assert view.evaluate("getComputedStyle(document.querySelector('.brief')).breakAfter") == "page"
    finally:
        paper.close()
