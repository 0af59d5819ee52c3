"""Churn: label detection, leakage guards, metrics by hand, drivers, and two real-data checks.

Real data: the IBM Telco customer churn sample shipped in tests/data (see its README), read as an
upload; published cross-validated ROC AUC for this table is about 0.84-0.85 (logistic regression /
gradient boosting). Demo data: data/make_demo_data.py puts contract type first among the causes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.business.churn_analysis import CAVEAT, ChurnSettings, analyse_churn
from analytics.business.churn_drivers import describe_drivers, driver_sentence
from analytics.business.churn_inputs import (
    derive_churn_label,
    detect_churn_label,
    prepare_features,
    suggest_horizon_days,
    transaction_features,
)
from analytics.data.datasets import load_demo
from analytics.data.ingest import build_dataset, read_and_guess
from analytics.data.schema import CustomerData, DataError
from analytics.models.churn import ChurnModel, calibration_table, classification_metrics, gains_at, gains_curve
from analytics.reports.charts.churn import calibration_chart, drivers_chart, gains_chart
from analytics.reports.sections.churn import report_section, section_from_analysis

DATA = Path(__file__).resolve().parent.parent / "data"
TELCO = DATA / "telco_churn_4930.csv"

# ------------------------------------------------------------------------------------------------
# Label detection
# ------------------------------------------------------------------------------------------------

LABEL_CASES = [
    ("Churn", ["Yes", "No", "no", " YES ", ""], [True, False, False, True, None]),
    ("Exited", [1, 0, 0, 1, np.nan], [True, False, False, True, None]),
    ("churned", ["1", "0", "0", "1", "0"], [True, False, False, True, False]),
    ("Churned", [True, False, False, True, False], [True, False, False, True, False]),
    ("is_churn", ["TRUE", "FALSE", "false", "True", "n/a"], [True, False, False, True, None]),
    ("Customer Status", ["Churned", "Stayed", "Joined", "Churned", "Stayed"], [True, False, False, True, False]),
    (
        "Attrition_Flag",
        ["Attrited Customer", "Existing Customer", "Existing Customer", "Attrited Customer", "Existing Customer"],
        [True, False, False, True, False],
    ),
    ("Active", ["No", "Yes", "Yes", "No", "Yes"], [True, False, False, True, False]),  # inverted name
    ("Churn Date", ["2024-03-01", "", "", "2024-05-17", ""], [True, False, False, True, False]),
]


@pytest.mark.parametrize("column,values,expected", LABEL_CASES, ids=[c[0] for c in LABEL_CASES])
def test_detect_churn_label_reads_each_format(column, values, expected):
    frame = pd.DataFrame({"customer_id": list("abcde"), "Plan": ["x"] * 5, column: values})
    choice = detect_churn_label(frame)
    assert choice.column == column
    got = choice.apply(frame)
    assert [None if pd.isna(v) else bool(v) for v in got] == expected


def test_detect_prefers_the_outcome_column_over_proxies_and_dates():
    frame = pd.DataFrame(
        {
            "Churn Reason": ["Price", "", "", "Competitor"],
            "Churn Score": [88, 12, 30, 91],
            "Churn Label": ["Yes", "No", "No", "Yes"],
            "Churn Date": ["2024-01-01", "", "", "2024-02-01"],
        }
    )
    choice = detect_churn_label(frame)
    assert (choice.column, choice.churn_values, choice.stay_values) == ("Churn Label", ("yes",), ("no",))
    assert choice.description == "'Churn Label' = 'yes' (customers who left)"


def test_override_names_column_and_value():
    frame = pd.DataFrame({"state": ["gone", "paying", "paused", "gone"], "x": [1, 2, 3, 4]})
    with pytest.raises(DataError, match="No churn column found"):
        detect_churn_label(frame)
    with pytest.raises(DataError, match="which value of 'state' means the customer left"):
        detect_churn_label(frame, column="state")
    with pytest.raises(DataError, match="No cell of 'state' says 'lost'"):
        detect_churn_label(frame, column="state", churn_value="lost")
    with pytest.raises(DataError, match="There is no column 'State2'"):
        detect_churn_label(frame, column="State2", churn_value="gone")
    choice = detect_churn_label(frame, column="state", churn_value="Gone")
    assert choice.apply(frame).tolist() == [True, False, False, True]
    assert choice.stay_values == ("paused", "paying")


# ------------------------------------------------------------------------------------------------
# Features from attributes: conversions, exclusions, leakage guard
# ------------------------------------------------------------------------------------------------


def _attribute_frame(n: int = 200, seed: int = 3) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    churned = rng.random(n) < 0.3
    total = np.round(rng.uniform(10, 5000, n), 2).astype(str).astype(object)
    total[:4] = " "  # Telco-style blank cells in a text-stored number column
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(n)],
            "RowNumber": np.arange(1, n + 1),
            "Contract": rng.choice(
                ["Month-to-month", "One year", "Two year", "Rare plan"], n, p=[0.5, 0.3, 0.19, 0.01]
            ),
            "TotalCharges": total,
            "Tenure": rng.integers(0, 72, n).astype(float),
            "Comment": [f"note {i} about the customer" for i in range(n)],
            "Country": ["NL"] * n,
            "Churn Reason": np.where(churned, "Price", ""),
            "Risk Flag": np.where(churned, 1.0, 0.0),  # a perfect proxy with an innocent name
            "Notice Days": np.where(churned, rng.integers(1, 60, n), np.nan),  # filled only for leavers
            "Churn": np.where(churned, "Yes", "No"),
        }
    )
    return frame, pd.Series(churned)


def test_prepare_features_converts_excludes_and_reports():
    frame, churned = _attribute_frame()
    fs = prepare_features(frame, label=churned, exclude=("Churn",))
    assert fs.numeric == ("TotalCharges", "Tenure")
    assert fs.categorical == ("Contract",)
    assert fs.X.index.name == "customer_id" and fs.X.index[0] == "C0000"
    assert fs.X["TotalCharges"].isna().sum() == 4 and fs.X["TotalCharges"].dtype == float
    assert "'TotalCharges' read as numbers (4 blank cells)." in fs.notes
    assert set(fs.dropped) == {"RowNumber", "Comment", "Country", "Churn Reason", "Risk Flag", "Notice Days"}
    assert fs.dropped["RowNumber"].startswith("an identifier")  # consecutive whole numbers
    assert fs.dropped["Comment"].startswith("an identifier or free text")  # unique per row
    assert fs.dropped["Country"] == "the same value for every customer"
    assert fs.dropped["Churn Reason"].startswith("named like a churn outcome")
    assert fs.dropped["Risk Flag"].startswith("gives the answer away (on its own it separates churners with AUC 1.000)")
    assert fs.dropped["Notice Days"].startswith("gives the answer away")  # by its blanks alone


def test_prepare_features_drops_high_cardinality_text_and_dates():
    n = 300
    frame = pd.DataFrame(
        {
            "City": [f"City {i % 150}" for i in range(n)],
            "Signup": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "Spend": np.arange(n) % 7 + 0.5,
        }
    )
    fs = prepare_features(frame)
    assert fs.numeric == ("Spend",)
    assert fs.dropped["City"] == "free text or a detailed code (150 different values, more than 100)"
    assert fs.dropped["Signup"].startswith("a date")


# ------------------------------------------------------------------------------------------------
# Purchase logs: derived label and no leakage
# ------------------------------------------------------------------------------------------------


def _purchases(seed: int = 11, n: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        start = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        gap = int(rng.integers(10, 60))
        stop = start + pd.Timedelta(days=int(rng.integers(30, 700)))
        day = start
        while day <= min(stop, pd.Timestamp("2024-12-31")):
            rows.append((f"c{i:03d}", day, float(rng.integers(5, 100))))
            day += pd.Timedelta(days=gap + int(rng.integers(0, 10)))
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])


def test_transaction_features_by_hand():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "a"],
            "order_date": pd.to_datetime(
                ["2024-01-01", "2024-01-11", "2024-01-31", "2024-01-31", "2024-02-15", "2024-03-01"]
            ),
            "amount": [10.0, 20.0, 30.0, 5.0, 40.0, 99.0],
        }
    )
    f = transaction_features(tx, as_of=pd.Timestamp("2024-02-20"), window_days=30)
    a, b = f.loc["a"], f.loc["b"]
    assert a["days_since_last_purchase"] == 20  # Jan 31 -> Feb 20
    assert a["n_orders"] == 4 and a["total_spend"] == 65 and a["avg_order_value"] == 16.25
    assert a["tenure_days"] == 50
    assert a["gap_mean_days"] == 15  # purchase days Jan 1, 11, 31: gaps 10 and 20
    assert a["gap_std_days"] == pytest.approx(math.sqrt(50))  # sample sd of (10, 20)
    # recent window [Jan 21, Feb 20) = 35, earlier [Dec 22, Jan 21) = 30 -> (35 - 30) / 65
    assert a["spend_trend"] == pytest.approx(5 / 65)
    assert b["n_orders"] == 1 and math.isnan(b["gap_mean_days"]) and b["spend_trend"] == 1.0


def test_derived_label_by_hand_and_default_cutoff():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c", "d"],
            "order_date": pd.to_datetime(
                ["2024-01-05", "2024-04-10", "2024-02-01", "2024-07-02", "2024-03-30", "2024-05-01"]
            ),
            "amount": [1.0] * 6,
        }
    )
    # Data ends 2024-07-02; horizon 90 -> cutoff = 2024-07-03 - 90 days = 2024-04-04.
    derived = derive_churn_label(tx, horizon_days=90)
    assert derived.cutoff == pd.Timestamp("2024-04-04")
    assert derived.churned.to_dict() == {"a": False, "b": False, "c": True}  # b bought on Jul 2
    assert derived.n_new_after_cutoff == 1  # d first bought on 2024-05-01
    with pytest.raises(DataError, match="before the 90-day window after 2024-05-01 is over"):
        derive_churn_label(tx, cutoff="2024-05-01", horizon_days=90)


def test_no_leakage_features_ignore_everything_from_the_cutoff_on():
    tx = _purchases()
    cutoff, horizon = pd.Timestamp("2024-06-01"), 120
    base = derive_churn_label(tx, cutoff=cutoff, horizon_days=horizon)

    after = tx["order_date"] >= cutoff
    mutated = tx.copy()
    mutated.loc[after, "amount"] *= 17  # change every later purchase
    extra_late = pd.DataFrame(
        {  # more purchases after the window, and brand-new customers
            "customer_id": list(base.features.index[:10]) + [f"new{i}" for i in range(5)],
            "order_date": [pd.Timestamp("2024-11-20")] * 10 + [pd.Timestamp("2024-07-01")] * 5,
            "amount": [500.0] * 15,
        }
    )
    mutated = pd.concat([mutated, extra_late], ignore_index=True)
    changed = derive_churn_label(mutated, cutoff=cutoff, horizon_days=horizon)

    pd.testing.assert_frame_equal(base.features, changed.features)
    pd.testing.assert_series_equal(base.churned, changed.churned)
    assert not changed.features.index.str.startswith("new").any()
    assert changed.n_new_after_cutoff == base.n_new_after_cutoff + 5
    # The features equal those computed from the pre-cutoff rows alone.
    history_only = transaction_features(tx[tx["order_date"] < cutoff], as_of=cutoff, window_days=horizon)
    pd.testing.assert_frame_equal(base.features, history_only)
    # And the label is exactly "no purchase in [cutoff, cutoff + horizon)".
    window = tx[(tx["order_date"] >= cutoff) & (tx["order_date"] < cutoff + pd.Timedelta(days=horizon))]
    expected = ~base.features.index.isin(window["customer_id"])
    assert (base.churned.to_numpy() == expected).all()


def test_suggested_horizon_is_twice_the_median_gap_clipped():
    monthly = pd.DataFrame(
        {
            "customer_id": ["a"] * 4 + ["b"] * 3,
            "order_date": pd.to_datetime(
                ["2024-01-01", "2024-03-01", "2024-05-01", "2024-07-01", "2024-01-01", "2024-04-10", "2024-07-19"]
            ),
            "amount": 1.0,
        }
    )
    # a: gaps 60, 61, 61 -> median 61; b: 100, 100 -> 100; median of (61, 100) = 80.5 -> 161 days
    assert suggest_horizon_days(monthly) == 161
    assert suggest_horizon_days(monthly.iloc[[0, 4]]) == 90  # nobody bought twice


def test_purchases_mode_end_to_end():
    tx = _purchases(seed=5, n=160)
    data = CustomerData(name="shop", transactions=tx)
    analysis = analyse_churn(data, ChurnSettings(horizon_days=120))
    assert analysis.source == "purchases"
    cutoff = tx["order_date"].max() + pd.Timedelta(days=1 - 120)
    assert analysis.target == (
        f"no purchase in the 120 days from {cutoff:%Y-%m-%d} (features use purchases before that date only)"
    )
    assert len(analysis.y) == analysis.derived.churned.size
    # Current scores cover every customer seen, including those who first bought after the cutoff.
    assert set(analysis.scores["customer_id"]) == set(tx["customer_id"])
    assert analysis.scores["churn_probability"].between(0, 1).all()
    # Recency is what separates lapsed buyers in this data.
    assert analysis.model.importances_["feature"].iloc[0] == "days_since_last_purchase"


# ------------------------------------------------------------------------------------------------
# Metrics against hand computation
# ------------------------------------------------------------------------------------------------

Y10 = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 1])
P10 = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1])


def test_gains_by_hand_on_ten_rows():
    # Top 20% = 2 riskiest rows (0.9 churner, 0.8 stayer): 1 of the 4 churners.
    assert gains_at(Y10, P10, 0.2) == 0.25
    assert gains_at(Y10, P10, 0.1) == 0.25
    assert gains_at(Y10, P10, 0.3) == 0.5
    assert gains_at(Y10, P10, 0.25) == 0.5  # ceil(2.5) = 3 rows
    curve = gains_curve(Y10, P10, points=10)
    assert curve["share_caught"].tolist() == [0, 0.25, 0.25, 0.5, 0.5, 0.5, 0.75, 0.75, 0.75, 0.75, 1.0]
    assert curve["lift"].iloc[3] == pytest.approx(0.5 / 0.3)
    assert math.isnan(curve["lift"].iloc[0])


def test_classification_metrics_by_hand():
    y = [0, 0, 1, 1]
    p = [0.1, 0.4, 0.35, 0.8]
    m = classification_metrics(y, p)
    assert m["auc"] == 0.75  # 3 of the 4 churner-stayer pairs ranked right
    assert m["pr_auc"] == pytest.approx((1 / 1 + 2 / 3) / 2)  # precision at each churner
    assert m["brier"] == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)


def test_calibration_table_by_hand():
    y = [0, 0, 1, 0, 1, 1]
    p = [0.1, 0.2, 0.3, 0.6, 0.7, 0.8]
    table = calibration_table(y, p, n_bins=3)
    assert table["mean_predicted"].tolist() == pytest.approx([0.15, 0.45, 0.75])
    assert table["observed_rate"].tolist() == [0.0, 0.5, 1.0]
    assert table["customers"].tolist() == [2, 2, 2]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=2, max_size=60))
def test_gains_curve_rises_from_zero_to_one(rows):
    y = np.array([r[0] for r in rows], dtype=int)
    if y.sum() == 0:
        y[0] = 1
    p = np.array([r[1] for r in rows])
    caught = gains_curve(y, p, points=20)["share_caught"].to_numpy()
    assert caught[0] == 0 and caught[-1] == pytest.approx(1.0)
    assert (np.diff(caught) >= -1e-12).all()


# ------------------------------------------------------------------------------------------------
# Drivers in plain words
# ------------------------------------------------------------------------------------------------


def test_driver_sentences_by_hand():
    contract = pd.Series(["Month-to-month"] * 100 + ["One year"] * 60 + ["Two year"] * 40, name="Contract")
    churned = pd.Series([1] * 40 + [0] * 60 + [1] * 9 + [0] * 51 + [1] * 4 + [0] * 36)
    d = driver_sentence(contract, churned, "Contract", min_group=30)
    assert d.sentence == "Month-to-month customers churn 4.0x as often as Two year ones (Contract; 40% vs 10%)."
    assert (d.high_rate, d.low_rate, d.ratio) == (0.4, 0.1, pytest.approx(4.0))

    tenure = pd.Series(np.arange(1, 101, dtype=float), name="tenure")
    left = pd.Series((np.arange(1, 101) <= 25).astype(int) | (np.arange(1, 101) % 10 == 0))
    d = driver_sentence(tenure, left, "Tenure", min_group=20)
    # bottom quarter (<= 25.75): 25 of 25 left; top quarter (>= 75.25): 76..100 -> 80, 90, 100 left
    assert d.sentence == (
        "Customers in the bottom quarter of Tenure (≤ 25.8) churn 8.3x as often as those in the "
        "top quarter (≥ 75.2) (100% vs 12%)."
    )
    senior = pd.Series([1.0] * 50 + [0.0] * 50)
    d = driver_sentence(senior, pd.Series([1] * 20 + [0] * 30 + [1] * 10 + [0] * 40), "SeniorCitizen", 30)
    assert d.sentence == (
        "Customers with SeniorCitizen = 1 churn 2.0x as often as those with SeniorCitizen = 0 (40% vs 20%)."
    )


def test_too_few_churners_is_a_plain_error():
    frame, _ = _attribute_frame(n=100)
    y = np.zeros(100, dtype=bool)
    y[:5] = True
    fs = prepare_features(frame, exclude=("Churn", "Churn Reason", "Risk Flag", "Notice Days"))
    with pytest.raises(DataError, match=r"Too few churned customers \(5\)"):
        ChurnModel().fit(fs.X, y)


# ------------------------------------------------------------------------------------------------
# Real public table and demo data
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def telco() -> CustomerData:
    table = read_and_guess(TELCO.name, TELCO.read_bytes())
    return build_dataset([table], name="IBM Telco sample")


@pytest.mark.slow
def test_telco_as_uploaded_reaches_published_auc(telco):
    analysis = analyse_churn(telco)
    assert len(analysis.y) == 4930 and analysis.n_unlabelled == 0
    assert analysis.churn_rate == pytest.approx(1306 / 4930)
    results = analysis.model.cv_results_.set_index("model")
    # Published range for this table is ~0.84-0.85; both models must be in the neighbourhood.
    assert results.loc["logistic", "auc"] >= 0.83
    assert results.loc["gradient_boosting", "auc"] >= 0.83
    assert analysis.model.metrics_["auc"] >= 0.835
    assert analysis.features.X["totalcharges"].isna().sum() == 8  # the blank cells, kept as blanks
    assert analysis.drivers[0].sentence.startswith("Month-to-month customers churn")
    assert analysis.lift_at(0.3) > 0.6


@pytest.fixture(scope="module")
def demo_analysis():
    return analyse_churn(load_demo("subscription"))


@pytest.mark.slow
def test_demo_recovers_contract_as_a_driver(demo_analysis):
    names = [d.name for d in demo_analysis.drivers]
    assert "Contract" in names[:3]
    contract = next(d for d in demo_analysis.drivers if d.name == "Contract")
    assert contract.sentence.startswith("Month-to-month customers churn ")
    assert "as often as Two year ones (Contract;" in contract.sentence
    assert contract.ratio > 5  # generator: month-to-month log-odds +1.3 over two-year, every month
    assert demo_analysis.target == "'Churned' = 'yes' (customers who left)"
    assert demo_analysis.features.dropped["churn_date"].startswith("named like a churn outcome")


@pytest.mark.slow
def test_demo_report_section_contract(demo_analysis):
    section = section_from_analysis(demo_analysis)
    assert set(section) == {
        "target",
        "n",
        "churn_rate",
        "auc",
        "pr_auc",
        "brier",
        "model",
        "top_drivers",
        "lift_top_10",
        "lift_top_20",
        "lift_top_30",
        "dropped_columns",
        "customers_not_modelled",
        "caveat",
        "cv_sample_size",
        "auc_standard_error",
        "evaluation_sample_size",
        "refit_sample_size",
    }
    json.dumps(section)  # JSON-serialisable as it is
    assert section["n"] == 6000
    assert section["cv_sample_size"] == 6000  # below the sampling threshold every customer is cross-validated
    assert section["evaluation_sample_size"] == section["refit_sample_size"] == 6000  # and measured, refitted
    # Hanley & McNeil (1982) standard error of an AUC near 0.82 with 1,764 churners and 4,236 stayers
    auc, n_pos, n_neg = section["auc"], 1764, 4236
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    expected_se = (
        (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    ) ** 0.5
    assert section["auc_standard_error"] == pytest.approx(expected_se, rel=0.05)
    assert section["churn_rate"] == pytest.approx(1764 / 6000)
    assert section["model"] in ("logistic", "gradient_boosting")
    assert section["auc"] == pytest.approx(demo_analysis.model.metrics_["auc"])
    assert section["lift_top_10"] <= section["lift_top_20"] <= section["lift_top_30"] <= 1
    assert section["dropped_columns"] == {
        "Signup Date": "a date (the time a customer has been with you is carried by tenure)",
        "Churn Date": "named like a churn outcome: recorded when or after the customer left",
    }
    assert section["caveat"] == CAVEAT
    assert any("Month-to-month" in s and "Two year" in s for s in section["top_drivers"])


def test_describe_drivers_skips_unimportant_columns():
    X = pd.DataFrame({"a": ["Basic"] * 50 + ["Premium"] * 50, "b": np.arange(100.0)})
    y = pd.Series([1] * 30 + [0] * 20 + [1] * 5 + [0] * 45)
    importances = pd.DataFrame({"feature": ["a", "b"], "importance": [0.2, 0.0005], "importance_std": [0.01, 0.0]})
    drivers = describe_drivers(X, y, importances, {"a": "Alpha"})
    assert [d.sentence for d in drivers] == ["Basic customers churn 6.0x as often as Premium ones (Alpha; 60% vs 10%)."]
    assert drivers[0].importance == 0.2


def test_report_section_raises_plain_error_without_a_label():
    customers = pd.DataFrame({"customer_id": ["a", "b"], "Plan": ["x", "y"]})
    with pytest.raises(DataError, match="No churn column found"):
        report_section(CustomerData(name="no label", customers=customers), ChurnSettings())


def test_charts_carry_the_numbers():
    gains = gains_curve(Y10, P10, points=10)
    spec = gains_chart(gains).to_dict()
    values = spec["datasets"][spec["data"]["name"]]
    assert [row["share_caught"] for row in values] == gains["share_caught"].tolist()
    assert spec["layer"][1]["encoding"]["y"]["title"] == "Share of churners caught"

    table = calibration_table([0, 0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.6, 0.7, 0.8], n_bins=3)
    spec = calibration_chart(table).to_dict()
    diagonal = spec["datasets"][spec["layer"][0]["data"]["name"]]
    assert diagonal == [{"x": 0.0, "y": 0.0}, {"x": 1.0, "y": 1.0}]

    importances = pd.DataFrame({"feature": ["a", "b"], "importance": [0.2, 0.05], "importance_std": [0.01, 0.0]})
    spec = drivers_chart(importances, {"a": "Contract"}).to_dict()
    bars = spec["datasets"][spec["data"]["name"]]
    assert [(b["name"], b["importance"]) for b in bars] == [("Contract", 0.2), ("b", 0.05)]
