"""Links that tell the truth: a link with unknown or out-of-range parameters says what it ignored.

The first run of a session records the address's query parameters (`remember_first_url`). At the
end of the first run that draws a page, `report_ignored` compares them with what the page kept:
Streamlit drops a widget value it cannot use (`?wi_lift=999` on a 0-20 slider), the sidebar
replaces an unknown demo (`?dataset=nonsense`), and a key no page knows stays unused. Each of
these is named in a short notice above the page, once.
"""

from __future__ import annotations

import streamlit as st

from ui import state

K_FIRST_URL = "_first_url_params"  # dict[str, list[str]] of the session's first address
K_REPORTED = "_first_url_reported"
#: Parameters the app reads besides the page settings (ui.state.SETTINGS_PREFIXES).
KNOWN_KEYS = frozenset({"dataset", state.SHARE_PARAM, "embed", "embed_options"})


def remember_first_url() -> None:
    """Record the session's first query parameters (later calls keep the first record)."""
    if K_FIRST_URL not in st.session_state:
        st.session_state[K_FIRST_URL] = {k: st.query_params.get_all(k) for k in st.query_params.keys()}


def ignored_parameters(first: dict[str, list[str]], now: dict[str, list[str]]) -> list[str]:
    """Human-readable list of what the first address asked for and the app did not use.

    Parameters
    ----------
    first : the first address's parameters {key: values}.
    now : the parameters after the page ran {key: values}.
    """
    out = []
    for key, values in first.items():
        shown = f"{key}={','.join(values)}"
        if key not in KNOWN_KEYS and not state._is_setting(key):
            out.append(f"{shown} (not a setting of this app)")
        elif key == "dataset" and now.get(key) != values:
            out.append(f"{shown} (no demo of that name)")
        elif key not in now:
            out.append(f"{shown} (outside the allowed range or choices)")
    return out


def report_ignored(where) -> None:
    """Once per session, after the first page ran: name what the first address carried in vain."""
    if st.session_state.get(K_REPORTED) or K_FIRST_URL not in st.session_state:
        return
    st.session_state[K_REPORTED] = True
    now = {k: st.query_params.get_all(k) for k in st.query_params.keys()}
    ignored = ignored_parameters(st.session_state[K_FIRST_URL], now)
    if ignored:
        where.info(
            "This link asked for something the app could not use, so the defaults apply instead: "
            + "; ".join(ignored)
            + ".",
            icon=":material/link:",
        )
