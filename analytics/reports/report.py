"""The headless report: the same pipeline as the app, as one JSON-ready dict.

    data = analytics.data.ingest.load_files([("orders.csv", content)])
    report = build_report(data, ReportSettings(period="W"))

Sections (keys are a stable contract, documented in README.md): `data` always; then one per
capability. A capability that cannot run on this data gives `null` for its section and a plain
reason under `reasons[<section>]`; the report as a whole still succeeds.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from analytics.data.ingest import data_section
from analytics.data.periods import MODEL_TIME_UNITS
from analytics.data.schema import CustomerData, DataError
from analytics.jsonready import to_json_ready

logger = logging.getLogger(__name__)

REPORT_VERSION = 1


@dataclass(frozen=True)
class ReportSettings:
    """Settings shared by every section of the headless report.

    Attributes
    ----------
    period : {'D', 'W', 'M'}, default 'W'
        Time unit of the purchase models: days, weeks or months.
    calibration_end : pd.Timestamp or None
        Last day of the model-fitting window (None = the last third of the history is held out).
    business_kind : {'subscription', 'purchase_log'} or None
        Overrides the detected kind of business (None = detect it from the data).
    control_share : float, default 0.10
        Share (0..1) of every exported contact list held out as a control group.
    seed : int
        Seed of the control group's draw (`analytics.business.experiment`).
    readout_list, readout_outcome : pd.DataFrame, CustomerData, optional
        For a campaign readout: the exported contact list (customer id and `group`) and the later
        file of the same customers (churn flag or the next purchase log).
    readout_since : pd.Timestamp, optional
        Count only purchases from this day on (purchase-log outcomes).
    offer_cost : float, optional
        The offer's cost per treated customer (currency).

    Raises
    ------
    DataError
        For an unknown period.
    """

    period: str = "W"
    calibration_end: pd.Timestamp | None = None
    business_kind: str | None = None
    control_share: float = 0.10
    seed: int = 2026
    readout_list: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    readout_outcome: CustomerData | None = field(default=None, compare=False, repr=False)
    readout_since: pd.Timestamp | None = None
    offer_cost: float | None = None

    def __post_init__(self) -> None:
        if self.period not in MODEL_TIME_UNITS:
            raise DataError(f"Unknown period '{self.period}': use D (days), W (weeks) or M (months).")


# Adapters: each maps the shared ReportSettings onto one capability's own settings and calls its
# section in analytics/reports/sections/. Imports are local so `python -m analytics report` loads
# only what it runs.


def kpis_section(data: CustomerData, settings: ReportSettings) -> dict:
    """The `kpis` section of the headless report: customers kept and lost, revenue and value per month.

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    settings : ReportSettings
        The report's shared settings.

    Returns
    -------
    dict
        The section (keys documented in README.md, "Report schema").

    Raises
    ------
    DataError
        When the data cannot support this section (the report shows the reason instead).
    """
    from analytics.business.kpis import KpiSettings
    from analytics.business.value import purchase_analysis
    from analytics.models.clv import ClvSettings
    from analytics.reports.sections.kpis import report_section

    model_clv = None
    if data.has_transactions:
        # clv_model and LTV:CAC from the clv section's own fit (the same cached analysis), as the
        # Customer health page takes them from the Lifetime value page
        clv = ClvSettings(time_unit=settings.period, calibration_end=settings.calibration_end)
        try:
            model_clv = purchase_analysis(data, clv).mean_clv
        except DataError:
            model_clv = None
    return report_section(data, KpiSettings(period="month", model_clv=model_clv))


def clv_section(data: CustomerData, settings: ReportSettings, fitted: dict | None = None) -> dict:
    """The `clv` section of the headless report: purchase models validated on a holdout and customer lifetime value.

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    settings : ReportSettings
        The report's shared settings (`period`, `calibration_end`).
    fitted : dict, optional
        The section as the report's worker process computed it (all but `retention`).

    Returns
    -------
    dict
        The section (keys documented in README.md, "Report schema").

    Raises
    ------
    DataError
        When the data cannot support this section (the report shows the reason instead).
    """
    from analytics.reports.sections.clv import report_section

    return report_section(data, clv_settings(settings), fitted)


def clv_settings(settings: ReportSettings) -> Any:
    """The `ClvSettings` every section's purchase model uses (the report's period and calibration end).

    Parameters
    ----------
    settings : ReportSettings

    Returns
    -------
    ClvSettings
    """
    from analytics.models.clv import ClvSettings

    return ClvSettings(time_unit=settings.period, calibration_end=settings.calibration_end)


def retention_sbg_section(data: CustomerData, settings: ReportSettings) -> dict:
    """The `retention_sbg` section of the headless report: the subscription retention curve (shifted-beta-geometric).

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    settings : ReportSettings
        The report's shared settings.

    Returns
    -------
    dict
        The section (keys documented in README.md, "Report schema").

    Raises
    ------
    DataError
        When the data cannot support this section (the report shows the reason instead).
    """
    from analytics.models.clv import ClvSettings
    from analytics.models.sbg import lifetime_caveat
    from analytics.reports.sections.retention_sbg import report_section

    section = report_section(data, ClvSettings())
    section["lifetime_caveat"] = lifetime_caveat(
        section["n_churned"], section["expected_lifetime_periods"], section["max_observed_periods"]
    )
    return section


def churn_section(
    data: CustomerData, settings: ReportSettings, p_alive_cutoff: Callable[[], pd.Series | None] | None = None
) -> dict:
    """The `churn` section of the headless report: who is about to leave, the churn model's quality and its drivers.

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    settings : ReportSettings
        The report's shared settings.
    p_alive_cutoff : callable, optional
        Gives the purchase-model angle's P(alive) at the label's cutoff when it is computed
        elsewhere (the report's worker process), or None to fit it here.

    Returns
    -------
    dict
        The section (keys documented in README.md, "Report schema").

    Raises
    ------
    DataError
        When the data cannot support this section (the report shows the reason instead).
    """
    from analytics.business.churn_analysis import ChurnSettings, churn_analysis
    from analytics.reports.sections.churn import section_from_analysis

    analysis = churn_analysis(data, ChurnSettings())  # one fit shared with voice and actions
    section = section_from_analysis(analysis)
    section.update(churn_angles_keys(data, analysis, settings, None if p_alive_cutoff is None else p_alive_cutoff()))
    return section


def purchase_model_view(data: CustomerData, analysis: Any, settings: ReportSettings) -> tuple[pd.Series | None, str]:
    """The CLV section's P(alive) today per customer id and its chosen model, as the churn angles use them.

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    analysis : ChurnAnalysis
        The churn section's analysis.
    settings : ReportSettings
        The report's shared settings.

    Returns
    -------
    tuple of (pd.Series or None, str)
        P(alive) today (None without a purchase fit, or for a churn column) and the model's name
        ('pareto_nbd' when there is no fit).
    """
    from analytics.business.value import purchase_analysis

    if data.has_transactions and analysis.source == "purchases":
        try:
            clv = purchase_analysis(data, clv_settings(settings))
            p_alive = clv.customers["p_alive"]
            if pd.api.types.infer_dtype(p_alive.index, skipna=False) != "string":  # ids as text (C-speed check)
                p_alive = p_alive.rename(index=str)
            return p_alive, clv.selected
        except DataError:
            pass
    return None, "pareto_nbd"


def churn_angles_keys(
    data: CustomerData, analysis: Any, settings: ReportSettings, p_alive_cutoff: pd.Series | None = None
) -> dict:
    """`churn.angles`, `churn.angles_unavailable`, `churn.angles_label` and `churn.agreement`.

    The purchase model's angle uses the CLV section's fit (its chosen model and P(alive) today).
    When fewer than two angles apply, `angles` lists what there is and `agreement` is None.

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    analysis : ChurnAnalysis or None
        The churn section's analysis.
    settings : ReportSettings
        The report's shared settings.
    p_alive_cutoff : pd.Series, optional
        The purchase-model angle's P(alive) at the label's cutoff, when computed elsewhere.

    Returns
    -------
    dict
        The four keys.
    """
    from analytics.business.churn_angles import churn_angles
    from analytics.reports.sections.churn_angles import report_section as angles_report_section

    p_alive_now, model_name = purchase_model_view(data, analysis, settings)
    try:
        angles = churn_angles(
            data, analysis, p_alive_now=p_alive_now, purchase_model=model_name, p_alive_cutoff=p_alive_cutoff
        )
        return angles_report_section(angles)
    except DataError as exc:
        return {"angles": None, "agreement": None, "angles_unavailable": {"all": str(exc)}}


def whatif_section(data: CustomerData, settings: ReportSettings) -> dict:
    """The `whatif` section of the headless report: what a 5-point retention lift is worth (default what-if settings).

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    settings : ReportSettings
        The report's shared settings.

    Returns
    -------
    dict
        The section (keys documented in README.md, "Report schema").

    Raises
    ------
    DataError
        When the data cannot support this section (the report shows the reason instead).
    """
    from analytics.business.whatif_inputs import WhatIfSettings
    from analytics.models.clv import ClvSettings
    from analytics.reports.sections.whatif import report_section

    # the same purchase model (and cached fit) as the clv section
    clv = ClvSettings(time_unit=settings.period, calibration_end=settings.calibration_end)
    return report_section(data, WhatIfSettings(), business_kind=settings.business_kind, clv_settings=clv)


def segments_section(data: CustomerData, settings: ReportSettings) -> dict:
    """The `segments` section of the headless report: customer segments by value and risk.

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    settings : ReportSettings
        The report's shared settings.

    Returns
    -------
    dict
        The section (keys documented in README.md, "Report schema").

    Raises
    ------
    DataError
        When the data cannot support this section (the report shows the reason instead).
    """
    from analytics.reports.sections.segments import report_section

    return report_section(data)


def value_by_segment_section(
    data: CustomerData, settings: ReportSettings, purchase_comparisons: Callable[[], dict | None] | None = None
) -> dict:
    """The `value_by_segment` section: the purchase model and the retention curve fitted per segment.

    The purchase model is the clv section's (same settings, same cached fit); each segment with enough
    customers gets its own fit of it, the others are pooled with a note
    (`analytics.business.segment_value`).

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    settings : ReportSettings
        The report's shared settings (`period`, `calibration_end`).
    purchase_comparisons : callable, optional
        Gives the per-segment purchase-model fits by attribute when they were computed elsewhere
        (the report's worker process), or None to fit them here.

    Returns
    -------
    dict
        The section (keys documented in README.md, "Report schema").

    Raises
    ------
    DataError
        When the data has no attribute to segment by, or neither model can run.
    """
    from analytics.business.value import purchase_analysis
    from analytics.models.clv import ClvSettings
    from analytics.reports.sections.value_by_segment import report_section as section

    clv = ClvSettings(time_unit=settings.period, calibration_end=settings.calibration_end)
    try:
        analysis = purchase_analysis(data, clv) if data.has_transactions else None
    except DataError:
        analysis = None
    fitted = None if purchase_comparisons is None or analysis is None else purchase_comparisons()
    return section(
        data, analysis, margin=clv.margin, annual_discount_rate=clv.annual_discount_rate, purchase_comparisons=fitted
    )


def customer_value(data: CustomerData, ids: pd.Series, settings: ReportSettings) -> tuple[pd.Series, str]:
    """Value per customer id (currency) from the customer-value module, and where it comes from.

    `analytics.business.value.customer_value` with the CLV section's settings (so the fit is shared):
    the purchase model's value, else margin x monthly charge over the same horizon, discounted.

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    ids : pd.Series
        The customer ids to value.
    settings : ReportSettings
        The report's shared settings.

    Returns
    -------
    tuple of (pd.Series, str)
        Value per id and its source in words.
    """
    from analytics.business.value import customer_value as one_value
    from analytics.models.clv import ClvSettings

    clv_settings = ClvSettings(time_unit=settings.period, calibration_end=settings.calibration_end)
    value, source = one_value(data, pd.Series(ids).astype(str), clv_settings)
    return value.set_axis(pd.Series(ids).astype(str).to_numpy()), source


def campaign_section(data: CustomerData, settings: ReportSettings) -> dict:
    """The `campaign` section of the headless report: the control-group settings (and a readout when
    the CLI is given a contact list and a later outcome file).

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    settings : ReportSettings
        The report's shared settings.

    Returns
    -------
    dict
        The section (keys documented in README.md, "Report schema").
    """
    return campaign_keys(settings, lambda ids: customer_value(data, ids, settings)[0])


def campaign_keys(settings: ReportSettings, value_of: Callable[[pd.Series], pd.Series]) -> dict:
    """The `campaign` section from the settings and a source of customer values.

    Parameters
    ----------
    settings : ReportSettings
        The report's shared settings (control share, seed, and the readout's contact list, outcome
        file and offer cost when given).
    value_of : callable
        Customer ids -> value per id (currency); may raise DataError (the readout then has no values).

    Returns
    -------
    dict
        The section (keys documented in README.md, "Report schema").
    """
    from analytics.business.experiment import outcome_from_data, parse_contact_list, read_out
    from analytics.reports.sections.campaign import report_section as campaign_report_section

    readout = None
    if settings.readout_list is not None and settings.readout_outcome is not None:
        contacts = parse_contact_list(settings.readout_list)
        outcome = outcome_from_data(settings.readout_outcome, since=settings.readout_since)
        try:
            value = value_of(contacts["customer_id"])
        except DataError:
            value = None
        readout = read_out(contacts, outcome, value=value, offer_cost=settings.offer_cost)
    return campaign_report_section(control_share=settings.control_share, seed=settings.seed, readout=readout)


def voice_section(data: CustomerData, settings: ReportSettings) -> dict:
    """The `voice` section of the headless report: survey and support signals joined to churn and value.

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    settings : ReportSettings
        The report's shared settings.

    Returns
    -------
    dict
        The section (keys documented in README.md, "Report schema").

    Raises
    ------
    DataError
        When the data has none of the survey or support columns (the report shows the reason instead).
    """
    from analytics.business.churn_analysis import ChurnSettings, churn_analysis
    from analytics.business.voice import analyse_voice, voice_signals
    from analytics.reports.sections.voice import report_section as voice_report_section

    voice_signals(data)  # fails fast, naming the enabling columns, before any model is fitted
    scores = churn_analysis(data, ChurnSettings()).scores
    ids = scores["customer_id"].astype(str)
    risk = pd.Series(scores["churn_probability"].to_numpy(dtype=float), index=ids)
    value, source = customer_value(data, ids, settings)
    source += "; churn risk from the churn model"
    return voice_report_section(analyse_voice(data, value=value, risk=risk, value_source=source))


def actions_section(data: CustomerData, settings: ReportSettings) -> dict:
    """The `actions` section of the headless report: whom to call first, ranked by value at stake.

    Value from the clv section's fit (else the monthly-charge proxy), risk from the churn section's
    fit (else 1 - P(alive)), ranked as the Action list page ranks them
    (`analytics.reports.sections.actions`).

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    settings : ReportSettings
        The report's shared settings (`period`, `calibration_end`).

    Returns
    -------
    dict
        The section (keys documented in README.md, "Report schema").

    Raises
    ------
    DataError
        When neither a value nor a churn risk can be had, naming the columns that would enable it.
    """
    from analytics.business.churn_analysis import ChurnSettings, churn_analysis
    from analytics.business.value import purchase_analysis, score_customers, value_and_risk
    from analytics.engine.customer_days import customer_days
    from analytics.models.clv import ClvSettings
    from analytics.reports.sections.actions import report_section

    clv = ClvSettings(time_unit=settings.period, calibration_end=settings.calibration_end)
    customers = churn_scores = None
    if data.has_transactions:
        try:
            customers = purchase_analysis(data, clv).customers
        except DataError:
            customers = None
    try:
        churn_scores = churn_analysis(data, ChurnSettings()).scores
    except DataError:
        churn_scores = None
    # both list the purchases' customers in the customer-day table's orders: lined up by its codes
    table = customer_days(data.require_transactions()) if data.has_transactions else None
    scores = score_customers(data, value_and_risk(customers, churn_scores, table), clv)
    return report_section(data, scores, churn_scores=churn_scores, horizon_months=clv.horizon_months)


# Section name -> "module:function". Each function takes (CustomerData, ReportSettings) and returns
# a JSON-ready dict, or raises DataError with a reason the report shows instead of the section.
SECTIONS: dict[str, str] = {
    "kpis": "analytics.reports.report:kpis_section",
    "clv": "analytics.reports.report:clv_section",
    "retention_sbg": "analytics.reports.report:retention_sbg_section",
    "churn": "analytics.reports.report:churn_section",
    "whatif": "analytics.reports.report:whatif_section",
    "segments": "analytics.reports.report:segments_section",
    "campaign": "analytics.reports.report:campaign_section",
    "voice": "analytics.reports.report:voice_section",
    "value_by_segment": "analytics.reports.report:value_by_segment_section",
    "actions": "analytics.reports.report:actions_section",
}


# Sections that describe periods of time: without any date in the data they cannot run.
NEEDS_DATES: frozenset[str] = frozenset({"kpis", "cohorts"})
NO_DATES_REASON = (
    "The data has no dates (no purchase date, signup date or churn date), so period figures cannot "
    "be computed. Add a purchase log (customer id, date, amount) or a signup date column."
)


# The purchase-model fit (BG/NBD, Pareto/NBD and MBG/NBD compared on a holdout, the chosen one
# refitted, Gamma-Gamma, the CLV interval) is shared by these sections; it runs once, before them.
PURCHASE_FIT = "purchase_model"
NEEDS_PURCHASE_FIT: frozenset[str] = frozenset(
    {"kpis", "clv", "churn", "whatif", "value_by_segment", "voice", "campaign", "actions"}
)
# Sections that never read the fit: with a worker process they run while it fits.
WHILE_FITTING: tuple[str, ...] = ("segments", "retention_sbg")
BEFORE_SEGMENT_FITS: frozenset[str] = frozenset({"kpis", "clv", "whatif"})
"""With a worker process, the sections that run here before the worker starts the per-segment fits:
kpis and whatif take about 1 GB each here at 2M customers (9.7M purchases), the fits 0.5 GB there,
and the two at once made the joint peak (4.3 GB); the fits then run while this process runs
the campaign, voice, actions and churn sections (0.6 GB)."""
CHURN_MODEL = "churn_model"
"""Progress name of the churn model's fit, run while the worker fits the purchase models."""
WAIT_FOR_FIT = "purchase_model_wait"
"""Progress name of the wait for the worker's purchase-model fit."""

PARALLEL_MIN_PURCHASES = 200_000
"""From this many purchases on, `build_report` fits the purchase models on a second process by default
(below it the fits take a few seconds and starting the process would eat the gain)."""


def report_workers(data: CustomerData, workers: int | None = None) -> int:
    """Processes the report runs on: `workers` when given, else 2 for a purchase log of
    `PARALLEL_MIN_PURCHASES` or more on a machine with two cores or more, else 1.

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    workers : int, optional
        The caller's choice (1 = everything in this process).

    Returns
    -------
    int
        1 or 2.
    """
    from analytics.engine.parallel import available_cores

    if workers is not None:
        return 2 if workers >= 2 else 1
    if not data.has_transactions or len(data.require_transactions("The report")) < PARALLEL_MIN_PURCHASES:
        return 1
    return min(2, available_cores())


def _load(target: str) -> Callable[[CustomerData, ReportSettings], dict]:
    module, function = target.split(":")
    return getattr(importlib.import_module(module), function)


_KEPT_ON_WORKER: dict[str, Any] = {}
"""On the worker process: the purchase-model analysis the jobs queued behind its fit reuse."""


def _fit_on_worker(split: Any, summary: pd.DataFrame, settings: Any) -> tuple[Any, dict]:
    """On the worker: the CLV analysis packed for the trip back (`FittedRows`) and the clv section
    without `retention`; the analysis stays here for the jobs queued behind (`_p_alive_cutoff_on_worker`,
    `_segments_on_worker`), the last of which drops it."""
    from analytics.models.clv import analyse_summaries
    from analytics.reports.sections.clv import fitted_rows, section_from_analysis

    _KEPT_ON_WORKER.clear()
    analysis = analyse_summaries(split, summary, settings)
    packed, section = fitted_rows(analysis, summary), section_from_analysis(analysis, settings)
    # kept for the jobs behind: its choice, the models without their data and the per-customer values
    # the per-segment fits read (not the holdout's rows)
    _KEPT_ON_WORKER["analysis"] = replace(
        packed.analysis, customers=analysis.customers[[c for c in _SEGMENT_COLUMNS if c in analysis.customers]]
    )
    return packed, section


_SEGMENT_COLUMNS = ("frequency", "recency", "T", "monetary_value", "clv", "p_alive", "expected_purchases")
"""The per-customer columns of the purchase analysis that `purchase_value_by_codes` reads."""


def _segments_on_worker(labels: dict[str, tuple[str, np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """On the worker: `purchase_value_by_codes` of the kept analysis for each attribute (the
    per-segment fits of the `value_by_segment` section, equal to `purchase_value_by_segment`'s).
    `labels`: key -> (name, codes in the summary's row order with -1 for blank, the codes' labels)."""
    from analytics.business.segment_value import attribute_label, purchase_value_by_codes

    analysis = _KEPT_ON_WORKER.pop("analysis")  # KeyError when the fit failed: the section runs here
    return {
        key: purchase_value_by_codes(analysis, codes, levels, name=name, label=attribute_label(key))
        for key, (name, codes, levels) in labels.items()
    }


def _segment_labels(data: CustomerData, ids: pd.Index) -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    """`segment_attributes` of `data` for the customers `ids`, as compact codes for the worker."""
    from analytics.business.segment_value import segment_attributes

    out = {}
    for key, labels in segment_attributes(data).items():
        codes, levels = pd.factorize(labels.reindex(ids).to_numpy(dtype=object))
        out[key] = (str(labels.name), codes, np.asarray(levels, dtype=object))
    return out


@dataclass
class _WorkerJobs:
    """The purchase-model work started on the worker process, and what this process waits for."""

    clv_section: dict | None = None
    start_segments: Callable[[], Any] | None = None
    p_alive_cutoff: Callable[[], pd.Series | None] | None = None


def _fit_purchase_models(
    data: CustomerData, settings: ReportSettings, worker: Any, run_early: Callable[[], None], sections: dict[str, str]
) -> _WorkerJobs:
    """The shared purchase-model fit, cached for the sections (`purchase_analysis`).

    With a worker process: the per-customer rows are built here and sent by position; the fits and
    the clv section run there while `run_early` runs here; then the churn angle's refit at the
    label's cutoff is queued on the worker (it runs there while this process runs the other
    sections), and the value_by_segment section's per-segment fits are made ready to queue
    (`start_segments`, which `build_report` calls once the sections with the largest working sets
    here have run). Returns what the worker computed (nothing when everything ran here, or the
    worker could not: the sections then compute or report it themselves).
    """
    from analytics.business.value import purchase_analysis, remember_purchase_analysis
    from analytics.engine.parallel import release_memory
    from analytics.reports.sections.clv import fit_arguments, fit_inputs, with_rows

    clv = clv_settings(settings)
    jobs = _WorkerJobs()
    if not worker.active:
        run_early()
        with contextlib.suppress(Exception):  # each section that needs the fit reports its failure itself
            purchase_analysis(data, clv)
        return jobs
    try:
        split, summary = fit_inputs(data, clv)
    except DataError:
        run_early()
        return jobs
    segments_here = sections.get("value_by_segment") == SECTIONS["value_by_segment"]
    fit = worker.run(_fit_on_worker, *fit_arguments(split, summary), clv)
    run_early()
    if sections.get("churn") == SECTIONS["churn"]:
        # the churn angle's own purchase-model fit at the label's cutoff, queued behind the fit
        jobs.p_alive_cutoff = _p_alive_at_cutoff(data, worker, release=not segments_here)
    try:
        fitted, jobs.clv_section = fit.result()
    except Exception:  # the sections fit here and report the failure themselves
        return jobs
    remember_purchase_analysis(data, clv, with_rows(fitted, split, summary))
    if segments_here:
        ids = summary.index
        jobs.start_segments = lambda: worker.run(_segments_on_worker, _segment_labels(data, ids))
    del fitted, split, summary
    release_memory()  # the result's pipe buffer and unpacked copies
    return jobs


def settings_keys(settings: ReportSettings) -> dict:
    """The report's `settings` key: period, calibration end (YYYY-MM-DD or None) and business kind.

    Parameters
    ----------
    settings : ReportSettings

    Returns
    -------
    dict
    """
    end = settings.calibration_end
    return {
        "period": settings.period,
        "calibration_end": None if end is None else f"{end:%Y-%m-%d}",
        "business_kind": settings.business_kind,
    }


def _p_alive_cutoff_on_worker(rows: pd.DataFrame, model_name: str | None, release: bool) -> np.ndarray:
    """On the worker: `fitted_p_alive` of the churn angle's cutoff summary with `model_name`, or (None)
    with the kept analysis's chosen model, 'pareto_nbd' when its fit failed (as `purchase_model_view`);
    with `release` the kept analysis is dropped afterwards."""
    from analytics.business.churn_angles import fitted_p_alive

    analysis = _KEPT_ON_WORKER.get("analysis")
    if release:
        _KEPT_ON_WORKER.clear()
    if model_name is None:
        model_name = "pareto_nbd" if analysis is None else analysis.selected
    return fitted_p_alive(rows, model_name)


def _p_alive_at_cutoff(data: CustomerData, worker: Any, release: bool = True) -> Callable[[], pd.Series | None]:
    """Queue the churn angle's P(alive) at the label's cutoff on the worker (behind the purchase-model
    fit, whose chosen model it uses); a function giving it (None when the angle does not need it or
    the worker failed: the churn section then fits it)."""
    from analytics.business.churn_analysis import ChurnSettings, churn_analysis
    from analytics.business.churn_angles import cutoff_summary

    try:
        analysis = churn_analysis(data, ChurnSettings())
        summary = cutoff_summary(data, analysis)
    except Exception:  # the churn section meets the same failure and says so
        return lambda: None
    if summary is None:
        return lambda: None
    # `purchase_model_view`: the clv fit's chosen model for a churn label derived from purchases
    model_name = None if data.has_transactions and analysis.source == "purchases" else "pareto_nbd"
    rows = pd.DataFrame({column: summary[column].to_numpy() for column in ("frequency", "recency", "T")})
    rows.attrs = dict(summary.attrs)
    job = worker.run(_p_alive_cutoff_on_worker, rows, model_name, release)
    ids = summary.index.astype(str)
    del summary, rows

    def result() -> pd.Series | None:
        try:
            return pd.Series(job.result(), index=ids, name="p_alive")
        except Exception:  # e.g. the fit fails: the churn section fits here and reports it as before
            return None

    return result


class _SegmentFits:
    """The value_by_segment section's per-segment fits on the worker, started once (`start`) and read
    by the section (`result`: None when they could not run there, and the section fits here)."""

    def __init__(self, start: Callable[[], Any]) -> None:
        self._start: Callable[[], Any] | None = start
        self._job: Any = None

    def start(self) -> None:
        if self._start is None:
            return
        start, self._start = self._start, None
        try:
            self._job = start()
        except Exception:  # no attribute to segment by, ...: the section says so itself
            self._job = None

    def result(self) -> dict | None:
        self.start()
        if self._job is None:
            return None
        try:
            return self._job.result()
        except Exception:  # e.g. the worker stopped: the section fits here
            return None


def build_report(
    data: CustomerData,
    settings: ReportSettings | None = None,
    sections: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> dict:
    """Run every section of the headless report on `data`.

    Never raises for a section that cannot run: that section is None and ``reasons[section]``
    says why in one sentence; the other sections still run.

    The purchase-model fit the sections share runs first (progress name ``purchase_model``). With
    two workers it runs on a second process (`analytics.engine.parallel`) while this one runs the
    sections that do not need it and the churn model (``churn_model``), then waits for it
    (``purchase_model_wait``): the report is the same, only sooner.

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset (`load_files` or `load_demo`).
    settings : ReportSettings, optional
        Time unit and calibration end (default weeks, last third held out).
    sections : dict of str to str, optional
        Section name -> "module:function" (default SECTIONS: kpis, clv, retention_sbg, churn,
        whatif, segments).
    progress : callable, optional
        Called with each section's name before it runs (for a progress line), and with the
        names of the shared fits above.
    workers : int, optional
        Processes to use: 1 runs everything in this process, 2 fits the purchase models on a
        second one (default: `report_workers`, 2 for large purchase logs on two cores or more).

    Returns
    -------
    dict
        JSON-ready: ``version``, ``settings``, ``data`` (the cleaning report), one key per
        section, and ``reasons``. The keys are a stable contract (README.md, "Report schema").
    """
    from analytics.engine.parallel import WorkerProcess, release_memory

    settings = settings or ReportSettings()
    sections = SECTIONS if sections is None else sections
    fit_needed = data.has_transactions and any(name in NEEDS_PURCHASE_FIT for name in sections)
    n_workers = report_workers(data, workers) if fit_needed else 1
    with WorkerProcess(n_workers, warm_imports=("analytics.reports.sections.clv",)) as worker:
        report: dict[str, Any] = {
            "version": REPORT_VERSION,
            "settings": settings_keys(settings),
            "data": data_section(data),
        }
        from analytics.reports.sections.data_kind import report_section as data_kind_section

        # business_kind, business_kind_reason, business_kind_detected, assumptions (added keys)
        report["data"].update(data_kind_section(data, settings.business_kind))
        calls: dict[str, Callable[[], dict]] = {
            name: partial(_load(target), data, settings) for name, target in sections.items()
        }
        results: dict[str, Any] = {}
        reasons: dict[str, str] = {}

        def run(name: str) -> None:
            if progress:
                progress(name)
            call = calls.pop(name)
            if name in NEEDS_DATES and not data.has_dates:
                results[name], reasons[name] = None, NO_DATES_REASON
                return
            try:
                results[name] = to_json_ready(call())
            except DataError as exc:
                results[name], reasons[name] = None, str(exc)
            except Exception as exc:  # a bug in one section must not take the others down
                results[name] = None
                reasons[name] = f"Internal error in the {name} section ({type(exc).__name__}: {exc})."
                logger.warning("warning: %s", reasons[name])
            if worker.active:  # both processes hold their working sets at once: give back what is freed
                release_memory()

        def run_early() -> None:
            """While the worker fits: the sections that do not need the fit, and the churn model."""
            if not worker.active:
                return
            for name in WHILE_FITTING:
                if name in calls:
                    run(name)
            if any(name in calls for name in ("churn", "voice", "actions")):
                from analytics.business.churn_analysis import ChurnSettings, churn_analysis

                if progress:
                    progress(CHURN_MODEL)
                # the sections' shared churn fit, kept for them (a failure: they meet it again and say so)
                with contextlib.suppress(Exception):
                    churn_analysis(data, ChurnSettings())
                release_memory()  # the churn fit's working set, before the worker's result arrives
            if progress:
                progress(WAIT_FOR_FIT)

        segment_fits: _SegmentFits | None = None
        if fit_needed:
            if progress:
                progress(PURCHASE_FIT)
            jobs = _fit_purchase_models(data, settings, worker, run_early, sections)
            fitted_clv = jobs.clv_section
            if fitted_clv is not None and sections.get("clv") == SECTIONS["clv"]:
                calls["clv"] = lambda: clv_section(data, settings, fitted=fitted_clv)
            # the worker fits the churn angle's P(alive) at the label's cutoff, then the per-segment
            # purchase models, while the other sections run here; those two sections come last
            if jobs.p_alive_cutoff is not None and "churn" in calls:
                at_cutoff = jobs.p_alive_cutoff
                calls.pop("churn")
                calls["churn"] = lambda: churn_section(data, settings, p_alive_cutoff=at_cutoff)
            if jobs.start_segments is not None and "value_by_segment" in calls:
                fits = segment_fits = _SegmentFits(jobs.start_segments)
                calls.pop("value_by_segment")
                calls["value_by_segment"] = lambda: value_by_segment_section(data, settings, fits.result)
        for name in list(calls):
            if segment_fits is not None and name not in BEFORE_SEGMENT_FITS:
                segment_fits.start()  # once this process's largest working sets are freed
            run(name)
    for name in sections:
        report[name] = results[name]
    report["reasons"] = {name: reasons[name] for name in sections if name in reasons}
    return to_json_ready(report)
