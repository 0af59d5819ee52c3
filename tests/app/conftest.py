"""AppTest setup: each test module starts with empty caches, so no state leaks between modules.

Caches are kept within a module: demo results are the same for every session, and anything built
from an upload is cached per session, so sharing them between a module's tests hides nothing.
"""

import pytest
import streamlit as st


@pytest.fixture(autouse=True, scope="module")
def clear_streamlit_caches():
    st.cache_data.clear()
    yield
    st.cache_data.clear()
