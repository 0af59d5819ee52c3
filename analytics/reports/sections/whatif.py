"""The `whatif` section of the headless report (retention economics on the data's own numbers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analytics.business.economics import BAND_HIGH_PCT, BAND_LOW_PCT, lift_applied_text, whatif
from analytics.business.kind import detect_business_kind
from analytics.business.value import value_of_todays_customers
from analytics.business.whatif_inputs import DefaultValue, WhatIfSettings, build_assumptions, defaults_from_data
from analytics.data.schema import (
    CustomerData,
)
from analytics.jsonready import json_number

if TYPE_CHECKING:
    from analytics.models.clv import ClvSettings


def report_section(
    data: CustomerData,
    settings: WhatIfSettings | None = None,
    *,
    business_kind: str | None = None,
    clv_settings: ClvSettings | None = None,
) -> dict:
    """The `whatif` section of the headless report (JSON-ready; NaN becomes None).

    Keys: ``retention_rate`` (measured, share per period), ``lifted_retention_rate``,
    ``lift_points`` (points of retention per period actually applied), ``yearly_retention_rate``
    and ``yearly_lifted_retention_rate`` (share kept over a year), ``profit_change_pct`` and ``clv_change_pct``
    (percent), ``profit_change``, ``profit_base``, ``profit_lifted``, ``clv_base``, ``clv_lifted``
    (currency, discounted), ``period``, ``horizon_periods``, ``inputs`` (name -> value, unit,
    source, measured), ``waterfall`` (list of source, amount), ``band`` (low 25, high 95,
    position 'below' | 'within' | 'above' | None, explanation). Added: ``business_kind``,
    ``retention_source`` (how retention was obtained: the purchase model for a purchase log),
    ``value_of_todays_customers`` (discounted margin of today's customers over the horizon without
    new customers; equals the clv section's ``total_clv`` at the same horizon, margin and discount)
    and ``lift_applied`` (the lift in words, on the basis actually used).

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    settings : WhatIfSettings, optional
        The what-if choices (defaults: a 5-point lift, monthly periods).
    business_kind, clv_settings : optional
        The business kind (None = detect) and the purchase model's settings (the clv section's).

    Returns
    -------
    dict
        The section.

    Raises
    ------
    DataError
        When the data cannot supply retention and revenue.
    """
    settings = settings or WhatIfSettings()
    kind = detect_business_kind(data, business_kind)
    defaults = defaults_from_data(data, settings.period, business_kind=kind.kind, clv_settings=clv_settings)
    return section_from_defaults(defaults, settings, kind.kind)


def section_from_defaults(defaults: dict[str, DefaultValue], settings: WhatIfSettings, business_kind: str) -> dict:
    """The `whatif` section from the measured inputs (`defaults_from_data` or `defaults_from_activity`).

    Parameters
    ----------
    defaults : dict of str to DefaultValue
        The inputs measured from the data.
    settings : WhatIfSettings
        The what-if choices.
    business_kind : str
        'subscription' or 'purchase_log'.

    Returns
    -------
    dict
        The section (keys as `report_section`).
    """
    base, inputs = build_assumptions(defaults, settings)
    result = whatif(base, settings.loyalty, settings.retention_lift, settings.horizon)
    return {
        "business_kind": business_kind,
        "retention_source": inputs["retention_rate"].source,
        "value_of_todays_customers": json_number(
            value_of_todays_customers(
                base.starting_customers, base.margin_per_customer, base.retention, base.discount_rate, result.horizon
            )
        ),
        "lift_applied": lift_applied_text(result),
        "retention_rate": json_number(result.retention_base),
        "lifted_retention_rate": json_number(result.retention_lifted),
        "lift_points": json_number(result.lift_points),
        "yearly_retention_rate": json_number(result.yearly_retention_base),
        "yearly_lifted_retention_rate": json_number(result.yearly_retention_lifted),
        "retention_capped": result.retention_capped,
        "lift_basis_used": result.lift_basis_used,
        "profit_change_pct": json_number(result.profit_change_pct),
        "clv_change_pct": json_number(result.clv_change_pct),
        "profit_change": json_number(result.profit_change),
        "profit_base": json_number(result.profit_base),
        "profit_lifted": json_number(result.profit_lifted),
        "clv_base": json_number(result.clv_base),
        "clv_lifted": json_number(result.clv_lifted),
        "period": settings.period,
        "horizon_periods": result.horizon,
        "inputs": {name: value.as_dict() for name, value in inputs.items()},
        "waterfall": [
            {"source": str(s), "amount": json_number(a)}
            for s, a in zip(result.waterfall["source"], result.waterfall["amount"])
        ],
        "band": {
            "low": BAND_LOW_PCT,
            "high": BAND_HIGH_PCT,
            "position": result.band_position,
            "explanation": result.explanation,
        },
    }
