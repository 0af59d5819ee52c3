"""Everything the pages wait for, started in the background as soon as data arrives (Data page)."""

from __future__ import annotations

from analytics.data.schema import CustomerData
from ui import models
from ui.angles import prefetch_angles
from ui.segments import prefetch_segments


def prefetch(data: CustomerData) -> None:
    """Start, in the background, what the pages will wait for, in the order a visitor meets it.

    The lifetime-value and churn fits (every page), the personas (Segments), the default what-if
    (Home), the three churn angles (their purchase-model refit at the label's cutoff is the longest)
    and the per-segment fits of Segments' first attribute. They queue behind any fit the page on
    screen waits for and run one at a time (`ui.background.MAX_PREFETCH_RUNNING`).
    """
    if data.has_transactions:
        models.clv_analysis.prefetch(data, models.clv_settings())  # type: ignore[attr-defined]
    models.churn_analysis.prefetch(data, models.churn_settings())  # type: ignore[attr-defined]
    prefetch_segments(data, first=True)
    prefetch_angles(data)
    prefetch_segments(data, first=False)
