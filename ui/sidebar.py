"""Sidebar: which dataset every page analyses."""

from __future__ import annotations

import streamlit as st

from analytics.datasets import DEMOS
from ui import state


def dataset_picker() -> None:
    options = [f"demo:{key}" for key in DEMOS]
    if state.uploads():
        options.insert(0, state.UPLOAD)
    current = state.source()
    if current not in options:
        current = options[0]
        state.set_source(current)

    def label(option: str) -> str:
        if option == state.UPLOAD:
            return "Your upload: " + ", ".join(f.name for f in state.uploads())
        return DEMOS[option.split(":", 1)[1]].title

    with st.sidebar:
        choice = st.selectbox(
            "Dataset",
            options,
            index=options.index(current),
            format_func=label,
            help="Every page analyses this dataset. Upload your own on the Data page.",
        )
        if choice != current:
            state.set_source(choice)
            st.rerun()
        if choice.startswith("demo:"):
            # Query params are cleared on page switches: keep the demo's name in every page's link.
            st.query_params["dataset"] = choice.split(":", 1)[1]
            st.caption(DEMOS[choice.split(":", 1)[1]].description)
        else:
            st.caption("Your files stay in this browser session only; they are not in the page's link.")
