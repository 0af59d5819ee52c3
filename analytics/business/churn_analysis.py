"""The whole churn analysis on a `CustomerData`: label, features, model, drivers (`analyse_churn`).

Settings travel as the frozen `ChurnSettings`; bad settings raise `DataError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analytics.business.churn_drivers import Driver, describe_drivers
from analytics.business.churn_inputs import (
    TRANSACTION_FEATURES,
    DerivedLabel,
    FeatureSet,
    LabelChoice,
    derive_churn_label,
    detect_churn_label,
    prepare_features,
    transaction_features,
)
from analytics.data.schema import (
    CHURNED,
    CUSTOMER_ID,
    CUSTOMERS,
    CustomerData,
    DataError,
)
from analytics.engine.memo import LastResult
from analytics.models.churn import MODEL_NAMES, ChurnModel, calibration_table, gains_at, gains_curve

if TYPE_CHECKING:
    from analytics.engine.pushdown import PurchaseBehaviour

CAVEAT = (
    "These are associations in your data, not proof of cause: a driver can stand in for something "
    "else that moves with it. Test a change on a group of customers (with a control group) before "
    "counting on it."
)


LABEL_SOURCES: tuple[str, ...] = ("auto", "column", "purchases")


@dataclass(frozen=True)
class ChurnSettings:
    """Choices that change the churn results (built by the page from widgets).

    Attributes
    ----------
    label_source : str
        "auto" (a churn column if the customers table has one, else derived from purchases),
        "column" or "purchases".
    label_column, churn_value : str, optional
        Correct the detected churn column / the value meaning "left".
    horizon_days : int, optional
        For derived churn, the no-purchase window in days (None = twice the median gap between
        purchases, 90..365).
    cutoff : str, optional
        For derived churn, the first day of the window (None = observation end + 1 - horizon).
    model : str
        "auto", "logistic" or "gradient_boosting".
    n_splits : int, optional
        CV folds (None = 5, or 3 above 50,000 customers).
    random_state : int
        Seed for folds, boosting and permutation importance.
    max_permutation_rows : int
        Sample size for permutation importance.
    n_drivers : int
        How many plain-word drivers to return.

    Raises
    ------
    DataError
        For an unknown label source or model, or a horizon that is not a positive number of days.
    """

    label_source: str = "auto"
    label_column: str | None = None
    churn_value: str | None = None
    horizon_days: int | None = None
    cutoff: str | None = None
    model: str = "auto"
    n_splits: int | None = None
    random_state: int = 0
    max_permutation_rows: int = 5000
    n_drivers: int = 5

    def __post_init__(self) -> None:
        if self.label_source not in LABEL_SOURCES:
            raise DataError("label_source must be 'auto', 'column' or 'purchases'.")
        if self.model not in ("auto", *MODEL_NAMES):
            raise DataError(f"model must be 'auto' or one of {MODEL_NAMES}, not {self.model!r}.")
        if self.horizon_days is not None and not self.horizon_days > 0:
            raise DataError(f"The churn horizon must be a positive number of days, not {self.horizon_days!r}.")


@dataclass(frozen=True)
class ChurnAnalysis:
    """Everything the churn page and report show.

    Attributes
    ----------
    target : str
        The column or rule used as the outcome, in plain words.
    source : str
        "column" (a churn column of the customers table) or "purchases" (derived).
    features : FeatureSet
        The attributes the model learned from, with their display names.
    model : ChurnModel
        The fitted model (cross-validated metrics, out-of-fold risks, importances).
    y : pd.Series
        The label (1 = churned) of the labelled customers.
    scores : pd.DataFrame
        One row per customer: customer_id, churned (label; NA = unknown), oof_probability
        (out-of-fold, labelled customers), churn_probability (the risk to act on: out-of-fold for
        labelled customers of a customers table, the refit model otherwise; for derived churn, the
        refit model on features as of the end of the data), active (not churned yet).
    gains, calibration : pd.DataFrame
        `gains_curve` and `calibration_table` of the out-of-fold probabilities.
    drivers : list of Driver
        Plain-word drivers, strongest first.
    label, derived : LabelChoice or DerivedLabel, optional
        How the label was read (column) or derived (purchases).
    n_unlabelled : int
        Customers with unknown churn (column) or first seen after the cutoff (derived).
    caveat : str
        What the drivers do and do not mean (associations, not causes).
    """

    target: str
    source: str  # "column" or "purchases"
    features: FeatureSet
    model: ChurnModel
    y: pd.Series
    scores: pd.DataFrame
    gains: pd.DataFrame
    calibration: pd.DataFrame
    drivers: list[Driver]
    label: LabelChoice | None = None
    derived: DerivedLabel | None = None
    n_unlabelled: int = 0  # customers with unknown churn (column) / first seen after the cutoff
    caveat: str = CAVEAT

    @property
    def churn_rate(self) -> float:
        return float(self.y.mean())

    def lift_at(self, share: float) -> float:
        """Share of churners caught in the top `share` of customers by out-of-fold risk.

        Parameters
        ----------
        share : float
            Share of customers contacted, riskiest first (0..1).

        Returns
        -------
        float
            Share of all churners among them (0..1), among the customers with an out-of-fold score
        (all, or the cross-validation sample of derived churn on large data).
        """
        y, oof = _scored_out_of_fold(self.y, self.model)
        return gains_at(y, oof, share)


def _scored_out_of_fold(y: pd.Series, model: ChurnModel) -> tuple[np.ndarray, np.ndarray]:
    """Labels and out-of-fold probabilities of the customers that have one (NaN elsewhere)."""
    oof = model.oof_proba_.to_numpy()
    scored = np.isfinite(oof)
    if scored.all():
        return y.to_numpy(), oof
    return y.to_numpy()[scored], oof[scored]


def _display_names(data: CustomerData) -> dict[str, str]:
    names: dict[str, str] = {}
    for report in data.reports:
        if report.table == CUSTOMERS:
            names.update(report.columns)
    return names


def analyse_churn(data: CustomerData, settings: ChurnSettings = ChurnSettings()) -> ChurnAnalysis:
    """Label, features, model comparison, metrics, drivers and scores for one dataset.

    Parameters
    ----------
    data : CustomerData
        A customers table with a churn column, or a purchase log (churn is then derived: no
        purchase in a window at the end of the data).
    settings : ChurnSettings, optional
        Label, window and model choices (defaults: detect the label, compare both models).

    Returns
    -------
    ChurnAnalysis
        Everything the churn page and the report show.

    Raises
    ------
    DataError
        No usable label (no churn column and no purchases), too few churners, or no usable
        attributes.
    """
    if settings.label_source not in ("auto", "column", "purchases"):
        raise DataError("label_source must be 'auto', 'column' or 'purchases'.")
    label = None
    if settings.label_source != "purchases" and data.has_customers:
        try:
            label = detect_churn_label(data.require_customers(), settings.label_column, settings.churn_value)
        except DataError:
            if settings.label_source == "column" or not data.has_transactions:
                raise
    if label is None and not data.has_transactions:
        raise DataError("Churn needs a customers table with a churn column, or purchase data.")
    # a churn column: the out-of-fold scores are the risks acted on, so every customer gets one;
    # derived churn acts on the refit model's scores today, and out-of-fold scores only measure it
    model = _churn_model(settings, oof_outside_sample=label is not None)
    if label is not None:
        return _analyse_column(data, label, model, settings)
    return _analyse_purchases(data, model, settings)


def _churn_model(settings: ChurnSettings, oof_outside_sample: bool) -> ChurnModel:
    return ChurnModel(
        settings.model,
        settings.n_splits,
        settings.random_state,
        settings.max_permutation_rows,
        oof_outside_sample=oof_outside_sample,
    )


def _analyse_column(
    data: CustomerData, label: LabelChoice, model: ChurnModel, settings: ChurnSettings
) -> ChurnAnalysis:
    customers = data.require_customers().reset_index(drop=True)
    y_all = label.apply(customers)
    display = _display_names(data)
    exclude = (label.column, CHURNED)
    features = prepare_features(customers, label=y_all, exclude=exclude, display=display)
    known = y_all.notna().to_numpy()
    X = features.X[known]
    y = pd.Series(y_all[known].astype(bool).to_numpy(), index=X.index, name=CHURNED)
    model.fit(X, y)
    risk = pd.Series(np.nan, index=features.X.index)
    risk[known] = model.oof_proba_.to_numpy()
    if (~known).any():
        risk[~known] = model.predict_proba(features.X[~known])[:, 1]
    scores = pd.DataFrame(
        {
            CUSTOMER_ID: features.X.index.astype(str),
            CHURNED: y_all.to_numpy(),
            "oof_probability": np.where(known, risk.to_numpy(), np.nan),
            "churn_probability": risk.to_numpy(),
            "active": ~y_all.fillna(False).to_numpy(dtype=bool),
        }
    )
    shown = display.get(label.column, label.column)
    target = LabelChoice(shown, label.kind, label.churn_values, label.stay_values).description
    return _finish(
        target, "column", features, model, X, y, scores, settings, label=label, n_unlabelled=int((~known).sum())
    )


def _analyse_purchases(data: CustomerData, model: ChurnModel, settings: ChurnSettings) -> ChurnAnalysis:
    derived = derive_churn_label(
        data.require_transactions(), settings.cutoff, settings.horizon_days, data.observation_end
    )
    as_of = data.observation_end + pd.Timedelta(days=1)
    now = transaction_features(data.require_transactions(), as_of=as_of, window_days=derived.horizon_days)
    return _analyse_derived(derived, now, model, settings)


def analyse_churn_in_database(behaviour: PurchaseBehaviour, settings: ChurnSettings = ChurnSettings()) -> ChurnAnalysis:
    """`analyse_churn` for a purchase table left in its database: label and features came back per customer.

    Parameters
    ----------
    behaviour : PurchaseBehaviour
        From `analytics.engine.pushdown.summarise_behaviour` (its window and default cutoff).
    settings : ChurnSettings, optional
        Model choices; the window and cutoff are those the database was asked for.

    Returns
    -------
    ChurnAnalysis
        As `analyse_churn` on the same purchases in a file.
    """
    features = behaviour.features("cut")
    churned = behaviour.customers.loc[features.index, "churned"].astype(bool).rename(CHURNED)
    n_new = int((behaviour.customers["first_day"] >= behaviour.cutoff_day).sum())
    cutoff = pd.Timestamp(behaviour.cutoff_day, unit="D")
    derived = DerivedLabel(features, churned, cutoff, behaviour.horizon_days, n_new)
    model = _churn_model(settings, oof_outside_sample=False)
    return _analyse_derived(derived, behaviour.features("now"), model, settings)


def _analyse_derived(
    derived: DerivedLabel, now: pd.DataFrame, model: ChurnModel, settings: ChurnSettings
) -> ChurnAnalysis:
    """Fit, score and explain churn derived from purchases (features at the cutoff and now)."""
    X = derived.features
    display = {c: TRANSACTION_FEATURES.get(c, c) for c in X.columns}
    features = FeatureSet(X, tuple(X.columns), (), {}, (), display)
    y = pd.Series(derived.churned.to_numpy(), index=X.index, name=CHURNED)
    model.fit(X, y)
    now = now if list(now.columns) == list(X.columns) else now[list(X.columns)]
    oof = model.oof_proba_.reindex(now.index)
    scores = pd.DataFrame(
        {
            CUSTOMER_ID: now.index.astype(str),
            CHURNED: y.reindex(now.index).astype("boolean").to_numpy(),
            "oof_probability": oof.to_numpy(),
            "churn_probability": model.predict_proba(now)[:, 1],
            "active": True,
        }
    )
    return _finish(
        derived.description,
        "purchases",
        features,
        model,
        X,
        y,
        scores,
        settings,
        derived=derived,
        n_unlabelled=derived.n_new_after_cutoff,
    )


def _finish(
    target: str,
    source: str,
    features: FeatureSet,
    model: ChurnModel,
    X: pd.DataFrame,
    y: pd.Series,
    scores: pd.DataFrame,
    settings: ChurnSettings,
    **extra: Any,  # label / derived / n_unlabelled, as ChurnAnalysis takes them
) -> ChurnAnalysis:
    y_scored, oof = _scored_out_of_fold(y, model)
    drivers = describe_drivers(X, y, model.importances_, features.display, settings.n_drivers)
    return ChurnAnalysis(
        target=target,
        source=source,
        features=features,
        model=model,
        y=y,
        scores=scores,
        gains=gains_curve(y_scored, oof),
        calibration=calibration_table(y_scored, oof),
        drivers=drivers,
        **extra,
    )


_LAST_ANALYSIS: LastResult[ChurnAnalysis] = LastResult("churn analysis")
"""The last analysis, keyed on its dataset (held weakly, compared by identity) and settings."""


def churn_analysis(data: CustomerData, settings: ChurnSettings = ChurnSettings()) -> ChurnAnalysis:
    """`analyse_churn` computed once per dataset and settings: the report's churn, voice and actions
    sections share one fit, as the app's pages share theirs.

    One entry is kept (`analytics.engine.memo.LastResult`), keyed on the dataset itself, so a new
    dataset (even one reusing a freed object's id) is never served another's analysis.

    Parameters
    ----------
    data : CustomerData
        The dataset.
    settings : ChurnSettings, optional
        Label, window and model choices.

    Returns
    -------
    ChurnAnalysis
        The analysis (`analyse_churn`).

    Raises
    ------
    DataError
        As `analyse_churn`.
    """
    return _LAST_ANALYSIS.get_or_compute(data, (_size(data), settings), lambda: analyse_churn(data, settings))


def _size(data: CustomerData) -> tuple[int, int]:
    """Purchases and customers in the dataset (part of the memo's key: a frame changed in place is refit)."""
    return (
        len(data.transactions) if data.transactions is not None else -1,
        len(data.customers) if data.customers is not None else -1,
    )
