"""User text never becomes markdown: on an upload whose file names, column names, customer ids and
plan, region, contract and channel values hold a markdown image, every page (and the Segments page's
comparison by each attribute) shows no unescaped image anywhere Streamlit renders markdown: text,
captions, alerts, metric labels and help, widget labels, help and radio options, expander and tab
labels, spinners. Tables, charts, code and selectbox options show text as text and are not checked.

What an unescaped `![x](http://host/x.png)` would do: every viewer's browser (a share link's too)
fetches that address. The browser-level check is tests/e2e/test_hostile_upload.py.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from google.protobuf.json_format import MessageToDict

from tests.app.helpers import open_page
from tests.conftest import ROOT
from ui import state

PAGES = tuple(sorted(re.findall(r'st\.Page\("(pages/[a-z_]+\.py)"', (ROOT / "app.py").read_text())))
UNESCAPED_IMAGE = re.compile(r"(?<!\\)!\[(\w+)\]")  # plain() writes \!\[ ... \]
# Elements that render no markdown, and the fields of the others that hold data, not markup.
PLAIN_ELEMENTS = {"arrowDataFrame", "arrowVegaLiteChart", "code", "json", "text", "plotlyChart", "deckGlJsonChart"}
DATA_FIELDS = {"options", "defaultValue", "value", "rawValues", "data", "spec", "datasets", "formattedValue"}


def image(tag: str) -> str:
    return f"![{tag}](http://127.0.0.1:9/{tag}.png)"


def hostile_upload(customers: int = 800) -> dict:
    """The subscription demo's first customers and their payments, with user text made hostile."""
    table = pd.read_csv(ROOT / "data" / "subscription_customers.csv").head(customers)
    payments = pd.read_csv(ROOT / "data" / "subscription_payments.csv")
    payments = payments[payments["Customer ID"].isin(table["Customer ID"])].copy()
    renamed = {cid: image("id") + cid for cid in table["Customer ID"].iloc[::7]}
    table["Customer ID"] = table["Customer ID"].replace(renamed)
    payments["Customer ID"] = payments["Customer ID"].replace(renamed)
    for column, value, tag in [
        ("Plan", "Basic", "plan"),
        ("Region", "East", "region"),
        ("Contract", "One year", "contract"),
        ("Acquisition Channel", "Partner", "channel"),
    ]:
        table.loc[table[column] == value, column] = image(tag)
    table[image("column")] = "x"
    files = [
        (image("file") + "customers.csv", table.to_csv(index=False).encode()),
        (image("pay") + "payments.csv", payments.to_csv(index=False).encode()),
    ]
    return {
        state.K_UPLOADS: [state.UploadedBytes.of(name, content) for name, content in files],
        state.K_SOURCE: state.UPLOAD,
    }


def _strings(value, path: str = ""):
    if isinstance(value, dict):
        for key, inner in value.items():
            if key not in DATA_FIELDS:
                yield from _strings(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner, path)
    elif isinstance(value, str):
        yield path, value


def unescaped_images(at) -> list[tuple[str, str, str]]:
    """(element type, field, text) for every markdown-rendered string holding an unescaped image."""
    found = []

    def visit(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            fields = MessageToDict(proto)
            if not set(fields) & PLAIN_ELEMENTS:
                found.extend(
                    (type(node).__name__, path, text[:200])
                    for path, text in _strings(fields)
                    if UNESCAPED_IMAGE.search(text)
                )
        for child in getattr(node, "children", {}).values():
            visit(child)

    visit(at._tree)
    return found


def test_the_check_finds_an_unescaped_image():
    def page(text: str) -> None:
        import streamlit as st

        st.metric("Customers", "3", help=f"From {text}")

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(page, args=(image("x"),)).run()
    assert [(kind, field) for kind, field, _ in unescaped_images(at)] == [("Metric", ".help")]


@pytest.mark.parametrize("page", PAGES)
def test_no_page_renders_user_text_as_markdown(page):
    at = open_page(page, session=hostile_upload())
    assert not at.exception
    assert not unescaped_images(at), unescaped_images(at)


def test_segments_compared_by_every_attribute_render_names_as_text():
    at = open_page("pages/segments.py", session=hostile_upload())
    compare = next(s for s in at.selectbox if s.label == "Compare segments by")
    attributes = list(compare.format_func.__self__)  # format_func is the page's {attribute: label}.get
    assert len(attributes) >= 4  # plan, region, contract, channel (each holding an image), cohort
    for attribute in attributes:
        next(s for s in at.selectbox if s.label == "Compare segments by").set_value(attribute).run()
        assert not at.exception
        assert not unescaped_images(at), (attribute, unescaped_images(at))
