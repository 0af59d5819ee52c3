"""Control groups on exported contact lists, and the readout page's files and cached steps.

The control-group share and seed are session settings (`camp_` keys, kept across pages and carried
by a share link), shared by the Churn planner, the Action list and the Campaign readout page, so the
same list, share and seed always give the same groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from analytics.business.campaign import CampaignAssumptions, plan_campaign
from analytics.business.churn_analysis import ChurnSettings
from analytics.business.experiment import CONTROL, DEFAULT_CONTROL_SHARE, DEFAULT_SEED, GROUP, with_control_group
from analytics.data.ingest import load_files
from analytics.data.io import read_table
from analytics.data.schema import CustomerData
from analytics.models.clv import ClvSettings
from ui import churn as ch
from ui import state
from ui.cache import per_dataset
from ui.downloads import TableDownload

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


CONTACTS_SHOWN = 10  # rows of the Churn planner's contact list drawn on its page (the download holds all)


@dataclass(frozen=True)
class ContactList:
    """The Churn planner's contact list with its control group marked.

    Attributes
    ----------
    table : TableDownload
        The list (`ui.churn.contact_list` with its `group` column drawn by `with_control_group`): its first
        `CONTACTS_SHOWN` rows, its length, and every row packed for the CSV download.
    held_out : int
        Customers marked control.
    """

    table: TableDownload
    held_out: int


def contact_list(
    data: CustomerData, churn: ChurnSettings, clv: ClvSettings | None, assumptions: CampaignAssumptions
) -> ContactList:
    """The contacts the campaign plan on `ui.churn.campaign_inputs(data, churn, clv)` picks at these
    assumptions, marked with this session's control group: built and packed once per dataset, settings,
    assumptions, share and seed (`ui.cache.per_dataset`), not on every run of the planner (a list of
    hundreds of thousands of customers took a second or more to pack, whether or not anyone clicked)."""
    return _contact_list(data, churn, clv, ch.value_settings(clv), assumptions, control_settings())


@per_dataset(max_entries=2)
def _contact_list(
    data: CustomerData,
    churn: ChurnSettings,
    clv: ClvSettings | None,
    value: ClvSettings,
    assumptions: CampaignAssumptions,
    control: tuple[float, int],
) -> ContactList:
    """`contact_list` at the settings of its key (`value`: the value at stake's settings,
    `ui.churn.value_settings`; `control`: the control group's share and seed)."""
    inputs = ch._campaign_inputs(data, churn, clv, value)
    plan = plan_campaign(inputs.customers["churn_probability"], inputs.customers["value"], assumptions)
    share, seed = control
    contacts = with_control_group(
        ch.contact_list(inputs, plan, assumptions),
        id_column="Customer",
        risk_column="Churn risk (%)",
        control_share=share,
        seed=seed,
    )
    return ContactList(TableDownload.of(contacts, CONTACTS_SHOWN), int((contacts[GROUP] == CONTROL).sum()))


@st.cache_data(show_spinner=False, max_entries=4, scope="session")
def read_contact_file(sha256: str, name: str, _content: bytes) -> pd.DataFrame:
    """The uploaded contact list as a raw table (raises DataError)."""
    return read_table(_content, name).frame


@st.cache_data(show_spinner=False, max_entries=4, scope="session")
def read_outcome_files(key: str, _files: tuple[state.UploadedBytes, ...]) -> CustomerData:
    """The later file(s) through the same ingestion as the Data page (raises DataError)."""
    return load_files([(f.name, f.content) for f in _files])
