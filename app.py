"""Keepwise: the app's router and frame. Run with `streamlit run app.py`.

Pages live in pages/ and are registered here; the sidebar picks the dataset every page analyses.
"""

import streamlit as st

from ui.auth import require_sign_in
from ui.sidebar import dataset_picker

st.set_page_config(page_title="Keepwise: customer retention and value", page_icon=":material/favorite:", layout="wide")
require_sign_in()  # only when .streamlit/secrets.toml has [auth] (see ui/auth.py); otherwise the app is open

PAGES = {
    "Start": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/data.py", title="Data", icon=":material/upload_file:"),
    ],
    "Share": [
        st.Page("pages/share.py", title="Share this analysis", icon=":material/share:"),
    ],
}

navigation = st.navigation(PAGES)
dataset_picker()
navigation.run()
