"""Churn classifiers: how well we can tell in advance which customers will leave.

`ChurnModel` compares a regularised logistic regression with histogram gradient boosting by
stratified cross-validation and keeps the better one by ROC AUC (fit -> self; what was learned ends
in `_`). The metrics (`gains_at`, `gains_curve`, `calibration_table`, `classification_metrics`) are
pure functions of labels and scores.

The label and the features come from `analytics.business.churn_inputs`, plain-word drivers from
`analytics.business.churn_drivers`, and `analytics.business.churn_analysis.analyse_churn` runs the
whole chain on a `CustomerData`; `analytics.reports.sections.churn` gives the report section.

Units: probabilities are shares in 0..1.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from threadpoolctl import threadpool_limits

from analytics.data.schema import (
    DataError,
)
from analytics.models.sampling import CV_SAMPLE_ROWS, REFIT_SAMPLE_ROWS, auc_standard_error, stratified_sample

MODEL_NAMES = ("logistic", "gradient_boosting")


MIN_PER_CLASS = 10  # fewer churners (or stayers) than this and cross-validation is meaningless


LARGE_DATA = 50_000  # above this many labelled customers, 3 CV folds instead of 5


MIN_IMPORTANCE = 0.001  # drop in ROC AUC below which a column is not called a driver


def _order_by_risk(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Labels sorted from highest to lowest score (ties keep their input order)."""
    return np.asarray(y, dtype=float)[np.argsort(-np.asarray(p, dtype=float), kind="stable")]


def gains_at(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series, share: float) -> float:
    """Share of all churners found among the top `share` of customers by risk.

    The top group is the first ceil(share * n) customers when sorted by descending score
    (cumulative gains, e.g. Ling & Li 1998, "Data mining for direct marketing").

    Parameters
    ----------
    y : np.ndarray or pd.Series
        1 (or True) for customers who churned.
    p : np.ndarray or pd.Series
        Predicted churn probability per customer (0..1).
    share : float
        Share of customers contacted (0..1).

    Returns
    -------
    float
        Share of churners caught (0..1).
    """
    ordered = _order_by_risk(np.asarray(y), np.asarray(p))
    if ordered.sum() == 0:
        raise DataError("There are no churners, so no share of them can be caught.")
    k = int(math.ceil(share * len(ordered) - 1e-9))
    return float(ordered[:k].sum() / ordered.sum())


def gains_curve(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series, points: int = 100) -> pd.DataFrame:
    """Cumulative gains at 0, 1/points, ..., 1 of customers targeted.

    Parameters
    ----------
    y : np.ndarray or pd.Series
        1 (or True) for customers who churned.
    p : np.ndarray or pd.Series
        Predicted churn probability per customer (0..1).
    points : int, default 100
        Steps of the curve.

    Returns
    -------
    pd.DataFrame
        share_targeted (0..1), share_caught (share of churners in that top group), lift
        (share_caught / share_targeted; NaN at 0), random (= share_targeted, the baseline).
    """
    ordered = _order_by_risk(np.asarray(y), np.asarray(p))
    if ordered.sum() == 0:
        raise DataError("There are no churners, so no share of them can be caught.")
    shares = np.arange(points + 1) / points
    found = np.concatenate([[0.0], np.cumsum(ordered)])
    k = np.ceil(shares * len(ordered) - 1e-9).astype(int)  # same top groups as `gains_at`
    out = pd.DataFrame({"share_targeted": shares, "share_caught": found[k] / ordered.sum()})
    out["lift"] = out["share_caught"] / out["share_targeted"].where(out["share_targeted"] > 0)
    out["random"] = out["share_targeted"]
    return out


def calibration_table(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series, n_bins: int = 10) -> pd.DataFrame:
    """Predicted vs observed churn in groups of equal size by predicted risk.

    Parameters
    ----------
    y : np.ndarray or pd.Series
        1 (or True) for customers who churned.
    p : np.ndarray or pd.Series
        Predicted churn probability per customer (0..1).
    n_bins : int, default 10
        Number of groups.

    Returns
    -------
    pd.DataFrame
        mean_predicted, observed_rate (both 0..1), customers; one row per group, lowest risk
        first. A well-calibrated model has observed_rate close to mean_predicted.
    """
    frame = pd.DataFrame({"y": np.asarray(y, dtype=float), "p": np.asarray(p, dtype=float)})
    bins = min(n_bins, frame["p"].nunique())
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), q=bins, labels=False)
    out = frame.groupby("bin").agg(mean_predicted=("p", "mean"), observed_rate=("y", "mean"), customers=("y", "size"))
    return out.reset_index(drop=True)


def classification_metrics(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision) and Brier score (mean squared error of p, 0..1).

    Parameters
    ----------
    y : np.ndarray or pd.Series
        1 (or True) for customers who churned.
    p : np.ndarray or pd.Series
        Predicted churn probability per customer (0..1).

    Returns
    -------
    dict of str to float
        auc, pr_auc, brier.
    """
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    return {
        "auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
    }


def _min_frequency(n: int) -> int:
    """Categories rarer than this many customers are pooled into one 'other' level."""
    return int(max(10, 0.005 * n))


def make_pipeline(
    name: str, numeric: tuple[str, ...], categorical: tuple[str, ...], n: int, random_state: int = 0
) -> Pipeline:
    """The scikit-learn pipeline for one model on raw FeatureSet columns.

    "logistic": median imputation with missing indicators + standardisation for numbers, one-hot
    with rare levels pooled for text, L2-regularised logistic regression (C = 1).
    "gradient_boosting": HistGradientBoostingClassifier with native handling of blanks and
    categories (rare levels pooled), early stopping on a 10% validation split.

    Parameters
    ----------
    name : {'logistic', 'gradient_boosting'}
        The model.
    numeric, categorical : tuple of str
        The FeatureSet's columns of each kind.
    n : int
        Rows it will be fitted on (sets the rare-level threshold).
    random_state : int
        Seed.

    Returns
    -------
    Pipeline
        Unfitted.
    """
    min_freq = _min_frequency(n)
    parts = []
    if name == "logistic":
        if numeric:
            num = Pipeline(
                [
                    ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                    ("scale", StandardScaler()),
                ]
            )
            parts.append(("num", num, list(numeric)))
        if categorical:
            onehot = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=min_freq, sparse_output=False)
            parts.append(("cat", onehot, list(categorical)))
        model = LogisticRegression(C=1.0, max_iter=2000)
        return Pipeline([("prepare", ColumnTransformer(parts)), ("model", model)])
    if name != "gradient_boosting":
        raise DataError(f"Unknown model '{name}'; use one of {MODEL_NAMES}.")
    if categorical:
        ordinal = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            min_frequency=min_freq,
            max_categories=200,
        )
        parts.append(("cat", ordinal, list(categorical)))
    if numeric:
        parts.append(("num", "passthrough", list(numeric)))
    model = HistGradientBoostingClassifier(
        learning_rate=0.06,
        max_iter=400,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        categorical_features=list(range(len(categorical))) or None,
        random_state=random_state,
    )
    return Pipeline([("prepare", ColumnTransformer(parts)), ("model", model)])


def permutation_auc_drops(
    fitted: Pipeline, X: pd.DataFrame, y: np.ndarray, n_repeats: int, random_state: int
) -> np.ndarray:
    """Drop in ROC AUC when each column is shuffled, `n_repeats` times per column.

    The same shuffles and scores as scikit-learn's `permutation_importance(fitted, X, y,
    scoring="roc_auc", n_repeats=n_repeats, random_state=random_state)` (Breiman 2001; its
    `importances`), with a column's shuffled copies scored in one call of the model instead of
    one call each (every call walks every boosting tree: the calls, not the rows, were the cost).

    Parameters
    ----------
    fitted : Pipeline
        A fitted classifier with `decision_function`.
    X : pd.DataFrame
        Held-out customers.
    y : np.ndarray
        1 for churners, aligned with `X`.
    n_repeats : int
        Shuffles per column (each shuffles the previous one again, as scikit-learn does).
    random_state : int
        Seed.

    Returns
    -------
    np.ndarray
        Shape (columns, n_repeats): baseline AUC minus the AUC with the column shuffled.
    """
    seed = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max + 1)
    trees = _BinnedTrees.of(fitted, X)
    baseline = roc_auc_score(y, fitted.decision_function(X) if trees is None else trees.raw())
    n = len(X)
    drops = np.empty((X.shape[1], n_repeats))
    for j, column in enumerate(X.columns):
        shuffler = np.random.RandomState(seed)  # every column starts from the same seed
        order = np.arange(n)
        if trees is not None:
            rows, taken = [], np.arange(n)
            for _ in range(n_repeats):
                shuffler.shuffle(order)
                taken = taken[order]  # each shuffle shuffles the previous one again
                rows.append(taken)
            scores = trees.raw(trees.columns[column], np.concatenate(rows))
        else:
            values = X[column].to_numpy()
            copies = []
            for _ in range(n_repeats):
                shuffler.shuffle(order)
                values = values[order]
                copy = X.copy()
                copy[column] = values
                copies.append(copy)
            scores = fitted.decision_function(pd.concat(copies, ignore_index=True))
        drops[j] = [baseline - roc_auc_score(y, scores[r * n : (r + 1) * n]) for r in range(n_repeats)]
    return drops


class _BinnedTrees:
    """A fitted gradient boosting pipeline's raw scores (`decision_function`) of some rows and of
    copies of them with one column shuffled, from the model's binned rows, bit for bit.

    Each tree's value of every row is computed once; a shuffled copy goes only through the trees
    that split on the shuffled column (the others give it the values already computed), and the
    values are added tree after tree to the baseline as scikit-learn's `_raw_predict` adds them (the
    same sums in the same order). Binned rows read by `predict_binned`, as `_score_binned`; or, when
    the model allows it, every copy's leaves found by `_LeafMasks` (the same values; 8 columns x 5
    shuffles of 5,000 rows at 2M customers: 0.8 -> 0.6 CPU s, the rest is the AUCs).
    """

    def __init__(self, model: HistGradientBoostingClassifier, binned: np.ndarray, columns: dict[str, int]) -> None:
        self.model = model
        self.binned = binned
        self.columns = columns
        self.trees = [tree for trees in model._predictors for tree in trees]
        self.splits_on = [set(tree.nodes["feature_idx"][tree.nodes["is_leaf"] == 0].tolist()) for tree in self.trees]
        self.masks = _LeafMasks.of(model)
        walk = self.masks is None and self.trees
        self.values = np.stack([self._predict(tree, binned) for tree in self.trees]) if walk else None

    @classmethod
    def of(cls, fitted: Pipeline, X: pd.DataFrame) -> _BinnedTrees | None:
        """For a `make_pipeline` boosting pipeline on numbers only (its columns passed through as they
        are), else None (scored through the pipeline)."""
        model = fitted[-1]
        prepare = fitted[0] if len(fitted) == 2 else None
        if (
            not isinstance(model, HistGradientBoostingClassifier)
            or getattr(model, "is_categorical_", None) is not None
            or model.n_trees_per_iteration_ != 1
            or not isinstance(prepare, ColumnTransformer)
        ):
            return None
        if prepare.remainder != "drop" or any(spec[1] != "passthrough" for spec in prepare.transformers):
            return None
        passed = [str(c) for spec in prepare.transformers for c in spec[2]]  # the columns as passed through
        try:
            prepared = np.asarray(prepare.transform(X), dtype=np.float64)
            binned = np.ascontiguousarray(model._bin_mapper.transform(prepared))
            if prepared.shape[1] != len(passed) or not hasattr(model._predictors[0][0], "predict_binned"):
                return None
        except (AttributeError, IndexError, TypeError, ValueError):  # another scikit-learn layout
            return None
        positions = {name: j for j, name in enumerate(passed)}
        if set(positions) != {str(c) for c in X.columns}:
            return None
        return cls(model, binned, {c: positions[str(c)] for c in X.columns})

    def _predict(self, tree: object, rows: np.ndarray) -> np.ndarray:
        missing = self.model._bin_mapper.missing_values_bin_idx_
        return tree.predict_binned(rows, missing_values_bin_idx=missing, n_threads=_openmp_effective_n_threads())  # type: ignore[attr-defined]

    def raw(self, column: int | None = None, rows: np.ndarray | None = None) -> np.ndarray:
        """Raw scores of the rows, or (with `column` and `rows`) of copies of them whose `column` is
        taken from `rows` (a concatenation of row orders, one per copy)."""
        n = self.binned.shape[0]
        copies = 1 if rows is None else len(rows) // n
        shuffled = None
        if column is not None and rows is not None:
            shuffled = np.tile(self.binned, (copies, 1))
            shuffled[:, column] = self.binned[rows, column]
        raw = np.zeros(n * copies, dtype=self.model._baseline_prediction.dtype)
        raw += self.model._baseline_prediction.ravel()[0]
        if self.masks is not None:  # every tree's leaf by table look-ups: the same values, added in order
            self.masks.add_leaf_values(self.binned if shuffled is None else shuffled, raw)
            return raw
        for t, tree in enumerate(self.trees):
            if shuffled is not None and column in self.splits_on[t]:
                raw += self._predict(tree, shuffled)
            else:
                raw += self.values[t] if copies == 1 else np.tile(self.values[t], copies)  # type: ignore[index]
        return raw


SCORING_CHUNK_ROWS = 200_000
"""Rows prepared or scored per call of a pipeline (bounds the copies scikit-learn makes of them)."""


def _split_points(model: object) -> list[np.ndarray] | None:
    """Per input column of a fitted gradient boosting model, the sorted thresholds its trees compare it to.

    None for another model, or one with categorical splits (its rows are not grouped: see
    `score_distinct`). Read from the fitted trees' node arrays (scikit-learn's
    `_predictors[i][k].nodes`: `feature_idx`, `num_threshold`, `is_leaf`).
    """
    if not isinstance(model, HistGradientBoostingClassifier) or getattr(model, "is_categorical_", None) is not None:
        return None
    try:
        nodes = np.concatenate([tree.nodes for trees in model._predictors for tree in trees])
        split = nodes["is_leaf"] == 0
        feature, threshold = nodes["feature_idx"][split], nodes["num_threshold"][split]
    except (AttributeError, KeyError, ValueError):  # another scikit-learn layout: score every row
        return None
    return [np.unique(threshold[feature == j]) for j in range(int(model.n_features_in_))]


def tree_groups(codes: np.ndarray, widths: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Group rows whose codes agree in every column: (first row of each group, group of each row).

    Parameters
    ----------
    codes : np.ndarray
        Shape (rows, columns): integer codes, column j in 0..widths[j]-1.
    widths : list of int
        Number of possible codes per column.

    Returns
    -------
    tuple of np.ndarray
        Index of one row per group, and each row's group (positions in the first array).
    """
    key = np.zeros(len(codes), dtype=np.int64)
    size = 1
    for j, width in enumerate(widths):
        if size * width >= 2**62:  # renumber the groups so far before the key overflows
            _, key = np.unique(key, return_inverse=True)
            size = int(key.max()) + 1 if len(key) else 1
        key = key * width + codes[:, j]
        size *= width
    # np.unique(key, return_index=True, return_inverse=True)'s first rows and groups (numbered in
    # key order, so neighbouring groups take the same branches when scored), from one hash pass and
    # a sort of the distinct keys only: half its time at 2M rows (it sorts every row's key)
    codes, distinct = pd.factorize(key, sort=False)
    first = np.empty(len(distinct), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(key) - 1, -1, -1)  # the last write sticks: each group's first row
    order = np.argsort(distinct, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return first[order], rank[codes]


def score_distinct(pipeline: Pipeline, X: pd.DataFrame) -> np.ndarray:
    """`pipeline.predict_proba(X)`, the same values, each group of rows its trees cannot tell apart scored once.

    A gradient boosting tree sends a row left when a column is at most the split's threshold (a
    blank its own way): two rows on the same side of every threshold of every tree get the same
    score. Rows are grouped by, per column, how many of the model's thresholds lie below the value,
    and one row per group goes through the trees (at 2,000,000 customers, 1,119,497 groups; the
    thresholds are few where spend makes almost every raw row distinct). The trees walk the
    model's own binned copy of those rows (`_score_binned`: bytes instead of floats, the path
    scikit-learn takes on its training rows; the same comparisons), in the order of the groups
    (neighbours take the same branches). Any other model (or boosting with categorical splits)
    scores every row. Prepared and binned `SCORING_CHUNK_ROWS` rows at a time.

    Parameters
    ----------
    pipeline : Pipeline
        A fitted `make_pipeline` pipeline.
    X : pd.DataFrame
        The rows to score, with the columns the pipeline was fitted on.

    Returns
    -------
    np.ndarray
        Shape (rows, 2): [P(stay), P(churn)], exactly as `pipeline.predict_proba(X)`.
    """
    model = pipeline[-1]
    points = _split_points(model)
    tables = None if points is None else _bin_side_codes(model, points)
    if points is None or tables is None or len(X) == 0:
        return _in_chunks(pipeline, X)
    passed = _passed_through(pipeline)
    binned = np.empty((len(X), len(tables)), dtype=np.uint8)
    codes = np.empty((len(X), len(tables)), dtype=np.int32)
    for start in range(0, len(X), SCORING_CHUNK_ROWS):
        prepared = _prepared(pipeline, X, passed, slice(start, start + SCORING_CHUNK_ROWS))
        if prepared.shape[1] != len(tables):
            return _in_chunks(pipeline, X)
        rows = slice(start, start + len(prepared))
        binned[rows] = model._bin_mapper.transform(prepared)
        for j, table in enumerate(tables):
            codes[rows, j] = table[binned[rows, j]]
    first, group = tree_groups(codes, [len(column_points) + 2 for column_points in points])
    del codes
    return _score_binned(model, binned[first])[group]


def _passed_through(pipeline: Pipeline) -> list[str] | None:
    """The columns a `make_pipeline` pipeline hands its model as they are (all-passthrough preparation,
    numbers only), in the model's order; None when its preparation changes them."""
    prepare = pipeline[0] if len(pipeline) == 2 else None
    if not isinstance(prepare, ColumnTransformer) or prepare.remainder != "drop":
        return None
    if any(spec[1] != "passthrough" for spec in prepare.transformers):
        return None
    return [c for spec in prepare.transformers for c in spec[2]]


def _prepared(pipeline: Pipeline, X: pd.DataFrame, passed: list[str] | None, rows: slice) -> np.ndarray:
    """`pipeline[:-1].transform(X.iloc[rows])` as float64: for columns passed through as they are, the
    columns' values read directly (the same numbers, without the transformer's frame copies)."""
    if passed is not None and all(X[c].dtype == np.float64 for c in passed):
        return np.column_stack([X[c].to_numpy()[rows] for c in passed])
    return np.asarray(pipeline[:-1].transform(X.iloc[rows]), dtype=np.float64)


def _bin_side_codes(model: HistGradientBoostingClassifier, points: list[np.ndarray]) -> list[np.ndarray] | None:
    """Per column, a lookup table from each of the model's bins to the row's code for `tree_groups`.

    A value's code is how many of the column's split points lie below it (x <= points[k] iff
    code <= k); a blank has a code of its own (the trees send blanks their own way). The model's
    binning puts a value x in bin b when thresholds[b - 1] < x <= thresholds[b] (b = the number of
    thresholds for a value above every one; a blank in the last bin). The split points are some of
    those thresholds (and +inf for a split on blanks), so every value of bin b has as many split
    points below it as thresholds[b] has (+inf for the bin above every threshold). None when the
    fitted model's binning cannot be read (another scikit-learn layout).
    """
    try:
        thresholds = model._bin_mapper.bin_thresholds_
        missing = int(model._bin_mapper.missing_values_bin_idx_)
    except AttributeError:
        return None
    if len(thresholds) != len(points):
        return None
    tables = []
    for column_thresholds, column_points in zip(thresholds, points):
        upper = np.r_[np.asarray(column_thresholds, dtype=np.float64), np.inf]  # each bin's largest value
        if len(upper) > missing:
            return None
        table = np.zeros(missing + 1, dtype=np.int32)
        table[: len(upper)] = np.searchsorted(column_points, upper, side="left")
        table[missing] = len(column_points) + 1
        tables.append(table)
    return tables


def _score_binned(model: HistGradientBoostingClassifier, binned: np.ndarray) -> np.ndarray:
    """`model.predict_proba` of rows already binned by the model: the same sums in the same order.

    scikit-learn's `_raw_predict` adds each tree's leaf value to the baseline, tree after tree,
    reading the raw value (`value <= num_threshold`) where this reads its bin (`bin <=
    bin_threshold`): the two agree on every row because the thresholds are the bins' edges (its
    own fit scores its binned training rows the same way). Each row's leaf in every tree comes
    from `_LeafMasks` when the trees allow it, else from walking each tree (`predict_binned`).
    """
    rows = np.ascontiguousarray(binned)
    raw = np.zeros((len(rows), model.n_trees_per_iteration_), dtype=model._baseline_prediction.dtype, order="F")
    raw += model._baseline_prediction
    masks = _LeafMasks.of(model)
    if masks is not None:
        masks.add_leaf_values(rows, raw[:, 0])
        return model._loss.predict_proba(raw)
    missing = model._bin_mapper.missing_values_bin_idx_
    threads = _openmp_effective_n_threads()
    for trees in model._predictors:
        for k, tree in enumerate(trees):
            raw[:, k] += tree.predict_binned(rows, missing_values_bin_idx=missing, n_threads=threads)
    return model._loss.predict_proba(raw)


_LEAF_OF_BIT = np.zeros(1 << 16, dtype=np.uint16)
_LEAF_OF_BIT[1 << np.arange(16)] = np.arange(16)
"""Position of the one bit set in a 16-bit mask (the leaf a row reaches, among a tree's leaves)."""


class _LeafMasks:
    """The leaf every binned row reaches in every tree of a binary boosting model, by table look-ups
    instead of walking the trees (the bitvector idea of QuickScorer, Lucchese et al. 2015, SIGIR).

    A split on column f sends a row left or right by the row's bin of f alone (its bin at most the
    split's bin threshold, or the blank bin by the split's blank direction, as `predict_binned`
    reads it), which rules out the leaves of the other side. Per column, per bin, per tree, the
    leaves not ruled out by any of the tree's splits on that column form a mask (16 bits: at most
    16 leaves); a row's masks of its bins, ANDed over the columns, leave one bit: the leaf on its
    path (every other leaf lies on the side not taken of a split on that path). Its value is added
    tree after tree in the model's order, the sums `predict_binned` gives (bit for bit): 2.5x
    faster than walking the trees row by row, whose branches a processor cannot predict (at
    2,000,000 customers, 1,119,497 groups of rows x 120 trees: 2.6 -> 1.0 CPU s).
    """

    CHUNK_ROWS = 4096  # rows looked up at a time: their masks (trees x rows x 2 bytes) stay in cache

    def __init__(self, masks: np.ndarray, values: np.ndarray) -> None:
        self.masks = masks  # (columns, bins, trees) uint16: leaves each column's bin leaves possible
        self.values = values  # (trees, 16): each tree's leaf values by bit

    @classmethod
    def of(cls, model: HistGradientBoostingClassifier) -> _LeafMasks | None:
        """The tables of a fitted binary model with numeric splits only and at most 16 leaves per
        tree (`make_pipeline`'s trees have 15); None for any other model or scikit-learn layout."""
        try:
            trees = [tree for iteration in model._predictors for tree in iteration]
            missing = int(model._bin_mapper.missing_values_bin_idx_)
            nodes_of = [tree.nodes for tree in trees]
            if model.n_trees_per_iteration_ != 1 or not 0 < len(trees) <= 4096:
                return None
            if any(nodes["is_categorical"].any() or nodes["is_leaf"].sum() > 16 for nodes in nodes_of):
                return None
            n_columns = int(model.n_features_in_)
            masks = np.empty((n_columns, missing + 1, len(trees)), dtype=np.uint16)
            values = np.zeros((len(trees), 16))
            bins = np.arange(missing + 1)
            for t, nodes in enumerate(nodes_of):
                leaves = np.flatnonzero(nodes["is_leaf"])
                below = np.zeros(len(nodes), dtype=np.int64)  # the leaves under each node, as bits
                below[leaves] = 1 << np.arange(len(leaves))
                values[t, : len(leaves)] = nodes["value"][leaves]
                masks[:, :, t] = (1 << len(leaves)) - 1
                for n in _children_first(nodes):
                    if nodes["is_leaf"][n]:
                        continue
                    left, right = int(nodes["left"][n]), int(nodes["right"][n])
                    below[n] = below[left] | below[right]
                    goes_left = np.where(
                        bins == missing, bool(nodes["missing_go_to_left"][n]), bins <= int(nodes["bin_threshold"][n])
                    )
                    kept = np.where(goes_left, ~below[right], ~below[left]) & 0xFFFF
                    masks[int(nodes["feature_idx"][n]), :, t] &= kept.astype(np.uint16)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):  # another scikit-learn layout
            return None
        return cls(masks, values)

    def add_leaf_values(self, binned: np.ndarray, raw: np.ndarray) -> None:
        """Add to `raw` (one per row, in place) each tree's leaf value of each row of `binned`
        (rows x columns of bins), tree after tree."""
        n_trees = self.values.shape[0]
        flat = self.values.ravel()
        offsets = (np.arange(n_trees) * 16).astype(np.uint16)
        by_column = np.ascontiguousarray(binned.T)
        for start in range(0, len(binned), self.CHUNK_ROWS):
            rows = slice(start, start + self.CHUNK_ROWS)
            leaf = self.masks[0][by_column[0, rows]]  # (rows, trees)
            for column in range(1, self.masks.shape[0]):
                np.bitwise_and(leaf, self.masks[column][by_column[column, rows]], out=leaf)
            position = _LEAF_OF_BIT[leaf]
            position += offsets
            leaf_values = flat[position].T.copy()  # (trees, rows)
            total = raw[rows]
            for tree_values in leaf_values:
                total += tree_values


def _children_first(nodes: np.ndarray) -> list[int]:
    """A tree's node indices, every node after all the nodes below it."""
    order, stack = [], [0]
    while stack:
        n = stack.pop()
        order.append(n)
        if not nodes["is_leaf"][n]:
            stack += [int(nodes["left"][n]), int(nodes["right"][n])]
    return order[::-1]


def _in_chunks(pipeline: Pipeline, X: pd.DataFrame) -> np.ndarray:
    """`pipeline.predict_proba(X)`, `SCORING_CHUNK_ROWS` rows at a time (same values)."""
    if len(X) <= SCORING_CHUNK_ROWS:
        return pipeline.predict_proba(X)
    return np.concatenate(
        [
            pipeline.predict_proba(X.iloc[start : start + SCORING_CHUNK_ROWS])
            for start in range(0, len(X), SCORING_CHUNK_ROWS)
        ]
    )


class ChurnModel:
    """Compare logistic regression and gradient boosting by stratified CV; keep the better.

    Parameters
    ----------
    model : "auto" (compare both, pick the higher mean CV ROC AUC), "logistic" or
        "gradient_boosting".
    n_splits : CV folds; None = 5, or 3 above 50,000 labelled customers.
    random_state : seeds the folds, the boosting validation split and permutation importance.
    max_permutation_rows : permutation importance is computed on at most this many held-out rows.
    n_repeats : shuffles per column for permutation importance.
    oof_outside_sample : when the CV ran on a sample, also score the rows outside it with the first
        fold's model (True, for callers that act on the out-of-fold scores); False leaves them NaN
        and the out-of-fold scores are the sample's own (enough to measure the model: lift, gains,
        calibration; one pass of every boosting tree over millions of rows saved).

    Attributes (after fit)
    ----------------------
    model_name_ : the chosen model.
    cv_results_ : DataFrame, one row per model compared: auc, auc_std, pr_auc, brier (means over
        folds, on held-out folds).
    metrics_ : dict for the chosen model: auc, auc_std, pr_auc, brier, n_splits, cv_rows
        (customers cross-validated: all, or a stratified sample of `cv_sample_rows` above it),
        auc_se (standard error of the AUC on those rows, Hanley & McNeil 1982).
    skipped_ : dict model -> why its cross-validation stopped after the first fold (on a sample
        only: its first-fold AUC trailed the leader's by more than 4 standard errors of the gap).
    oof_proba_ : Series of out-of-fold churn probability (0..1) per customer (index of X); rows
        outside the CV sample get the first fold model's prediction (it never saw them), or NaN
        with `oof_outside_sample=False`; oof_rows_ says how many have one.
    pipeline_ : the chosen pipeline refit on all rows, or on a stratified sample of
        `refit_sample_rows` above it (for scoring current customers); refit_rows_ says how many.
    importances_ : DataFrame feature, importance (mean drop in held-out ROC AUC when the column
        is shuffled), importance_std — largest first.
    """

    def __init__(
        self,
        model: str = "auto",
        n_splits: int | None = None,
        random_state: int = 0,
        max_permutation_rows: int = 5000,
        n_repeats: int = 5,
        cv_sample_rows: int = CV_SAMPLE_ROWS,
        refit_sample_rows: int = REFIT_SAMPLE_ROWS,
        oof_outside_sample: bool = True,
    ) -> None:
        self.model = model
        self.n_splits = n_splits
        self.random_state = random_state
        self.max_permutation_rows = max_permutation_rows
        self.n_repeats = n_repeats
        self.cv_sample_rows = cv_sample_rows
        self.refit_sample_rows = refit_sample_rows
        self.oof_outside_sample = oof_outside_sample

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> ChurnModel:
        """Cross-validate, choose, compute importances, refit on everything.

        Parameters
        ----------
        X : pd.DataFrame
            One row per labelled customer, numeric and categorical attributes.
        y : pd.Series or np.ndarray
            1 (or True) for customers who churned.

        Returns
        -------
        ChurnModel
            self, fitted (`model_name_`, `cv_results_`, `metrics_`, `oof_proba_`, `importances_`).
        """
        # One OpenMP thread: gradient boosting's thread pool slows down 3-4x (measured: 100,000
        # rows, 3.5 s on one thread vs 11-15 s on two) whenever other processes share the cores,
        # as they do on a server; on an idle machine two threads would gain well under 2x.
        with threadpool_limits(limits=1):
            return self._fit(X, y)

    def _fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> ChurnModel:
        if self.model not in ("auto",) + MODEL_NAMES:
            raise DataError(f"model must be 'auto' or one of {MODEL_NAMES}, not {self.model!r}.")
        if X.shape[1] == 0:
            raise DataError("No usable customer attributes are left to learn churn from.")
        # (`.to_numpy()`: np.asarray of a Series asks it for attributes, which hashes its millions of ids)
        y_arr = np.asarray(pd.Series(y).astype(bool).to_numpy(), dtype=int)
        if len(y_arr) != len(X):
            raise ValueError("X and y have different lengths.")
        n_churn = int(y_arr.sum())
        n_stay = len(y_arr) - n_churn
        if min(n_churn, n_stay) < MIN_PER_CLASS:
            raise DataError(
                f"Too few {'churned' if n_churn < n_stay else 'staying'} customers "
                f"({min(n_churn, n_stay)}) to learn from; at least {MIN_PER_CLASS} of each are needed."
            )
        numeric = tuple(c for c in X.columns if X[c].dtype != object)
        categorical = tuple(c for c in X.columns if X[c].dtype == object)
        n_splits = self.n_splits or (3 if len(X) > LARGE_DATA else 5)
        # Large data: compare the models on a stratified sample (the AUC's standard error there is
        # ~0.003, far below what decides between them); every customer still gets an out-of-fold
        # probability (rows outside the sample from the first fold's model, which never saw them).
        sample = stratified_sample(y_arr, self.cv_sample_rows, self.random_state)
        sampled = len(sample) < len(X)
        X_cv, y_cv = (X.iloc[sample], y_arr[sample]) if sampled else (X, y_arr)
        n_churn_cv = int(y_cv.sum())
        n_splits = max(2, min(n_splits, n_churn_cv, len(y_cv) - n_churn_cv))
        folds = list(StratifiedKFold(n_splits, shuffle=True, random_state=self.random_state).split(X_cv, y_cv))
        names = MODEL_NAMES if self.model == "auto" else (self.model,)
        rows, oof_by, held_out, fold_models = [], {}, {}, {}
        first_fold_auc: dict[str, float] = {}
        skipped: dict[str, str] = {}
        for name in names:
            template = make_pipeline(name, numeric, categorical, len(X_cv), self.random_state)
            oof = np.zeros(len(X_cv))
            per_fold = []
            fitted_folds = []
            for i, (train, test) in enumerate(folds):
                fitted = clone(template).fit(X_cv.iloc[train], y_cv[train])
                oof[test] = fitted.predict_proba(X_cv.iloc[test])[:, 1]
                per_fold.append(classification_metrics(y_cv[test], oof[test]))
                fitted_folds.append(fitted)
                if i == 0:
                    held_out[name] = (fitted, test)
                    first_fold_auc[name] = per_fold[0]["auc"]
                    leader = max(first_fold_auc, key=first_fold_auc.__getitem__)
                    gap = first_fold_auc[leader] - per_fold[0]["auc"]
                    n_pos = int(y_cv[test].sum())
                    se = auc_standard_error(per_fold[0]["auc"], n_pos, len(test) - n_pos)
                    if sampled and name != leader and gap > 4 * math.sqrt(2) * se:
                        skipped[name] = f"first-fold AUC {per_fold[0]['auc']:.3f} vs {first_fold_auc[leader]:.3f}"
                        break
            fold_frame = pd.DataFrame(per_fold)
            rows.append(
                {
                    "model": name,
                    "auc": fold_frame["auc"].mean(),
                    "auc_std": fold_frame["auc"].std(ddof=1) if len(fold_frame) > 1 else math.nan,
                    "pr_auc": fold_frame["pr_auc"].mean(),
                    "brier": fold_frame["brier"].mean(),
                }
            )
            oof_by[name] = oof
            fold_models[name] = fitted_folds
        self.cv_results_ = pd.DataFrame(rows)
        self.skipped_ = skipped
        ranked = self.cv_results_[~self.cv_results_["model"].isin(list(skipped))]
        best = ranked.sort_values("auc", ascending=False, kind="stable").iloc[0]
        self.model_name_ = str(best["model"])
        self.metrics_ = {k: float(best[k]) for k in ("auc", "auc_std", "pr_auc", "brier")}
        self.metrics_["n_splits"] = n_splits
        self.metrics_["cv_rows"] = len(X_cv)
        self.metrics_["auc_se"] = auc_standard_error(self.metrics_["auc"], n_churn_cv, len(y_cv) - n_churn_cv)
        oof_all = np.empty(len(X))
        if sampled and not self.oof_outside_sample:
            oof_all.fill(np.nan)
            oof_all[sample] = oof_by[self.model_name_]
        elif sampled:
            outside = np.ones(len(X), dtype=bool)
            outside[sample] = False
            X_out = X.iloc[np.flatnonzero(outside)]
            # the first fold's model (it never saw these rows): one prediction pass instead of one
            # per fold, the largest cost of the churn model at millions of customers (3 x 1.94M rows
            # through every boosting tree at 2M customers) for no information the gains curve needs
            oof_all[outside] = score_distinct(fold_models[self.model_name_][0], X_out)[:, 1]
            oof_all[sample] = oof_by[self.model_name_]
        else:
            oof_all = oof_by[self.model_name_]
        self.oof_proba_ = pd.Series(oof_all, index=X.index, name="churn_probability")
        self.oof_rows_ = int(np.isfinite(oof_all).sum())
        self.importances_ = self._importances(X_cv, y_cv, *held_out[self.model_name_])
        refit = stratified_sample(y_arr, self.refit_sample_rows, self.random_state)
        self.refit_rows_ = len(refit)
        self.pipeline_ = make_pipeline(self.model_name_, numeric, categorical, len(refit), self.random_state)
        if len(refit) < len(X):
            self.pipeline_.fit(X.iloc[refit], y_arr[refit])
        else:
            self.pipeline_.fit(X, y_arr)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_customers_ = len(X)
        return self

    def _importances(self, X: pd.DataFrame, y: np.ndarray, fitted: Pipeline, test: np.ndarray) -> pd.DataFrame:
        rng = np.random.default_rng(self.random_state)
        rows = (
            test
            if len(test) <= self.max_permutation_rows
            else rng.choice(test, self.max_permutation_rows, replace=False)
        )
        if len(np.unique(y[rows])) < 2:
            rows = test
        drops = permutation_auc_drops(fitted, X.iloc[rows], y[rows], self.n_repeats, self.random_state)
        out = pd.DataFrame(
            {
                "feature": list(X.columns),
                "importance": drops.mean(axis=1),
                "importance_std": drops.std(axis=1),
            }
        )
        return out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Churn probabilities from the model refit on all customers (`score_distinct`: each group of
        customers its trees cannot tell apart scored once, the same values).

        Parameters
        ----------
        X : pd.DataFrame
            Customers with the attributes used in `fit`.

        Returns
        -------
        np.ndarray
            Columns [P(stay), P(churn)] for each row.
        """
        if not hasattr(self, "pipeline_"):
            raise ValueError("Call fit() first.")
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise DataError(f"Columns the model was trained on are missing: {', '.join(missing)}.")
        columns = list(self.feature_names_in_)
        with threadpool_limits(limits=1):  # as in `fit`: one OpenMP thread on shared cores
            return score_distinct(self.pipeline_, X if list(X.columns) == columns else X[columns])
