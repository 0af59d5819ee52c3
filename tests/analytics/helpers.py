"""Test data shared by the analytics tests (builders, not tests).

- `tiny_transactions` / `tiny_data`: the four-customer purchase log worked by hand in test_kpis.py's
  docstring, used by the health, cohort, lifecycle, segment and HTML-report tests;
  `subscription_customers`: a small subscription table.
- `cdnow_transactions`: the CDNOW 1/10 sample shipped in lifetimes, with the calibration/holdout
  dates of Fader, Hardie & Lee (2005) (`CAL_END`, `HOLDOUT_END`).
"""

from __future__ import annotations

import functools
import os

import numpy as np
import pandas as pd

from analytics.data.schema import CustomerData

CAL_END = "1997-09-30"


HOLDOUT_END = "1998-06-30"


@functools.lru_cache(maxsize=1)
def _cdnow() -> pd.DataFrame:
    import lifetimes

    path = os.path.join(os.path.dirname(lifetimes.__file__), "datasets", "CDNOW_sample.txt")
    raw = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=["new_id", "old_id", "date", "cds", "dollars"],
        dtype={"new_id": str, "old_id": str, "date": str},
    )
    return pd.DataFrame(
        {
            "customer_id": raw["new_id"],
            "order_date": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["dollars"].astype(float),
        }
    )


def cdnow_transactions() -> pd.DataFrame:
    """The raw CDNOW 1/10 sample log shipped in lifetimes (2,357 customers, 6,919 rows)."""
    return _cdnow().copy()


def tiny_transactions() -> pd.DataFrame:
    rows = [
        ("A", "2024-01-05", 10.0),
        ("A", "2024-01-20", 20.0),
        ("A", "2024-02-03", 30.0),
        ("A", "2024-03-10", 40.0),
        ("B", "2024-01-15", 50.0),
        ("B", "2024-03-02", 10.0),
        ("C", "2024-02-10", 100.0),
        ("D", "2024-03-25", 60.0),
        ("D", "2024-03-31", 40.0),
    ]
    df = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    df["order_date"] = pd.to_datetime(df["order_date"])
    return df


def tiny_customers() -> pd.DataFrame:
    """Survey and support answers for A-F (E and F never bought)."""
    return pd.DataFrame(
        {
            "customer_id": list("ABCDEF"),
            "nps": [10, 9, 8, 7, 6, 0],
            "csat": [5, 4, 3, 2, 1, 4],
            "ces": [1, 2, np.nan, 3, 6, np.nan],
            "support_tickets": [2, 0, 1, 3, 0, 0],
            "resolution_hours": [10, np.nan, 4, 2, np.nan, np.nan],
            "first_contact_resolution": [0.5, np.nan, 1.0, 0.0, np.nan, np.nan],
            "escalations": [1, 0, 0, 2, 0, 0],
            "complaints": [1, 0, 2, 0, 0, 0],
            "acquisition_cost": [20.0, 25.0, 30.0, 40.0, np.nan, np.nan],
        }
    ).astype({c: float for c in ["nps", "csat", "support_tickets", "escalations", "complaints"]})


def tiny_data(with_customers: bool = False) -> CustomerData:
    return CustomerData(
        "tiny", transactions=tiny_transactions(), customers=tiny_customers() if with_customers else None
    )


def subscription_customers() -> pd.DataFrame:
    """Signup / churn dates; s5 is churned with no date but a tenure of 1.5 months (-> Feb 19).

    Jan: on books at start 0, during {s1,s2,s5}, at end 3, lost 0
    Feb: start {s1,s2,s5}=3, during +s3 = 4, end {s1,s2}=2, lost {s3,s5}=2 (s5 from the start)
    Mar: start {s1,s2}=2, during {s1,s2,s4,s6}=4, end {s2,s4,s6}=3, lost {s1}=1
    """
    df = pd.DataFrame(
        {
            "customer_id": ["s1", "s2", "s3", "s4", "s5", "s6"],
            "signup_date": pd.to_datetime(
                ["2024-01-10", "2024-01-20", "2024-02-15", "2024-03-01", "2024-01-05", "2024-03-31"]
            ),
            "churn_date": pd.to_datetime(["2024-03-05", None, "2024-02-25", None, None, None]),
            "churned": pd.array([True, False, True, False, True, False], dtype="boolean"),
            "tenure_months": [np.nan, np.nan, np.nan, np.nan, 1.5, np.nan],
        }
    )
    return df


def record_id_positions(monkeypatch, module) -> list[tuple]:
    """Record every `id_positions(source, target, table)` call `module` makes (still answered by the
    real function): the tests that customers are lined up by the customer-day table's codes."""
    calls: list[tuple] = []
    real = module.id_positions

    def recording(source, target, table=None):
        calls.append((source, target, table))
        return real(source, target, table)

    monkeypatch.setattr(module, "id_positions", recording)
    return calls
