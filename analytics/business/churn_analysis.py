"""The whole churn analysis on a `CustomerData`: label, features, model, drivers (`analyse_churn`).

Settings travel as the frozen `ChurnSettings`; bad settings raise `DataError`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
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


def _scored_out_of_fold(y: pd.Series | np.ndarray, model: ChurnModel) -> tuple[np.ndarray, np.ndarray]:
    """Labels and out-of-fold probabilities of the customers that have one (NaN elsewhere)."""
    oof = model.oof_proba_.to_numpy()
    labels = np.asarray(y)
    scored = np.isfinite(oof)
    if scored.all():
        return labels, oof
    return labels[scored], oof[scored]


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
    inputs = churn_inputs(data, settings)
    return assemble_churn(inputs, fit_churn_rows(*churn_fit_arguments(inputs, settings)))


def _churn_model(settings: ChurnSettings, oof_outside_sample: bool) -> ChurnModel:
    return ChurnModel(
        settings.model,
        settings.n_splits,
        settings.random_state,
        settings.max_permutation_rows,
        oof_outside_sample=oof_outside_sample,
    )


@dataclass(frozen=True)
class ChurnInputs:
    """One dataset's churn label and model inputs, before any fit (`churn_inputs`).

    Attributes
    ----------
    target, source : str
        As `ChurnAnalysis`.
    features : FeatureSet
        The attributes (index customer_id): every customer of a customers table, or for churn
        derived from purchases the customers with history before the cutoff.
    X : pd.DataFrame
        The labelled customers' rows of `features.X` (the model learns from them).
    y : pd.Series
        Their label (1 = churned), index as `X`.
    to_score : pd.DataFrame or None
        Customers scored by the refit model (index customer_id): the unlabelled ones of a
        customers table, or every customer's features as of the end of the data (derived churn).
    oof_outside_sample : bool
        `ChurnModel`'s setting: True when the out-of-fold scores are the risks acted on (a column).
    labels : pd.Series or None
        A churn column's label of every customer (NA = unknown); None for derived churn.
    extra : dict
        label / derived / n_unlabelled, as `ChurnAnalysis` takes them.
    """

    target: str
    source: str
    features: FeatureSet
    X: pd.DataFrame
    y: pd.Series
    to_score: pd.DataFrame | None
    oof_outside_sample: bool
    labels: pd.Series | None
    extra: dict[str, Any]


@dataclass(frozen=True)
class ChurnFit:
    """What `fit_churn_rows` learned, by position (no customer ids): all that comes back from a worker process.

    Attributes
    ----------
    model : ChurnModel
        Fitted; its `oof_proba_` has a positional index (row i of the rows it was fitted on).
    scored : np.ndarray or None
        P(churn) of each row to score, by the refit model.
    drivers : list of Driver
        Plain-word drivers, strongest first.
    gains, calibration : pd.DataFrame
        Of the out-of-fold probabilities.
    """

    model: ChurnModel
    scored: np.ndarray | None
    drivers: list[Driver]
    gains: pd.DataFrame
    calibration: pd.DataFrame


def churn_inputs(data: CustomerData, settings: ChurnSettings = ChurnSettings()) -> ChurnInputs:
    """The label and the model's inputs of `analyse_churn` (all the work on the data before the fit).

    Parameters
    ----------
    data : CustomerData
        As `analyse_churn`.
    settings : ChurnSettings, optional
        Label, window and model choices.

    Returns
    -------
    ChurnInputs
        For `churn_fit_arguments` / `fit_churn_rows` and `assemble_churn`.

    Raises
    ------
    DataError
        As `analyse_churn`.
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
    if label is not None:
        return _column_inputs(data, label)
    derived = derive_churn_label(
        data.require_transactions(), settings.cutoff, settings.horizon_days, data.observation_end
    )
    as_of = data.observation_end + pd.Timedelta(days=1)
    now = transaction_features(data.require_transactions(), as_of=as_of, window_days=derived.horizon_days)
    return _derived_inputs(derived, now)


def _column_inputs(data: CustomerData, label: LabelChoice) -> ChurnInputs:
    customers = data.require_customers().reset_index(drop=True)
    y_all = label.apply(customers)
    display = _display_names(data)
    exclude = (label.column, CHURNED)
    features = prepare_features(customers, label=y_all, exclude=exclude, display=display)
    known = y_all.notna().to_numpy()
    X = features.X[known]
    y = pd.Series(y_all[known].astype(bool).to_numpy(), index=X.index, name=CHURNED)
    shown = display.get(label.column, label.column)
    target = LabelChoice(shown, label.kind, label.churn_values, label.stay_values).description
    to_score = features.X[~known] if (~known).any() else None
    # a churn column: the out-of-fold scores are the risks acted on, so every customer gets one
    extra = {"label": label, "n_unlabelled": int((~known).sum())}
    return ChurnInputs(target, "column", features, X, y, to_score, True, y_all, extra)


def _derived_inputs(derived: DerivedLabel, now: pd.DataFrame) -> ChurnInputs:
    X = derived.features
    display = {c: TRANSACTION_FEATURES.get(c, c) for c in X.columns}
    features = FeatureSet(X, tuple(X.columns), (), {}, (), display)
    y = pd.Series(derived.churned.to_numpy(), index=X.index, name=CHURNED)
    now = now if list(now.columns) == list(X.columns) else now[list(X.columns)]
    # derived churn acts on the refit model's scores today, and out-of-fold scores only measure it
    extra = {"derived": derived, "n_unlabelled": derived.n_new_after_cutoff}
    return ChurnInputs(derived.description, "purchases", features, X, y, now, False, None, extra)


def _by_position(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its rows numbered instead of named (its columns shared, not copied)."""
    numbered = pd.DataFrame(frame, copy=False)
    numbered.index = pd.RangeIndex(len(frame))
    return numbered


def churn_fit_arguments(inputs: ChurnInputs, settings: ChurnSettings) -> tuple:
    """The arguments of `fit_churn_rows` for `inputs`: the rows by position, no customer id (what travels
    to a worker process: the attributes, the labels and the settings).

    Parameters
    ----------
    inputs : ChurnInputs
        From `churn_inputs`.
    settings : ChurnSettings
        Model choices.

    Returns
    -------
    tuple
        X, y, to_score, settings, oof_outside_sample, display (the rows share `inputs`' columns).
    """
    to_score = None if inputs.to_score is None else _by_position(inputs.to_score)
    y = inputs.y.to_numpy(dtype=bool)
    return (_by_position(inputs.X), y, to_score, settings, inputs.oof_outside_sample, inputs.features.display)


def fit_churn_rows(
    X: pd.DataFrame,
    y: np.ndarray,
    to_score: pd.DataFrame | None,
    settings: ChurnSettings,
    oof_outside_sample: bool,
    display: dict[str, str],
) -> ChurnFit:
    """The churn model's fit, scores, drivers, gains and calibration on rows by position.

    `analyse_churn` runs it here; the app runs it on its worker process for a large purchase log
    (`ui.models.churn_analysis`), with the same arguments (`churn_fit_arguments`), so the results are the same.

    Parameters
    ----------
    X : pd.DataFrame
        The labelled customers' attributes.
    y : np.ndarray
        True for churners, aligned with `X`.
    to_score : pd.DataFrame or None
        Rows to score with the refit model.
    settings : ChurnSettings
        Model choices.
    oof_outside_sample : bool
        As `ChurnModel`.
    display : dict of str to str
        Column -> name to show (for the drivers).

    Returns
    -------
    ChurnFit
        By position.

    Raises
    ------
    DataError
        Too few churners or stayers, or no usable attributes (`ChurnModel.fit`).
    """
    model = _churn_model(settings, oof_outside_sample).fit(X, y)
    scored = None if to_score is None else model.predict_proba(to_score)[:, 1]
    y_scored, oof = _scored_out_of_fold(y, model)
    drivers = describe_drivers(X, y, model.importances_, display, settings.n_drivers)
    return ChurnFit(model, scored, drivers, gains_curve(y_scored, oof), calibration_table(y_scored, oof))


def assemble_churn(inputs: ChurnInputs, fit: ChurnFit) -> ChurnAnalysis:
    """The `ChurnAnalysis` of `inputs` from their fit (`fit_churn_rows`): the customers' ids put back.

    Parameters
    ----------
    inputs : ChurnInputs
        From `churn_inputs`.
    fit : ChurnFit
        `fit_churn_rows(*churn_fit_arguments(inputs, settings))`, here or on a worker process.

    Returns
    -------
    ChurnAnalysis
        As `analyse_churn`.
    """
    model = fit.model
    model.oof_proba_.index = inputs.X.index  # its customers' ids, as a fit on them names them
    oof = model.oof_proba_.to_numpy()
    if inputs.labels is not None:  # a churn column: every customer, the unlabelled scored by the refit
        known = inputs.labels.notna().to_numpy()
        risk = np.full(len(known), np.nan)
        risk[known] = oof
        if fit.scored is not None:
            risk[~known] = fit.scored
        scores = pd.DataFrame(
            {
                CUSTOMER_ID: inputs.features.X.index.astype(str),
                CHURNED: inputs.labels.to_numpy(),
                "oof_probability": np.where(known, risk, np.nan),
                "churn_probability": risk,
                "active": ~inputs.labels.fillna(False).to_numpy(dtype=bool),
            }
        )
    else:  # derived: every customer scored on today's features by the refit model
        now = inputs.to_score
        if now is None:
            raise ValueError("Derived churn scores the customers' features as of today.")
        scores = pd.DataFrame(
            {
                CUSTOMER_ID: now.index.astype(str),
                CHURNED: inputs.y.reindex(now.index).astype("boolean").to_numpy(),
                "oof_probability": model.oof_proba_.reindex(now.index).to_numpy(),
                "churn_probability": fit.scored,
                "active": True,
            }
        )
    return ChurnAnalysis(
        target=inputs.target,
        source=inputs.source,
        features=inputs.features,
        model=model,
        y=inputs.y,
        scores=scores,
        gains=fit.gains,
        calibration=fit.calibration,
        drivers=fit.drivers,
        **inputs.extra,
    )


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
    inputs = _derived_inputs(derived, behaviour.features("now"))
    return assemble_churn(inputs, fit_churn_rows(*churn_fit_arguments(inputs, settings)))


def analysis_without_feature_table(analysis: ChurnAnalysis) -> ChurnAnalysis:
    """`analysis` as the app's session cache keeps it: for churn derived from purchases without the
    feature table at the cutoff (`features.X` and `derived.features` keep their columns, no rows;
    `feature_table` rebuilds it from the purchases for the one view that reads it), and without the
    customers' ids on the label and the out-of-fold scores (`y` and `model.oof_proba_` by position:
    the pages read their length, mean and values, never their ids; `scores` keeps every customer's id).

    Every figure is unchanged (same scores, metrics, drivers, importances, gains and report section).
    A churn column's analysis keeps its customers' attributes (the campaign list, the angles and the
    retention curves read them, and they are not rebuilt from purchases).

    Parameters
    ----------
    analysis : ChurnAnalysis
        From `analyse_churn`.

    Returns
    -------
    ChurnAnalysis
        A lighter copy (`analysis` itself is not changed).
    """
    model = copy.copy(analysis.model)
    model.oof_proba_ = pd.Series(analysis.model.oof_proba_.to_numpy(), name=analysis.model.oof_proba_.name)
    y = pd.Series(analysis.y.to_numpy(), name=analysis.y.name)
    light = replace(analysis, model=model, y=y)
    derived = analysis.derived
    if derived is None:
        return light
    no_rows = derived.features.iloc[:0]
    return replace(
        light,
        features=replace(analysis.features, X=no_rows),
        derived=replace(derived, features=no_rows, churned=derived.churned.iloc[:0]),
    )


def feature_table(analysis: ChurnAnalysis, data: CustomerData) -> pd.DataFrame:
    """The model's attributes per customer (`analysis.features.X`), rebuilt from `data`'s purchases
    when `analysis_without_feature_table` left them out (the same table `derive_churn_label` built).

    Parameters
    ----------
    analysis : ChurnAnalysis
        The analysis, whole or without its feature table.
    data : CustomerData
        The dataset it was computed on.

    Returns
    -------
    pd.DataFrame
        One row per modelled customer (index customer_id), the model's columns.

    Raises
    ------
    DataError
        When the rows were left out and `data` has no purchase log to rebuild them from.
    """
    X = analysis.features.X
    derived = analysis.derived
    if derived is None or len(X) == len(analysis.y):
        return X
    rebuilt = transaction_features(
        data.require_transactions("The churn model's attributes"),
        as_of=derived.cutoff,
        window_days=derived.horizon_days,
    )
    return rebuilt if list(rebuilt.columns) == list(X.columns) else rebuilt[list(X.columns)]


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
