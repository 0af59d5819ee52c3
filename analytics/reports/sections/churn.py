"""The `churn` section of the headless report."""

from __future__ import annotations

from analytics.business.churn_analysis import ChurnAnalysis, ChurnSettings, analyse_churn
from analytics.data.schema import (
    CustomerData,
)
from analytics.jsonready import json_number


def report_section(data: CustomerData, settings: ChurnSettings | None = None) -> dict:
    """The `churn` section of the headless report (JSON-serialisable; keys are a stable contract).

    Keys: target (column or rule used, plain words), n (customers modelled), churn_rate (0..1),
    auc, pr_auc, brier (cross-validated, means over folds), cv_sample_size (customers
    cross-validated: all, or a stratified sample on large data), auc_standard_error (sampling
    error of the AUC on them, Hanley & McNeil 1982), evaluation_sample_size (customers with an
    out-of-fold score, which lift, gains and calibration are measured on: all, or for churn derived
    from purchases on large data the cross-validation sample), refit_sample_size (customers the
    scoring model was refitted on: all, or a stratified sample on large data), model ('logistic' |
    'gradient_boosting'), top_drivers (plain-word sentences), lift_top_10 / lift_top_20 /
    lift_top_30 (share of churners among the top 10/20/30% by risk, 0..1), dropped_columns
    ({column: reason}), customers_not_modelled (churn status unknown, or for churn derived from
    purchases: first purchase after the cutoff), caveat.

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    settings : ChurnSettings, optional
        Label and model choices (defaults when None).

    Returns
    -------
    dict
        The section (keys as listed above; a stable contract).

    Raises
    ------
    DataError
        When the data cannot support this section (the report shows the reason instead).
    """
    return section_from_analysis(analyse_churn(data, ChurnSettings() if settings is None else settings))


def section_from_analysis(analysis: ChurnAnalysis) -> dict:
    """The report dict of `report_section` from an analysis already computed (e.g. cached).

    Parameters
    ----------
    analysis : ChurnAnalysis
        `analyse_churn` output.

    Returns
    -------
    dict
        The `churn` section.
    """
    metrics = analysis.model.metrics_
    return {
        "target": analysis.target,
        "n": int(len(analysis.y)),
        "churn_rate": json_number(analysis.churn_rate),
        "auc": json_number(metrics["auc"]),
        "pr_auc": json_number(metrics["pr_auc"]),
        "brier": json_number(metrics["brier"]),
        "cv_sample_size": int(metrics.get("cv_rows", len(analysis.y))),
        "auc_standard_error": json_number(metrics.get("auc_se")),
        "evaluation_sample_size": int(getattr(analysis.model, "oof_rows_", len(analysis.y))),
        "refit_sample_size": int(getattr(analysis.model, "refit_rows_", len(analysis.y))),
        "model": analysis.model.model_name_,
        "top_drivers": [d.sentence for d in analysis.drivers],
        "lift_top_10": json_number(analysis.lift_at(0.1)),
        "lift_top_20": json_number(analysis.lift_at(0.2)),
        "lift_top_30": json_number(analysis.lift_at(0.3)),
        "dropped_columns": {
            analysis.features.display.get(c, str(c)): reason for c, reason in analysis.features.dropped.items()
        },
        "customers_not_modelled": analysis.n_unlabelled,
        "caveat": analysis.caveat,
    }
