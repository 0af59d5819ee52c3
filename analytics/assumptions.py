"""Defaults for what the data cannot settle, in one place.

Each value here is an assumption, not a fact about the data, and is labelled as such wherever it
is used. Settings that accept one of them take None for "not chosen": the default is then used and
labelled "assumed", while a value the user chose, even when equal to the default, is labelled as
chosen.
"""

from __future__ import annotations

MARGIN_RATE = 0.30
"""Share of revenue kept as contribution margin (a typical retail gross margin)."""

ANNUAL_DISCOUNT_RATE = 0.10
"""Yearly discount rate for future margin."""

LTV_TO_CAC = 3.0
"""Rule of thumb: lifetime value about three times acquisition cost (LTV : CAC = 3 : 1; e.g. Skok,
"SaaS Metrics 2.0", 2013)."""

WHATIF_HORIZON_YEARS = 5
"""Years the what-if follows the customer base when no horizon is chosen."""


def margin_or_default(margin_rate: float | None) -> float:
    """The margin rate chosen, or `MARGIN_RATE` when none was chosen (None).

    Parameters
    ----------
    margin_rate : float or None
        The user's margin (share of revenue), None when not chosen.

    Returns
    -------
    float
        The margin to compute with.
    """
    return MARGIN_RATE if margin_rate is None else float(margin_rate)


__all__ = ["ANNUAL_DISCOUNT_RATE", "LTV_TO_CAC", "MARGIN_RATE", "WHATIF_HORIZON_YEARS", "margin_or_default"]
