"""Sidebar: which dataset every page analyses."""

from __future__ import annotations

import streamlit as st

from analytics.data.datasets import DEMOS
from ui import currency, share, state


def dataset_picker() -> None:
    currency.from_url()
    current = state.source()  # chosen by ui.share.start_session (a ?share=<id> link's data, or a demo)
    options = [f"demo:{key}" for key in DEMOS]
    if state.uploads():
        options.insert(0, state.UPLOAD)
    chosen_tables = state.database()
    if chosen_tables:
        options.insert(0, state.DB_PREFIX + chosen_tables["connection"])
    opened = state.shared_link()  # a share link this session was opened with (ui/share.py)
    if opened and not opened.get("demo"):
        options.insert(0, state.SHARE_PREFIX + opened["id"])
    if current not in options:
        current = options[0]
        state.set_source(current)
    # Labels are read now: AppTest calls format_func after the run, when session state is gone.
    upload_label = "Your upload: " + ", ".join(f.name for f in state.uploads())
    share_label = share.sidebar_label()
    database_label = (
        "Database: "
        + chosen_tables["connection"]
        + " ("
        + " + ".join(t for t in (chosen_tables.get("purchases"), chosen_tables.get("customers")) if t)
        + ")"
        if chosen_tables
        else ""
    )

    def label(option: str) -> str:
        if option == state.UPLOAD:
            return upload_label
        if option.startswith(state.SHARE_PREFIX):
            return share_label
        if option.startswith(state.DB_PREFIX):
            return database_label
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
        currency.keep_in_url()
        if choice.startswith("demo:"):
            # Query params are cleared on page switches: keep the demo's name in every page's link.
            st.query_params["dataset"] = choice.split(":", 1)[1]
            st.caption(DEMOS[choice.split(":", 1)[1]].description)
        elif choice.startswith(state.SHARE_PREFIX):
            st.query_params[state.SHARE_PARAM] = choice[len(state.SHARE_PREFIX) :]  # like the demo's name
            st.caption(share.sidebar_caption())
        elif choice.startswith(state.DB_PREFIX):
            st.caption(
                "Read through a connection this server names; its credentials stay on the server. A share link "
                "carries the connection's name and the tables, never the data or a password."
            )
        else:
            st.caption(
                "Your files belong to this browser session; the address bar does not carry them. "
                "To show a colleague, make a link on the Share page."
            )
