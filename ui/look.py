"""How pages look in a room: a result that stays in view, a presentation mode, honest link notices.

CSS is injected with `st.html` (a style-only block takes no space) and targets containers by their
key (Streamlit gives a keyed container the class `st-key-<key>`), so nothing depends on Streamlit's
generated class names.
"""

from __future__ import annotations

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
.st-key-%(key)s { background: var(--st-background-color, #fff); }
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
.st-key-%(key)s [data-testid="stMetricValue"] p { font-size: 3.6rem; line-height: 1.1; font-weight: 600; }
.st-key-%(key)s [data-testid="stMetricLabel"] p { font-size: 1.15rem; }
.st-key-%(key)s [data-testid="stMetricDelta"] { font-size: 1.05rem; }
[data-testid="stMetricValue"] p { font-size: 2.6rem; }
@media (max-width: 640px) {
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
