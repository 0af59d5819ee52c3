"""Everything the pages wait for, started in the background as soon as data arrives (Data page)."""

from __future__ import annotations

from analytics.data.schema import CustomerData
from ui import background, health, models
from ui import worker as app_worker
from ui.actions import prefetch_ranking
from ui.angles import prefetch_angles
from ui.segments import prefetch_segment_models, prefetch_segments

#: Modules a page imports on its first visit that take seconds under load: pandas' Styler (the
#: Segments tables) imports matplotlib's pyplot, 0.5 s on a quiet machine and 2.2 s of the 4 s
#: first visit of Segments on a 10,000-customer upload while the fits ran.
SLOW_IMPORTS = ("pandas.io.formats.style",)


def prefetch(data: CustomerData) -> None:
    """Start, in the background, what the pages wait for: first the fits the worker process computes,
    then what this process computes, in the order of the sidebar.

    First the slow imports of a page's first visit (`SLOW_IMPORTS`, once per server: under a second)
    and, for a large purchase log, the worker process its fits run on (`ui.worker`); then the
    lifetime-value fit and the churn fit (every page reads them; on the worker process each leaves its
    turn to the next once its inputs are sent, so the worker gets both within seconds instead of
    waiting for this process's queue: at 1M customers the churn fit waited 12 s behind the personas and
    RFM tables with the worker idle for 4 s); then the personas, RFM tables and stage moves (Segments),
    the per-segment fits and the churn angles when they run on the worker process, the month's KPIs,
    trends, explained customers and cohorts (Customer health, Cohorts: `ui.health.prefetch_kpis`;
    a page opened before computes these itself, in seconds), the default what-if (Home), Segments'
    views on the fits, the Lifetime value page's views and Home's
    cards (`prefetch_views`), and the Action list's ranking (which reads both fits). They queue
    behind any fit the page on screen waits for and run one at a time
    (`ui.background.MAX_PREFETCH_RUNNING`). The per-segment fits of the first attribute and the churn
    angles start here only when their fits run on the worker process (a large purchase log), else
    when their page opens: a fit running in the background takes the page on screen's CPU too (one
    process, one interpreter lock), and those two can take minutes; on a 7,000-row customers table,
    prefetching them made Segments 2.6 -> 3.5 s.
    """
    if background.PREFETCH:
        background.load_modules(*SLOW_IMPORTS, prefetch=True)
        app_worker.start(data)  # a large purchase log's fits run there: it loads the models meanwhile
    if data.has_transactions:
        models.clv_analysis.prefetch(data, models.clv_settings())  # type: ignore[attr-defined]
    models.churn_analysis.prefetch(data, models.churn_settings())  # type: ignore[attr-defined]
    prefetch_segments(data, with_personas=True)
    if app_worker.for_data(data) is not None:  # their fits run on the worker process: little CPU here
        prefetch_segment_models(data)
        prefetch_angles(data)
    health.prefetch_kpis(data)
    prefetch_segments(data, with_whatif=True, with_views=True)  # Home's what-if, then Segments' views
    prefetch_views(data)
    prefetch_ranking(data)


def prefetch_views(data: CustomerData) -> None:
    """What the Churn planner, the Lifetime value page and Home's cards compute from the fits on their first
    visit, for a large purchase log (at 1M customers: the planner's inputs 2 s; the forecast ranges and
    alive map, 2-3 s with the packed customer list, which is no longer made: its rows are the analysis's,
    taken when clicked; Home's cards unpickled both analyses, 1.5 s)."""
    if app_worker.for_data(data) is None:  # small data: seconds at most, computed when the page opens
        return
    from ui import churn as ch
    from ui import clv as lv

    clv, churn = models.clv_settings(), models.churn_settings()
    ch.prefetch_campaign_inputs(data, churn, clv)  # the Churn planner's, as the page asks for it with a purchase log
    for view in (lv.holdout_views, lv.forecast_view, lv.alive_map):
        view.prefetch(data, clv)  # type: ignore[attr-defined]
    health.prefetch_model_clv(data)
    models.churn_headline.prefetch(data, churn)  # type: ignore[attr-defined]
