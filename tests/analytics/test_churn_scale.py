"""The churn stage at scale: the same results with less work (no second customer-day table, capped samples)."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.business.churn_angles import _purchases_to, p_alive_at
from analytics.data.datasets import load_demo
from analytics.data.schema import ORDER_DATE
from analytics.engine.customer_days import customer_days


def test_p_alive_at_the_cutoff_reuses_the_whole_frame_and_matches_the_filtered_one():
    tx = load_demo("cdnow_sample").require_transactions()
    cutoff = pd.Timestamp("1997-10-01")
    assert _purchases_to(tx, cutoff) is tx  # dates only: nothing on the cutoff day after midnight
    built = customer_days(tx)
    whole = p_alive_at(tx, cutoff)
    assert customer_days(tx) is built  # the frame's customer-day table, not a second one
    filtered = p_alive_at(tx[tx[ORDER_DATE] <= cutoff].copy(), cutoff)
    pd.testing.assert_series_equal(whole, filtered)
    assert len(whole) == tx.loc[tx[ORDER_DATE] <= cutoff, "customer_id"].nunique()


def test_a_purchase_after_midnight_on_the_cutoff_day_keeps_the_filtered_frame():
    tx = load_demo("cdnow_sample").require_transactions().copy()
    cutoff = pd.Timestamp("1997-10-01")
    tx.loc[tx.index[0], ORDER_DATE] = cutoff + pd.Timedelta(hours=15)
    kept = _purchases_to(tx, cutoff)
    assert kept is not tx
    assert len(kept) == int((tx[ORDER_DATE] <= cutoff).sum())
    assert kept[ORDER_DATE].max() <= cutoff
    with pytest.raises(KeyError):
        kept.loc[tx.index[0]]
