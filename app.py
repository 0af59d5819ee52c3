"""Keepwise: the app's router and frame. Run with `streamlit run app.py`.

Pages live in pages/ and are registered here; the sidebar picks the dataset every page analyses.
"""

import streamlit as st

from ui.auth import require_sign_in
from ui.frame import forward_deep_link, frame_finished, frame_started, page_finished

st.set_page_config(page_title="Keepwise: customer retention and value", page_icon=":material/favorite:", layout="wide")
require_sign_in()  # only when .streamlit/secrets.toml has [auth] (see ui/auth.py); otherwise the app is open

PAGES = {
    "Start": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/data.py", title="Data", icon=":material/upload_file:"),
        st.Page("pages/glossary.py", title="Glossary", icon=":material/menu_book:"),
    ],
    "Customers": [
        st.Page("pages/overview.py", title="Customer health", icon=":material/monitor_heart:"),
        st.Page("pages/cohorts.py", title="Cohorts", icon=":material/grid_on:"),
        st.Page("pages/segments.py", title="Segments", icon=":material/donut_small:"),
        st.Page("pages/voice.py", title="Voice of the customer", icon=":material/record_voice_over:"),
    ],
    "Value & risk": [
        st.Page("pages/churn.py", title="Churn: who is leaving", icon=":material/person_remove:"),
        st.Page("pages/angles.py", title="Churn: three angles", icon=":material/call_split:"),
        st.Page("pages/lifetime_value.py", title="Lifetime value", icon=":material/savings:"),
    ],
    "Decide": [
        st.Page("pages/whatif.py", title="What-if: retention lift", icon=":material/trending_up:"),
        st.Page("pages/actions.py", title="Action list", icon=":material/checklist:"),
        st.Page("pages/readout.py", title="Campaign readout", icon=":material/science:"),
    ],
    "Share": [
        st.Page("pages/share.py", title="Share this analysis", icon=":material/share:"),
    ],
}

navigation = st.navigation(PAGES, expanded=True)  # every page listed: no "View 4 more" hiding Share
forward_deep_link()
# The rest of the frame (the session's data source, its settings, the dataset picker) is drawn by
# the page's header right after its title: their modules take seconds to load on a fresh server,
# and the title should not wait for them (ui.frame.header).
frame_started()
notice = st.empty()  # above the page: what the link asked for and the app could not use
try:
    navigation.run()
    page_finished(notice)
finally:
    frame_finished()
