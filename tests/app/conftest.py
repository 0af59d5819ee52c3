"""AppTest setup: every test starts with empty caches, so no state leaks between runs."""

import pytest
import streamlit as st


@pytest.fixture(autouse=True)
def clear_streamlit_caches():
    st.cache_data.clear()
    yield
    st.cache_data.clear()
