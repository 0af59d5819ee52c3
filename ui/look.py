"""How pages look in a room: a result that stays in view, a presentation mode, honest link notices.

CSS is injected with `st.html` (a style-only block takes no space) and targets containers by their
key (Streamlit gives a keyed container the class `st-key-<key>`), so nothing depends on Streamlit's
generated class names.
"""

from __future__ import annotations

import textwrap

import altair as alt
import streamlit as st

from ui import state

RESULT_KEY = "whatif_result"  # not 'wi_': that prefix marks settings kept in links
K_PRESENT = "present_mode"  # session only: a presenter's screen choice, not part of the analysis

# Desktop: the result column sticks under Streamlit's top bar beside the sliders. Phone (Streamlit
# stacks columns under 640 px): the result column comes first and stays pinned as a compact 2x2 grid.
_STICKY_CSS = """
<style>
div[data-testid="stColumn"]:has(.st-key-%(key)s) {
  position: sticky; top: 3.9rem; align-self: flex-start; z-index: 20;
}
.st-key-%(key)s {
  background: var(--st-background-color, #fff);
  display: grid !important; grid-template-columns: 1fr 1fr; gap: 0.2rem 0.9rem;
}
.st-key-%(key)s > div:first-child, .st-key-%(key)s > div:nth-child(6) { grid-column: 1 / -1; }
.st-key-%(key)s [data-testid="stMetricLabel"] * { white-space: normal !important; text-overflow: clip !important; }
@media (max-width: 640px) {
  div[data-testid="stColumn"]:has(.st-key-%(key)s) { top: 3.2rem; }
  .st-key-%(key)s {
    display: grid !important; grid-template-columns: 1fr 1fr; gap: 0.1rem 0.75rem;
    padding: 0.4rem 0.6rem !important; box-shadow: 0 3px 8px rgba(15, 23, 42, 0.18);
  }
  .st-key-%(key)s > div:first-child, .st-key-%(key)s > div:nth-child(6) { display: none; }
  .st-key-%(key)s [data-testid="stMetricValue"] p { font-size: 1.35rem; line-height: 1.3; }
  .st-key-%(key)s [data-testid="stMetricLabel"] p { font-size: 0.75rem; }
  .st-key-%(key)s [data-testid="stMetricDelta"] { font-size: 0.72rem; }
}
</style>
"""
_PRESENT_CSS = """
<style>
.st-key-%(key)s { grid-template-columns: 1fr !important; }
.st-key-%(key)s [data-testid="stMetricValue"] p { font-size: 3.6rem; line-height: 1.1; font-weight: 600; }
.st-key-%(key)s [data-testid="stMetricLabel"] p { font-size: 1.15rem; }
.st-key-%(key)s [data-testid="stMetricDelta"] { font-size: 1.05rem; }
[data-testid="stMetricValue"] p { font-size: 2.6rem; }
@media (max-width: 640px) {
  .st-key-%(key)s { grid-template-columns: 1fr 1fr !important; }
  .st-key-%(key)s [data-testid="stMetricValue"] p { font-size: 1.7rem; }
  .st-key-%(key)s [data-testid="stMetricLabel"] p { font-size: 0.8rem; }
}
</style>
"""


def sticky_result(key: str = RESULT_KEY) -> None:
    """Keep the container with `key` in view while the page scrolls (beside on desktop, pinned on a phone)."""
    st.html(_STICKY_CSS % {"key": key})


def presentation_toggle(key: str = RESULT_KEY) -> bool:
    """A 'Presentation mode' switch that enlarges the key numbers for a projector."""
    on = st.toggle(
        "Presentation mode",
        key=K_PRESENT,
        help="Bigger key numbers for a projector or a shared screen. Only this browser session changes.",
    )
    if on:
        st.html(_PRESENT_CSS % {"key": key})
    return on


def link_notice(what: str) -> None:
    """Say what the address bar carries: on an upload it cannot carry the data, so point to Share."""
    if state.source() == state.UPLOAD:
        st.warning(
            f"**This page's address does not carry your upload.** Copied from the address bar it opens {what} "
            "on a demo dataset, not on your data. Make a link on the Share page instead: it holds the cleaned "
            "tables and these settings.",
            icon=":material/link_off:",
        )
        st.page_link("pages/share.py", label="Make a share link", icon=":material/share:")
    elif state.source().startswith(state.SHARE_PREFIX):
        st.caption(
            f"**Share:** this page's address holds the shared link and {what}; a colleague who opens it sees the "
            "same data and scenario while the link lasts."
        )
    else:
        st.caption(
            f"**Share:** the page's address holds {what}; copy it from the address bar and a colleague opens "
            "the same scenario on the same demo dataset."
        )


# --- charts that fit a phone ---------------------------------------------------------------------
TITLE_CHARS = 40  # about 300 px of 13 px bold text: fits a 390 px phone's chart width


def _wrapped(text: object, width: int) -> object:
    if isinstance(text, str) and len(text) > width:
        return textwrap.wrap(text, width)
    return text


def _fit_title(obj: object, width: int) -> None:
    title = getattr(obj, "title", alt.Undefined)
    if isinstance(title, str):
        obj.title = _wrapped(title, width)
    elif isinstance(title, alt.TitleParams):
        title.text = _wrapped(title.text, width)
        if isinstance(title.subtitle, str):
            title.subtitle = _wrapped(title.subtitle, width + 15)
    for child in getattr(obj, "layer", None) or []:
        _fit_title(child, width)


def fit(chart: alt.TopLevelMixin, width: int = TITLE_CHARS) -> alt.TopLevelMixin:
    """A copy of `chart` whose long titles break into lines instead of being cut ('Customers over (…').

    Vega cuts a one-line title at the chart's width; on a 390 px phone most of ours were cut. Lines
    of at most `width` characters fit. Legends go under the plot, where they cannot squeeze it.
    """
    out = chart.copy(deep=True)
    _fit_title(out, width)
    return out.configure_legend(orient="bottom", direction="horizontal", labelLimit=0, titleLimit=0)


_STEP_CSS = """
<style>
[class*="st-key-home_step_"] a[data-testid="stPageLink-NavLink"] {
  background: var(--st-primary-color, #0F766E); border-radius: 0.5rem; padding: 0.35rem 0.75rem;
}
[class*="st-key-home_step_"] a[data-testid="stPageLink-NavLink"] p,
[class*="st-key-home_step_"] a[data-testid="stPageLink-NavLink"] span { color: #fff !important; font-weight: 600; }
[class*="st-key-home_step_"] a[data-testid="stPageLink-NavLink"]:hover { filter: brightness(1.1); }
.st-key-home_headline p { font-size: 1.55rem !important; line-height: 1.35 !important; margin-bottom: 0.2rem; }
.st-key-home_steps > div { flex: 1 1 30% !important; min-width: 260px !important; width: auto !important; }
.st-key-home_cards > div { flex: 1 1 170px !important; min-width: 150px !important; width: auto !important; }
/* a card's label and comparison wrap instead of ending in '...' (e.g. 'Active customers, Dec 2025') */
.st-key-home_cards [data-testid="stMetric"] * { white-space: normal !important; text-overflow: clip !important; }
/* room for a two-line label in every card, so a wrapped one does not make its card taller than the row */
.st-key-home_cards [data-testid="stMetricLabel"] { min-height: 2.7em; align-items: flex-start; }
@media (max-width: 640px) {
  .st-key-home_headline p { font-size: 1.12rem !important; }
  .st-key-home_cards [data-testid="stMetricValue"] p { font-size: 1.5rem !important; }
}
</style>
"""


def home_css() -> None:
    """Home: the headline sentence large, KPI cards two to a row on a phone, the guided steps as buttons."""
    st.html(_STEP_CSS)
