"""The `segments` section of the headless report (RFM segments as of the data's last day)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analytics.business.segments import rfm_table, segment_summary
from analytics.data.schema import CustomerData, DataError


def report_section(data: CustomerData, *, as_of: pd.Timestamp | None = None) -> dict[str, Any]:
    """Headless-report `segments` section: {segment name: {"customers": int, "revenue": float}}.

    All eight segments are present (zeros for empty ones).

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    as_of : pd.Timestamp, optional
        The day the segments describe (default: the data's last day).

    Returns
    -------
    dict
        Segment name -> customers and revenue (currency).

    Raises
    ------
    DataError
        Without transactions (RFM needs purchases).
    """
    if not data.has_transactions:
        raise DataError(
            "RFM segments need purchases (customer id, order date, amount); this data has only a customers table."
        )
    rfm = rfm_table(data.require_transactions(), as_of=data.observation_end if as_of is None else as_of)
    summary = segment_summary(rfm)
    return {
        str(name): {"customers": int(row.customers), "revenue": round(float(row.revenue), 2)}
        for name, row in summary.iterrows()
    }
