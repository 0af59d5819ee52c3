"""Glossary: every figure the app shows, with its definition, formula, period and where it appears."""

import contextlib

import pandas as pd
import streamlit as st

from analytics.business.glossary import glossary_rows
from analytics.business.kind import KINDS
from analytics.data.schema import DataError
from ui.cache import current_data
from ui.frame import header, next_step
from ui.kind import business_kind

header(
    "Glossary",
    "One name, one definition, one formula and one period for every figure; the hover help on every page uses "
    "the same words.",
)
kind = None
with contextlib.suppress(DataError):  # no data yet: the whole glossary
    kind = business_kind(current_data())
only_mine = False
if kind is not None:
    only_mine = st.toggle(f"Only the figures for this data ({KINDS[kind.kind].split(' (')[0].lower()})", value=True)
rows = glossary_rows(kind.kind if (kind is not None and only_mine) else None)
st.dataframe(pd.DataFrame(rows), hide_index=True, use_container_width=True)
next_step(
    "When two pages seem to disagree, look up both labels here: a monthly rate and an all-time share are "
    "different figures, and each label says which one it is."
)
