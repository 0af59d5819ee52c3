"""The `segments` section of the headless report: RFM segments as of the data's last day, or, for a
customers table without purchases, the personas its own numeric columns form."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analytics.business.segments import fit_personas, rfm_scores, rfm_table, segment_summary
from analytics.data.schema import CHURNED, CUSTOMER_ID, CustomerData, DataError


def report_section(data: CustomerData, *, as_of: pd.Timestamp | None = None) -> dict[str, Any]:
    """Headless-report `segments` section: {segment name: {"customers": int, "revenue": float}}.

    With purchases: the eight RFM segments, all present (zeros for empty ones). A customers table
    without purchases (a Telco or bank churn table): its personas instead (`persona_sections`).

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
        Without purchases and without a numeric customer attribute that varies.
    """
    if not data.has_transactions:
        return persona_sections(data)
    rfm = rfm_table(data.require_transactions(), as_of=data.observation_end if as_of is None else as_of)
    return _section(rfm)


def section_from_values(values: pd.DataFrame) -> dict[str, Any]:
    """The `segments` section from per-customer RFM values computed elsewhere (e.g. in a database).

    Parameters
    ----------
    values : pd.DataFrame
        Indexed by customer_id: days_since_last_purchase, orders, revenue.

    Returns
    -------
    dict
        As `report_section`.
    """
    return _section(rfm_scores(values))


def _section(rfm: pd.DataFrame) -> dict[str, Any]:
    summary = segment_summary(rfm)
    return {
        str(name): {"customers": int(row.customers), "revenue": round(float(row.revenue), 2)}
        for name, row in summary.iterrows()
    }


def persona_sections(data: CustomerData) -> dict[str, Any]:
    """Segments of a customers table without purchases: the k-means personas of its numeric columns.

    The same personas as the Segments page (`analytics.business.segments.fit_personas`, k chosen by
    silhouette). Each: customers, revenue (None: a customers table holds no purchases),
    description (the persona in one sentence, its means against everyone's) and churn_rate (share
    of its customers flagged as churned, 0..1; None without a churn flag).

    Parameters
    ----------
    data : CustomerData
        A dataset with a customers table.

    Returns
    -------
    dict
        Persona name ("Persona 1" is the largest) -> customers, revenue, description, churn_rate.

    Raises
    ------
    DataError
        When no numeric customer attribute varies (nothing to form personas from).
    """
    if not data.has_customers:
        raise DataError("Segments need purchases (customer id, order date, amount) or a customers table.")
    try:
        personas = fit_personas(data)
    except DataError as exc:
        raise DataError(
            f"RFM segments need purchases and this data has only a customers table; personas could not be formed "
            f"from its columns either: {exc}"
        ) from exc
    customers = data.require_customers().set_index(CUSTOMER_ID)
    churned = customers[CHURNED].reindex(personas.labels_.index) if CHURNED in customers else None
    out: dict[str, Any] = {}
    for name, row in personas.profile_.iterrows():
        members = personas.labels_.index[personas.labels_ == name]
        rate = None
        if churned is not None and churned.loc[members].notna().any():
            rate = round(float(churned.loc[members].astype(float).mean()), 4)
        out[str(name)] = {
            "customers": int(row["customers"]),
            "revenue": None,
            "description": personas.descriptions_[str(name)],
            "churn_rate": rate,
        }
    return out
