"""The `value_by_segment` section of the headless report: the purchase model and the retention
curve fitted per segment (plan, region, channel, first-purchase cohort), with 90% intervals."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from analytics.business.segment_value import (
    LEVEL,
    MAX_LEVELS,
    MIN_PURCHASE_CUSTOMERS,
    MIN_RETENTION_CHURNED,
    MIN_RETENTION_CUSTOMERS,
    MIN_SEGMENT_REPEAT_BUYERS,
    RETENTION_MONTHS,
    SegmentComparison,
    attribute_label,
    purchase_value_by_segment,
    retention_by_segment,
    segment_attributes,
)
from analytics.data.schema import CustomerData, DataError
from analytics.models.clv import ClvAnalysis
from analytics.models.purchase import MODEL_LABELS


def _records(comparison: SegmentComparison, columns: dict[str, str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in comparison.table.to_dict("records"):
        entry = {key: row[col] for key, col in columns.items()}
        for key in list(entry):
            if isinstance(entry[key], float) and not math.isfinite(entry[key]):
                entry[key] = None
        out[row["segment"]] = entry
    return out


def _interval(low: Any, high: Any) -> list[float] | None:
    return None if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)) else [low, high]


def report_section(
    data: CustomerData,
    analysis: ClvAnalysis | None,
    *,
    margin: float = 0.3,
    annual_discount_rate: float = 0.1,
    first_purchase: pd.Series | None = None,
    purchase_comparisons: dict[str, SegmentComparison] | None = None,
) -> dict[str, Any]:
    """The `value_by_segment` section of the headless report (keys are a stable contract).

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    analysis : ClvAnalysis or None
        The pooled purchase-model analysis (None without a purchase log or when it cannot run).
    margin, annual_discount_rate : float
        For the subscription value of a new customer.
    first_purchase : pd.Series, optional
        Each customer's first purchase day, when the purchases are not in `data` (`segment_attributes`).
    purchase_comparisons : dict of str to SegmentComparison, optional
        `purchase_value_by_segment(analysis, labels, label=attribute_label(key))` by attribute key,
        when computed elsewhere (the report's worker process); the others are computed here.

    Returns
    -------
    dict
        attributes {key: label}; level (0.9); horizon_months; purchase_model; retention_months (12);
        min_customers {purchase, purchase_repeat_buyers, retention, retention_churned};
        by.<attribute>.purchase.<segment>.{customers, repeat_buyers, mean_value, interval_90,
        total_value, mean_p_alive, expected_purchases, params, pooled, note} (None without a purchase
        model); by.<attribute>.retention.<segment>.{customers, churned, survival_12, interval_90,
        median_lifetime_months, new_customer_value, params, pooled, note} (None without a customers
        table with churn); by.<attribute>.notes; unavailable {purchase, retention}: why a model is
        missing (None when it runs).

    Raises
    ------
    DataError
        When the data has no attribute to segment by, or neither model can run.
    """
    attributes = segment_attributes(data, first_purchase=first_purchase)
    if not attributes:
        raise DataError(
            "No attribute to compare segments by: add a plan, region, channel or another text column with 2 to "
            f"{MAX_LEVELS} values to the customers table, or purchases spanning at least two months."
        )
    unavailable: dict[str, str | None] = {"purchase": None, "retention": None}
    if analysis is None:
        unavailable["purchase"] = "The purchase model needs a purchase log (customer id, order date, amount)."
    can_retain = data.has_customers and data.has_column("churned")
    if not can_retain:
        unavailable["retention"] = (
            "The retention curve needs a customers table with churn (yes/no) and tenure or signup date; "
            "on a purchase log P(alive) from the purchase model stands in."
        )
    by: dict[str, Any] = {}
    for key, labels in attributes.items():
        name = attribute_label(key)
        entry: dict[str, Any] = {"purchase": None, "retention": None, "notes": []}
        if analysis is not None:
            p = (purchase_comparisons or {}).get(key) or purchase_value_by_segment(analysis, labels, label=name)
            entry["purchase"] = _records(
                p,
                {
                    "customers": "customers",
                    "repeat_buyers": "repeat_buyers",
                    "mean_value": "mean_value",
                    "value_low": "value_low",
                    "value_high": "value_high",
                    "total_value": "total_value",
                    "mean_p_alive": "mean_p_alive",
                    "expected_purchases": "expected_purchases",
                    "params": "params",
                    "pooled": "pooled",
                    "note": "note",
                },
            )
            entry["notes"] += p.notes
        if can_retain:
            try:
                r = retention_by_segment(
                    data, labels, label=name, margin=margin, annual_discount_rate=annual_discount_rate
                )
            except DataError as exc:
                unavailable["retention"] = str(exc)
                can_retain = False
            else:
                entry["retention"] = _records(
                    r,
                    {
                        "customers": "customers",
                        "churned": "churned",
                        "survival_12": "survival_12",
                        "survival_low": "survival_low",
                        "survival_high": "survival_high",
                        "median_lifetime_months": "median_lifetime_months",
                        "new_customer_value": "new_customer_value",
                        "params": "params",
                        "pooled": "pooled",
                        "note": "note",
                    },
                )
                entry["notes"] += r.notes
        for kind, low, high in (
            ("purchase", "value_low", "value_high"),
            ("retention", "survival_low", "survival_high"),
        ):
            for record in (entry[kind] or {}).values():
                record["interval_90"] = _interval(record.pop(low), record.pop(high))
        by[key] = entry
    if analysis is None and not can_retain:
        raise DataError(" ".join(v for v in unavailable.values() if v))
    return {
        "attributes": {key: attribute_label(key) for key in attributes},
        "level": LEVEL,
        "horizon_months": None if analysis is None else analysis.settings.horizon_months,
        "purchase_model": None if analysis is None else analysis.selected,
        "purchase_model_label": None if analysis is None else MODEL_LABELS.get(analysis.selected, analysis.selected),
        "retention_months": RETENTION_MONTHS,
        "min_customers": {
            "purchase": MIN_PURCHASE_CUSTOMERS,
            "purchase_repeat_buyers": MIN_SEGMENT_REPEAT_BUYERS,
            "retention": MIN_RETENTION_CUSTOMERS,
            "retention_churned": MIN_RETENTION_CHURNED,
        },
        "by": by,
        "unavailable": unavailable,
    }
