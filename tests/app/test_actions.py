"""AppTest runs of the Action list: ranking, filters, exports with formula escaping, the HTML report.

Caches are kept within this module (tests/app/conftest.py), so the demo's models are fitted once.
Downloads are read from Streamlit's in-memory media store as the page hands them over.
"""

from __future__ import annotations

import io
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from analytics.business.kpis import compute_kpis
from analytics.data.datasets import load_demo
from analytics.reports.html_report import format_value
from tests.app.helpers import click, metrics, open_page, telco_customers, upload_then_open

PAGE = "pages/actions.py"
MALICIOUS = "=cmd|' /C calc'!A0"


@pytest.fixture()
def downloads(monkeypatch) -> dict[str, bytes]:
    """file name -> bytes of every download button the page draws."""
    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        if filename and isinstance(path_or_data, bytes):
            files[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    deferred = MediaFileManager.add_deferred

    def written_now(self, make, mimetype, coordinates, file_name=None, **kwargs):  # a click would write it
        files[file_name] = make()
        return deferred(self, make, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", written_now)
    return files


def action_table(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if list(d.value.columns)[:2] == ["Rank", "Customer"])


def tiny_log() -> bytes:
    """40 customers over a year of purchases; customer 0 has a formula for an id."""
    rng = np.random.default_rng(1)
    rows = []
    for i in range(40):
        customer = MALICIOUS if i == 0 else f"c{i:02d}"
        first = int(rng.integers(0, 200))
        for _ in range(int(rng.integers(1, 8))):
            day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=first + int(rng.integers(0, 365 - first)))
            rows.append((customer, f"{day:%Y-%m-%d}", round(float(rng.uniform(5, 80)), 2)))
    return pd.DataFrame(rows, columns=["customer", "date", "amount"]).to_csv(index=False).encode()


@pytest.mark.slow
def test_subscription_ranking_filters_downloads_and_report(downloads):
    at = open_page(PAGE)
    assert not at.exception
    assert not at.error
    actions = action_table(at)
    data = load_demo("subscription")
    current = int((~data.customers["churned"].astype(bool)).sum())
    assert len(actions) == 1_000  # the first rows are drawn, the downloads hold every one
    assert any(f"The first 1,000 of {current:,} customers" in c.value for c in at.caption)
    assert metrics(at)["Customers in the list"] == f"{current:,}"
    top = actions.iloc[0]
    assert top["Value at stake"] == actions["Value at stake"].max()
    assert top["Value at stake"] == pytest.approx(top["12-month value"] * top["Churn probability"])
    assert (np.diff(actions["Value at stake"].to_numpy()) <= 1e-12).all()
    assert top["Reason"].startswith(("Top-10% value (CLV", "High value (CLV", "Lower value (CLV"))
    csv = downloads["action_list.csv"].decode("utf-8-sig")
    assert csv.splitlines()[1].startswith(f"1,{top['Customer']},")
    exported = pd.read_csv(io.StringIO(csv), dtype={"Customer": str})
    assert len(exported) == current  # customers who already left are not listed
    assert exported["Customer"].head(1_000).tolist() == actions["Customer"].tolist()
    assert list(exported.columns[:3]) == ["Rank", "Customer", "group"]
    # 10% of each churn-risk tenth held out as control, reproducibly (default seed)
    held_out = exported.groupby(pd.qcut(exported["Churn probability"].rank(method="first"), 10))["group"]
    assert (held_out.apply(lambda g: abs((g == "control").sum() - 0.1 * len(g))) <= 1.5).all()

    at.multiselect(key="act_segment").set_value(["Can't lose them"]).run()
    chosen = action_table(at)
    expected = exported[exported["RFM segment"] == "Can't lose them"]
    assert 0 < len(chosen) == len(expected) < 1_000  # all of them drawn
    assert chosen["Customer"].tolist() == expected["Customer"].tolist()
    threshold = float(chosen["Value at stake"].median())
    at.number_input(key="act_min_value").set_value(threshold).run()
    assert len(action_table(at)) == int((chosen["Value at stake"] >= threshold).sum())
    at.number_input(key="act_min_value").set_value(1e9).run()
    assert not at.exception
    assert any("No customer matches these filters" in i.value for i in at.info)
    assert list(action_table(at).columns) == list(chosen.columns)  # an empty list keeps its columns
    at.multiselect(key="act_segment").set_value([]).run()
    at.number_input(key="act_min_value").set_value(0.0).run()

    # a scenario set on the What-if page travels into the report
    at.switch_page("pages/whatif.py").run()
    at.slider(key="wi_lift").set_value(10.0).run()
    at.switch_page(PAGE).run()
    click(at, "Build the workshop report")
    assert not at.exception
    html = downloads["keepwise_report.html"].decode("utf-8")
    revenue = compute_kpis(data).value("revenue")  # December 2025, the last complete month
    assert re.search(r'data-kpi="revenue">.*?<div class="v">' + re.escape(format_value(revenue, "currency")), html)
    assert top["Customer"] in html
    assert "10 percentage points of yearly retention" in html
    assert "the What-if page&#x27;s current sliders" in html
    assert html.count("<svg") >= 2 and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


def test_formula_in_a_customer_id_is_escaped_in_csv_and_excel(downloads):
    at = upload_then_open(PAGE, "shop.csv", tiny_log())
    assert not at.exception
    assert not at.error
    # The table on screen holds the escaped id, so the table toolbar's own "Download as CSV" writes
    # it as text too (st.dataframe's download writes cells raw).
    shown = action_table(at)["Customer"].tolist()
    assert "'" + MALICIOUS in shown and MALICIOUS not in shown
    csv = downloads["action_list.csv"].decode("utf-8-sig")
    assert "'" + MALICIOUS in csv
    assert not any(field.startswith("=") for line in csv.splitlines() for field in line.split(","))

    click(at, "Prepare the Excel file")
    sheet = openpyxl.load_workbook(io.BytesIO(downloads["action_list.xlsx"]))["Action list"]
    ids = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "'" + MALICIOUS in ids and MALICIOUS not in ids
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_cdnow_sample_runs_and_says_what_close_the_loop_needs(downloads):
    at = open_page(PAGE, dataset="cdnow_sample")
    assert not at.exception
    assert not at.error
    assert any("close-the-loop list needs a customers table" in i.value for i in at.info)
    assert len(action_table(at)) == 1_000  # of 2,357: the downloads hold them all
    assert pd.read_csv(io.BytesIO(downloads["action_list.csv"]), encoding="utf-8-sig").shape[0] == 2357
    click(at, "Build the workshop report")
    html = downloads["keepwise_report.html"].decode("utf-8")
    assert "the default scenario" in html and "Whom to call first (top 20)" in html


def test_customers_only_upload_ranks_by_charge_value_and_quadrant(downloads):
    telco = telco_customers()
    at = upload_then_open(PAGE, "telco.csv", telco.to_csv(index=False).encode())
    assert not at.exception
    assert not at.error
    actions = action_table(at)
    assert len(actions) == int((telco["churn"] == "No").sum())
    assert "Value x risk quadrant" in actions.columns
    at.multiselect(key="act_segment").set_value(["Save first"]).run()
    assert set(action_table(at)["Value x risk quadrant"]) == {"Save first"}


def test_the_ranking_and_the_control_group_are_computed_once_per_dataset_and_settings(downloads, monkeypatch):
    """A second visit (or any rerun) reads the cached ranking and control group: at a million customers
    the reasons took about 10 s and the draw about 3 s on every run. The group marked is the one
    `with_control_group` draws on the exported list, and a new seed draws again."""
    from analytics.business.experiment import GROUP
    from ui import actions as ua

    calls: list[str] = []
    drawn: list[pd.DataFrame] = []
    rank, draw = ua.ranked_actions, ua.with_control_group

    def drawing(*args, **kwargs):
        calls.append("draw")
        drawn.append(draw(*args, **kwargs))
        return drawn[-1]

    monkeypatch.setattr(ua, "ranked_actions", lambda *a, **k: calls.append("rank") or rank(*a, **k))
    monkeypatch.setattr(ua, "with_control_group", drawing)
    at = upload_then_open(PAGE, "shop.csv", tiny_log())
    assert not at.exception and calls == ["rank", "draw"]
    first = downloads.pop("action_list.csv")
    at.switch_page("pages/segments.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception and calls == ["rank", "draw"]  # nothing ranked or drawn again
    assert downloads.pop("action_list.csv") == first
    exported = pd.read_csv(io.BytesIO(first), encoding="utf-8-sig", dtype={"Customer": str})
    assert exported[GROUP].tolist() == drawn[0][GROUP].tolist()
    assert len(drawn[0]) == len(exported)
    at.number_input(key="camp_seed").set_value(8).run()
    assert calls == ["rank", "draw", "draw"]


def test_the_rfm_table_is_computed_once_per_dataset(monkeypatch):
    """Segments' RFM table, its personas' features and the Action list's segments are one table, computed
    once: the personas and the ranking read the cached copy (`ui.segments.share_rfm`) instead of
    computing it again (seconds each at a million customers)."""
    from analytics.business import segments

    computed: list[int] = []
    compute = segments._rfm_table
    monkeypatch.setattr(segments, "_rfm_table", lambda tx, as_of: computed.append(len(tx)) or compute(tx, as_of))
    at = upload_then_open("pages/segments.py", "shop.csv", tiny_log())
    at.switch_page(PAGE).run()
    assert not at.exception and not at.error
    assert len(computed) == 1


def test_a_ranking_run_later_uses_the_settings_it_is_cached_under():
    """A prefetched ranking or control group can run after the user changed a setting (the job is
    keyed when it is started, its body runs minutes later at a million customers). It must compute at
    the settings of its key, not read the session's: before, a 12-month ranking run while the session
    was at 24 months stored 24-month values under the 12-month key, and the control group drawn on
    that list was inserted by position into the 12-month export (wrong customers marked)."""
    from tests.app.helpers import script_result, upload_session

    def script():
        import dataclasses

        import streamlit as st

        from ui import actions as ua
        from ui import models
        from ui.cache import current_data

        data = current_data()
        session = models.clv_settings()  # 24 months: the user's setting now
        keyed = dataclasses.replace(session, horizon_months=12.0)  # the setting the job was started with
        ranked = ua.ranking_at(data, keyed, models.churn_settings())
        export = ua.exported(data, [], 0.0, keyed, models.churn_settings())
        at_12 = models.clv_analysis(data, keyed).customers["clv"]
        at_24 = models.clv_analysis(data, session).customers["clv"]
        value = ranked.scores.frame["value"]
        st.session_state["expected"] = {
            "session_months": session.horizon_months,
            "value": value.tolist(),
            "at_12": at_12.reindex(value.index).tolist(),
            "at_24": at_24.reindex(value.index).tolist(),
            "columns": list(export.columns),
        }

    session = {**upload_session("shop.csv", tiny_log()), "clv_horizon": 24}
    got = script_result(script, session=session)
    assert got["session_months"] == 24.0
    assert got["value"] == pytest.approx(got["at_12"], rel=1e-12)
    assert got["value"] != pytest.approx(got["at_24"], rel=1e-3)
    assert "12-month value" in got["columns"] and "2-year value" not in got["columns"]


def test_the_cached_ranking_holds_the_list_not_the_scores_again():
    """The Action list's cached ranking holds the ranked list only: its scores are the ones
    `ui.segments.customer_scores` caches already (a second copy of every customer id and value: 8 of the
    ranking's 45 MiB pickled at 300,000 customers). The page still gets both, equal to their caches'."""
    from tests.app.helpers import script_result, upload_session

    def script():
        import pickle

        import streamlit as st

        from ui import actions as ua
        from ui import models
        from ui import segments as us
        from ui.cache import current_data

        data = current_data()
        clv, churn = models.clv_settings(), models.churn_settings()
        cached = ua._ranking(data, clv, churn)
        shown = ua.ranking(data)
        scores = us.customer_scores(data, clv, churn)
        st.session_state["expected"] = {
            "cached": len(pickle.dumps(cached, protocol=5)),
            "list": len(pickle.dumps((cached.actions, cached.segment_label), protocol=5)),
            "same_scores": shown.scores.frame.equals(scores.frame) and shown.scores.value_source == scores.value_source,
            "same_list": shown.actions.equals(cached.actions) and shown.segment_label == cached.segment_label,
            "customers": len(shown.actions),
        }

    got = script_result(script, session=upload_session("shop.csv", tiny_log()))
    assert got["customers"] > 10 and got["same_scores"] and got["same_list"]
    assert got["cached"] < got["list"] + 500  # the list and its label, nothing of the size of the scores


def test_a_run_packs_no_list(downloads, monkeypatch):
    """The CSV button's rows are written from the cached ranking when clicked (`ua.marked_rows`), not
    packed: packing the list took 1.2-1.3 CPU s per run at a million customers, whether or not anyone
    clicked, and the packed copy stayed in the session's cache beside the ranking (6.9 MiB at 300,000
    customers). The file is the same on every run (the `downloads` fixture clicks on every run)."""
    from ui import downloads as ud

    packed: list[int] = []
    of = ud.PackedFrame.of.__func__  # type: ignore[attr-defined]

    def counting(cls, frame):
        packed.append(len(frame))
        return of(cls, frame)

    monkeypatch.setattr(ud.PackedFrame, "of", classmethod(counting))
    at = upload_then_open(PAGE, "shop.csv", tiny_log())
    assert not at.exception and packed == []
    first = downloads.pop("action_list.csv")
    at.run()
    at.run()
    assert not at.exception and packed == []  # two more runs, nothing packed
    assert downloads.pop("action_list.csv") == first


def test_the_control_group_is_drawn_once_on_the_first_visit(downloads, monkeypatch):
    """The control group of the list the files hold is drawn once per dataset, settings, filters and
    control share and seed (`ua.marked_export`, cached: 3 s at 1M customers), not again on a rerun or a
    click (the `downloads` fixture clicks on every run). The caption's control count is the file's."""
    from ui import actions as ua

    built: list[int] = []
    draw = ua.with_control_group

    def counting(*args, **kwargs):
        out = draw(*args, **kwargs)
        built.append(len(out))
        return out

    monkeypatch.setattr(ua, "with_control_group", counting)
    at = upload_then_open(PAGE, "shop.csv", tiny_log())
    assert not at.exception and not at.error
    assert len(built) == 1
    at.run()
    assert len(built) == 1  # not drawn again on a rerun
    table = pd.read_csv(io.BytesIO(downloads["action_list.csv"]), encoding="utf-8-sig")
    control = int((table["group"] == "control").sum())
    assert set(table["group"]) <= {"control", "treatment"} and len(table) == built[0]
    assert any(f"{control:,} customers" in c.value and "*control*" in c.value for c in at.caption)
