"""Links that tell the truth (issue 14): unknown or out-of-range parameters are named, once."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.helpers import TIMEOUT
from ui.links import ignored_parameters


def open_link(page: str, **query: str) -> AppTest:
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    if page:
        at.switch_page(page)
    return at.run()


def notices(at: AppTest) -> str:
    return " ".join(i.value for i in at.info)


def test_a_link_with_nonsense_opens_the_defaults_and_says_what_it_ignored():
    at = open_link("pages/whatif.py", dataset="nonsense", wi_lift="999", wi_margin="45", foo="bar")
    assert not at.exception
    said = notices(at)
    assert "dataset=nonsense (no demo of that name)" in said
    assert "wi_lift=999 (outside the allowed range or choices)" in said
    assert "foo=bar (not a setting of this app)" in said
    assert "wi_margin" not in said  # a valid setting is used, not reported
    assert at.slider(key="wi_lift").value == 5.0 and at.slider(key="wi_margin").value == 45
    at.run()  # said once: the next run is quiet
    assert "could not use" not in notices(at)


def test_a_clean_link_opens_without_a_notice():
    at = open_link("pages/whatif.py", dataset="cdnow_sample", wi_lift="8")
    assert not at.exception and "could not use" not in notices(at)


def test_ignored_parameters_rules():
    first = {"dataset": ["x"], "wi_lift": ["999"], "cur_code": ["ZZ9"], "wi_margin": ["40"], "utm": ["a"]}
    now = {"dataset": ["subscription"], "wi_margin": ["40"]}
    assert ignored_parameters(first, now) == [
        "dataset=x (no demo of that name)",
        "wi_lift=999 (outside the allowed range or choices)",
        "cur_code=ZZ9 (outside the allowed range or choices)",
        "utm=a (not a setting of this app)",
    ]
