"""The business-kind keys of the headless report's `data` section: the kind of business the data
describes (subscription or purchase log), why, and the assumptions that follow from it."""

from __future__ import annotations

from analytics.business.kind import detect_business_kind, list_assumptions
from analytics.data import schema as s


def report_section(data: s.CustomerData, override: str | None = None) -> dict:
    """Keys added to the report's `data` section: business_kind, business_kind_reason, assumptions.

    Parameters
    ----------
    data : CustomerData
        The dataset.
    override : str, optional
        The kind the user chose.

    Returns
    -------
    dict
        The keys and their values.
    """
    kind = detect_business_kind(data, override)
    return {
        "business_kind": kind.kind,
        "business_kind_reason": kind.reason,
        "business_kind_detected": kind.detected,
        "assumptions": [a.as_dict() for a in list_assumptions(data, kind)],
    }
