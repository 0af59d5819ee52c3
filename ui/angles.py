"""Churn from three angles on the app's shared fits (the churn model and the lifetime-value model), cached per dataset."""

from __future__ import annotations

import contextlib

import pandas as pd

from analytics.business.churn_analysis import ChurnAnalysis, ChurnSettings
from analytics.business.churn_angles import (
    ANGLE_LABELS,
    ChurnAngles,
    churn_angles,
    cutoff_summary,
    fitted_p_alive,
)
from analytics.data.schema import CUSTOMER_ID, CustomerData, DataError
from analytics.models.clv import ClvSettings
from ui import models
from ui import segments as us
from ui import worker as app_worker
from ui.cache import per_dataset
from ui.downloads import TableHead

#: What the page says while the angles are computed in the background.
LABEL = "Scoring customers from every angle (first time only; fits the churn and lifetime-value models)"


@per_dataset(max_entries=8, label=LABEL)
def _angles(data: CustomerData, churn: ChurnSettings, clv: ClvSettings) -> ChurnAngles:
    try:
        analysis = models.churn_analysis(data, churn)
    except DataError:
        analysis = None
    p_alive, model = None, "pareto_nbd"
    if data.has_transactions and (analysis is None or analysis.source == "purchases"):
        try:
            fitted = models.clv_analysis(data, clv)
            p_alive, model = fitted.customers["p_alive"].rename(index=str), fitted.selected
        except DataError:
            pass
    at_cutoff = p_alive_cutoff_on_worker(data, analysis, model)
    return churn_angles(data, analysis, p_alive_now=p_alive, purchase_model=model, p_alive_cutoff=at_cutoff)


def p_alive_cutoff_on_worker(data: CustomerData, analysis: ChurnAnalysis | None, model: str) -> pd.Series | None:
    """The purchase-model angle's P(alive) at the churn label's cutoff, fitted on the worker process
    for a large purchase log (`ui.worker`), as the report's worker fits it; None otherwise (or when
    the angle reads none, or the fit fails): `churn_angles` then fits it here, the same way
    (`fitted_p_alive` of `cutoff_summary`), and explains a failure in its own words."""
    worker = app_worker.for_data(data)
    summary = None if worker is None else cutoff_summary(data, analysis)
    if worker is None or summary is None:
        return None
    rows = pd.DataFrame({column: summary[column].to_numpy() for column in ("frequency", "recency", "T")})
    rows.attrs = dict(summary.attrs)
    ids = summary.index.astype(str)
    del summary
    try:
        values = app_worker.result_of(worker, fitted_p_alive, rows, model, fallback=lambda: fitted_p_alive(rows, model))
    except DataError:  # churn_angles refits here and says, among the other angles, why this one is missing
        return None
    return pd.Series(values, index=ids, name="p_alive")


def angles(data: CustomerData) -> ChurnAngles:
    """The angles with this session's churn and lifetime-value settings (raises DataError)."""
    return _angles(data, models.churn_settings(), models.clv_settings())


FLAGGED_SHOWN = 200  # rows of the flagged-by-every-angle list the page draws (the download holds all)


def short_label(name: str) -> str:
    """An angle's label without its parenthesis ("Churn model")."""
    return ANGLE_LABELS[name].split(" (")[0]


def flagged(data: CustomerData) -> TableHead:
    """The customers every angle flags, with each angle's risk and (where known) their value, most
    valuable first, at this session's settings (raises DataError): the page draws the first
    `FLAGGED_SHOWN` (built once per dataset and settings, not on every run) and writes them all when
    the download is clicked (`flagged_rows`)."""
    return _flagged(data, models.churn_settings(), models.clv_settings())


@per_dataset(max_entries=2)
def _flagged(data: CustomerData, churn: ChurnSettings, clv: ClvSettings) -> TableHead:
    """`flagged` at the settings of its key: the first rows of `flagged_rows` and their number. The
    rows themselves are taken again from the cached angles and scores when clicked: cached packed,
    they were a second copy of them (1.0 MiB at 300,000 customers, for the whole session)."""
    return TableHead.of(flagged_rows(data, churn, clv), FLAGGED_SHOWN)


def flagged_rows(data: CustomerData, churn: ChurnSettings, clv: ClvSettings) -> pd.DataFrame:
    """Every customer every angle flags at these settings, from the cached angles and scores: columns
    Customer, '<angle> risk' per angle, Value (most valuable first)."""
    result = _angles(data, churn, clv)
    scores = None
    with contextlib.suppress(DataError):  # no value per customer: the list is shown without it
        scores = us.customer_scores(data, clv, churn).frame
    table = pd.DataFrame(index=result.all_flag)
    for name in result.angles:
        table[f"{short_label(name)} risk"] = result.angles[name].risk.reindex(result.all_flag)
    if scores is not None:
        table["Value"] = scores["value"].reindex(result.all_flag)
        table = table.sort_values("Value", ascending=False)
    return table.reset_index(names=CUSTOMER_ID).rename(columns={CUSTOMER_ID: "Customer"})


def start_angles(data: CustomerData) -> tuple | None:
    """Start the angles in the background (`ui.background`): their job key, None once cached.

    On a purchase log the purchase model is refitted at the churn label's cutoff, minutes for a
    Pareto/NBD on a large upload: the page shows what it is doing meanwhile instead of blocking."""
    return _angles.start(data, models.churn_settings(), models.clv_settings())  # type: ignore[attr-defined]


def prefetch_angles(data: CustomerData) -> None:
    """Start the angles for when the page opens (`ui.prefetch`): they run after the fits they read."""
    _angles.prefetch(data, models.churn_settings(), models.clv_settings())  # type: ignore[attr-defined]
