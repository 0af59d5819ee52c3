"""Everything the pages wait for, started in the background as soon as data arrives (Data page)."""

from __future__ import annotations

from analytics.data.schema import CustomerData
from ui import models
from ui.angles import prefetch_angles
from ui.segments import prefetch_segments


def prefetch(data: CustomerData) -> None:
    """Start, in the background, what the pages will wait for, in the order a visitor meets it.

    The lifetime-value fit (every page), the personas (Segments: a second or two), the churn fit
    (every page), the default what-if (Home), the per-segment fits of Segments' first attribute and,
    last, the three churn angles (their purchase-model refit at the label's cutoff is the longest).
    They queue behind any fit the page on screen waits for and run one at a time
    (`ui.background.MAX_PREFETCH_RUNNING`), so the page on screen keeps a core.
    """
    if data.has_transactions:
        models.clv_analysis.prefetch(data, models.clv_settings())  # type: ignore[attr-defined]
    prefetch_segments(data, with_personas=True)
    models.churn_analysis.prefetch(data, models.churn_settings())  # type: ignore[attr-defined]
    prefetch_segments(data, with_whatif=True)
    prefetch_segments(data, by_segment=True)
    prefetch_angles(data)
