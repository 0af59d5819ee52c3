"""Control groups on exported contact lists, and the readout page's files and cached steps.

The control-group share and seed are session settings (`camp_` keys, kept across pages and carried
by a share link), shared by the Churn planner, the Action list and the Campaign readout page, so the
same list, share and seed always give the same groups.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.business.experiment import DEFAULT_CONTROL_SHARE, DEFAULT_SEED, with_control_group
from analytics.data.ingest import load_files
from analytics.data.io import read_table
from analytics.data.schema import CustomerData
from ui import state

BIND = "query-params"
K_CONTROL_PERCENT = "camp_control_percent"  # % of each contact list held out (setting)
K_SEED = "camp_seed"  # seed of the draw (setting)
K_LIST_FILE = "readout_list_file"  # UploadedBytes: the exported contact list (session only)
K_OUTCOME_FILES = "readout_outcome_files"  # list[UploadedBytes]: the later file(s) (session only)
DEFAULT_PERCENT = int(round(100 * DEFAULT_CONTROL_SHARE))


def control_settings() -> tuple[float, int]:
    """(control share 0..1, seed) chosen in this session, else the defaults."""
    percent = state.setting(K_CONTROL_PERCENT, DEFAULT_PERCENT)
    return float(percent) / 100, int(state.setting(K_SEED, DEFAULT_SEED))


def control_controls() -> tuple[float, int]:
    """The two widgets of the control group (share in %, seed); returns (share 0..1, seed)."""
    with st.expander(f"Control group: {control_settings()[0]:.0%} of the list held out of the offer", expanded=False):
        left, right = st.columns(2)
        left.number_input(
            "Control group (% of the list, held out of the offer)",
            min_value=1,
            max_value=50,
            value=DEFAULT_PERCENT,
            step=1,
            key=K_CONTROL_PERCENT,
            bind=BIND,
            help="The same share of every tenth of the list by risk is kept out of the offer at random, so the "
            "Campaign readout page can measure what the offer really changed.",
        )
        right.number_input(
            "Seed of the random draw",
            min_value=0,
            max_value=2**31 - 1,
            value=DEFAULT_SEED,
            step=1,
            key=K_SEED,
            bind=BIND,
            help="The same list, share and seed always give the same control group; the seed is kept in the "
            "page's link and in share links.",
        )
        st.caption(
            "The downloaded list marks every customer in the column **group**: *treatment* (send the offer) or "
            "*control* (do nothing). Keep the file: after the campaign, the Campaign readout page compares the two."
        )
    return control_settings()


def mark_control_group(contacts: pd.DataFrame, *, id_column: str, risk_column: str) -> pd.DataFrame:
    """The list with its `group` column drawn with this session's share and seed."""
    share, seed = control_settings()
    return with_control_group(contacts, id_column=id_column, risk_column=risk_column, control_share=share, seed=seed)


@st.cache_data(show_spinner=False, max_entries=4, scope="session")
def read_contact_file(sha256: str, name: str, _content: bytes) -> pd.DataFrame:
    """The uploaded contact list as a raw table (raises DataError)."""
    return read_table(_content, name).frame


@st.cache_data(show_spinner=False, max_entries=4, scope="session")
def read_outcome_files(key: str, _files: tuple[state.UploadedBytes, ...]) -> CustomerData:
    """The later file(s) through the same ingestion as the Data page (raises DataError)."""
    return load_files([(f.name, f.content) for f in _files])
