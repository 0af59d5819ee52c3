"""Per-customer results with their customer ids held as integer codes into the dataset's one id array.

A cached analysis (the app keeps each pickled in `st.cache_data`) lists its customers by id: an
index, a column, a Series named `customer_id`. Each pickle holds the ids' text and each unpickled
copy makes a new Python string per customer (300,000 strings, ~17 MiB per copy at 300,000
customers), although the dataset already holds every one of them once. `compact_ids` replaces those
ids by their positions (int32) in the dataset's ids before a result is stored; `expand_ids` takes
them back from the same array, so a restored result points at the dataset's own string objects and
makes no new ones. The round trip gives back an equal result: same values, order, dtypes and names.

Where the ids come from (`DatasetIds`): the purchases' customer-day table
(`analytics.engine.customer_days.CustomerDays.customer_ids`), and the customers table's
`customer_id` column (a customers-only dataset, or ids a customers table has and the purchases
don't). Only text ids (object dtype) are coded: integer or Arrow-backed ids make no Python strings.
Results are walked through dataclasses, this library's own classes, dicts, lists and tuples. Anything
else passes unchanged: other libraries' objects (scikit-learn models, Altair charts and the frames
inside them), numbers, ids that are not all in the dataset, a MultiIndex.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd

from analytics.data.schema import CUSTOMER_ID, CustomerData
from analytics.engine.customer_days import CustomerDays, customer_days
from analytics.engine.id_positions import customer_codes


@dataclasses.dataclass(frozen=True)
class IdSource:
    """One array of distinct customer ids results may point into.

    Attributes
    ----------
    ids : pd.Index
        Distinct customer ids (object dtype).
    table : CustomerDays or None
        The customer-day table `ids` comes from (its orders give codes without hashing the ids).
    fingerprint : str
        A digest of `ids` (every id, in order): codes are read only against the ids they were made with.
    """

    ids: pd.Index
    table: CustomerDays | None = None
    fingerprint: str = ""


@dataclasses.dataclass(frozen=True)
class CodedIds:
    """Customer ids held as positions (int32) in one of the dataset's id arrays (`DatasetIds`).

    Attributes
    ----------
    codes : np.ndarray
        Position of each id in the source's ids (int32).
    source : int
        Which of the dataset's id arrays (`DatasetIds.sources`).
    name : Hashable
        The index's name.
    fingerprint : str
        The source's `IdSource.fingerprint` when the codes were made.
    """

    codes: np.ndarray
    source: int  # which of the dataset's id arrays
    name: Hashable = None
    fingerprint: str = ""


class StaleIdsError(LookupError):
    """Codes made against other ids than the dataset's now (the same data key read again after its
    data changed, e.g. a database table): the result must be computed again, not read with these ids."""


@dataclasses.dataclass(frozen=True)
class CodedSeries:
    """A Series whose index and/or values were customer ids, held with a RangeIndex and/or codes.

    Attributes
    ----------
    series : pd.Series
        The Series with a RangeIndex where its index was ids, int32 codes where its values were.
    index, values : CodedIds or None
        The index's and the values' ids (None where they were not coded).
    """

    series: pd.Series
    index: CodedIds | None
    values: CodedIds | None


@dataclasses.dataclass(frozen=True)
class CodedFrame:
    """A DataFrame whose index and/or `customer_id` column were ids, held with a RangeIndex / codes.

    Attributes
    ----------
    frame : pd.DataFrame
        The frame with a RangeIndex where its index was ids, int32 codes in a coded `customer_id`.
    index, column : CodedIds or None
        The index's and the `customer_id` column's ids (None where they were not coded).
    """

    frame: pd.DataFrame
    index: CodedIds | None
    column: CodedIds | None


class DatasetIds:
    """The dataset's arrays of distinct text customer ids, in the order `compact_ids` tries them,
    found on first use (a result without ids never builds the customer-day table).

    The purchases' customer ids (customer-day table) come first, then the customers table's id
    column; only ids held as Python strings (object dtype).

    Parameters
    ----------
    data : CustomerData
        The dataset results are computed from.
    """

    def __init__(self, data: CustomerData) -> None:
        self._data = data
        self._sources: tuple[IdSource, ...] | None = None

    @property
    def sources(self) -> tuple[IdSource, ...]:
        """The id arrays (built on first use, once per dataset object)."""
        if self._sources is None:
            self._sources = _sources_of(self._data)
        return self._sources


#: The id arrays found per dataset object (`id(data)`), dropped when the dataset is: a page run asks for
#: them once per cached result, and their fingerprints hash every id (0.05-0.1 s at 1M customers).
_SOURCES: dict[int, tuple[weakref.ref, tuple[IdSource, ...]]] = {}
_SOURCES_LOCK = threading.Lock()


def _sources_of(data: CustomerData) -> tuple[IdSource, ...]:
    with _SOURCES_LOCK:
        known = _SOURCES.get(id(data))
        if known is not None and known[0]() is data:
            return known[1]
    sources: list[IdSource] = []
    if data.transactions is not None and CUSTOMER_ID in data.transactions.columns:
        table = customer_days(data.transactions)
        if table.customer_ids.dtype == object:
            sources.append(IdSource(table.customer_ids, table, _fingerprint(table.customer_ids)))
    if data.customers is not None and CUSTOMER_ID in data.customers.columns:
        column = data.customers[CUSTOMER_ID]
        if column.dtype == object and column.is_unique:  # (unique after cleaning; checked, cheap)
            ids = pd.Index(column.to_numpy(), name=CUSTOMER_ID, copy=False)
            sources.append(IdSource(ids, None, _fingerprint(ids)))
    found = tuple(sources)
    key = id(data)
    with _SOURCES_LOCK:
        _SOURCES[key] = (weakref.ref(data, lambda _ref: _SOURCES.pop(key, None)), found)
    return found


def _fingerprint(ids: pd.Index) -> str:
    """A digest of every id in order (blake2b of the ids joined by a unit separator)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(str(len(ids)).encode())
    digest.update("\x1f".join(map(str, ids.to_numpy())).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def compact_ids(result: Any, ids: DatasetIds) -> Any:
    """`result` with its customer ids replaced by codes into the dataset's ids (see `expand_ids`).

    Walks dataclasses, this library's other classes (their attributes), dicts, lists and tuples
    (named ones too); codes the index of a DataFrame or
    Series, a DataFrame's `customer_id` column and a Series named `customer_id`, when each is text
    whose every id is in one source. Containers with nothing to code are returned as they are;
    the others are shallow copies: `result` itself is never modified.

    Parameters
    ----------
    result : Any
        A cached function's result.
    ids : DatasetIds
        The dataset's ids.

    Returns
    -------
    Any
        `result`, or a copy holding `CodedIds` where it held ids.
    """
    memo: dict[int, tuple[pd.Index, CodedIds | None]] = {}  # one index shared by several frames: coded once
    return _walk(result, lambda value: _compact_one(value, ids, memo))


def expand_ids(result: Any, ids: DatasetIds) -> Any:
    """The inverse of `compact_ids`: ids taken back from the dataset's, the same string objects.

    Parameters
    ----------
    result : Any
        A result from `compact_ids` (or an unpickled copy of one).
    ids : DatasetIds
        The same dataset's ids (an equal dataset: the ids in the same order).

    Returns
    -------
    Any
        The result as it was before `compact_ids`.

    Raises
    ------
    StaleIdsError
        When the codes were made against other ids (the data under the same key changed).
    """
    memo: dict[int, tuple[CodedIds, pd.Index]] = {}  # an index shared before is shared again
    return _walk(result, lambda value: _expand_one(value, ids, memo))


def _walk(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """`value` with `leaf` applied to every frame, Series and coded object inside it (new containers
    only where something changed)."""
    done = leaf(value)
    if done is not value:
        return done
    if isinstance(value, dict):
        items = {key: _walk(item, leaf) for key, item in value.items()}
        if all(items[key] is value[key] for key in value):
            return value
        out = copy.copy(value)  # keeps a dict subclass and its attributes
        out.update(items)
        return out
    if isinstance(value, (list, tuple)):
        walked = [_walk(item, leaf) for item in value]
        if all(new is old for new, old in zip(walked, value, strict=True)):
            return value
        if isinstance(value, list):
            return type(value)(walked)
        if hasattr(value, "_fields"):  # a named tuple
            return type(value)(*walked)
        return type(value)(walked)
    if isinstance(value, type):
        return value
    if dataclasses.is_dataclass(value) or _ours(value):
        names = [f.name for f in dataclasses.fields(value)] if dataclasses.is_dataclass(value) else list(vars(value))
        changed = {}
        for name in names:
            old = getattr(value, name, None)
            new = _walk(old, leaf)
            if new is not old:
                changed[name] = new
        if not changed:
            return value
        replaced = copy.copy(value)  # not dataclasses.replace: no __init__ / __post_init__ run again
        for name, new in changed.items():
            object.__setattr__(replaced, name, new)
        return replaced
    return value


def _ours(value: Any) -> bool:
    """An instance of one of this library's classes with plain attributes (an estimator fitted by
    `fit -> self`, e.g. the personas' k-means with its labels per customer)."""
    return type(value).__module__.startswith("analytics.") and hasattr(value, "__dict__")


def _codes(
    values: pd.Index, ids: DatasetIds, memo: dict[int, tuple[pd.Index, CodedIds | None]] | None
) -> CodedIds | None:
    """`values` as codes into the first source holding every one of them, else None (the same
    `CodedIds` for the same index object when `memo` is given)."""
    if values.dtype != object or isinstance(values, pd.MultiIndex) or not len(values):
        return None
    if memo is not None:
        if id(values) not in memo:
            memo[id(values)] = (values, _codes(values, ids, None))  # holds the index: its id stays unique
        return memo[id(values)][1]
    for number, source in enumerate(ids.sources):
        codes = None if source.table is None else customer_codes(source.table, values)
        if codes is None:
            # a throwaway index: the hash table of the ids (~12 MiB at 300,000) is not kept on the
            # customer-day table's index for as long as the dataset lives
            codes = pd.Index(source.ids.to_numpy(), copy=False).get_indexer(values)
            if len(codes) and codes.min() < 0:
                continue
        return CodedIds(codes.astype(np.int32), number, values.name, source.fingerprint)
    return None


def _compact_one(value: Any, ids: DatasetIds, memo: dict[int, tuple[pd.Index, CodedIds | None]]) -> Any:
    if isinstance(value, pd.DataFrame):
        index = _codes(value.index, ids, memo)
        column = None
        if CUSTOMER_ID in value.columns and isinstance(value[CUSTOMER_ID], pd.Series):  # one such column
            column = _codes(pd.Index(value[CUSTOMER_ID].to_numpy(), copy=False), ids, None)
        if index is None and column is None:
            return value
        frame = value.copy(deep=False)
        if index is not None:
            frame.index = pd.RangeIndex(len(frame))
        if column is not None:
            frame[CUSTOMER_ID] = column.codes
        return CodedFrame(frame, index, column)
    if isinstance(value, pd.Series):
        index = _codes(value.index, ids, memo)
        values = None
        if value.name == CUSTOMER_ID:
            values = _codes(pd.Index(value.to_numpy(), copy=False), ids, None)
        if index is None and values is None:
            return value
        series = value.copy(deep=False)
        if values is not None:
            series = pd.Series(values.codes, index=series.index, name=series.name, copy=False)
        if index is not None:
            series.index = pd.RangeIndex(len(series))
        return CodedSeries(series, index, values)
    if isinstance(value, pd.Index):
        coded = _codes(value, ids, memo)
        return value if coded is None else coded
    return value


def _taken(coded: CodedIds, ids: DatasetIds, memo: dict[int, tuple[CodedIds, pd.Index]] | None) -> pd.Index:
    if memo is None:
        sources = ids.sources
        if coded.source >= len(sources) or sources[coded.source].fingerprint != coded.fingerprint:
            raise StaleIdsError("These codes were made against other customer ids than the dataset's now.")
        return sources[coded.source].ids.take(coded.codes).rename(coded.name)
    if id(coded) not in memo:
        memo[id(coded)] = (coded, _taken(coded, ids, None))
    return memo[id(coded)][1]


def _expand_one(value: Any, ids: DatasetIds, memo: dict[int, tuple[CodedIds, pd.Index]]) -> Any:
    if isinstance(value, CodedIds):
        return _taken(value, ids, memo)
    if isinstance(value, CodedFrame):
        frame = value.frame.copy(deep=False)
        if value.column is not None:
            frame[CUSTOMER_ID] = _taken(value.column, ids, None).to_numpy()
        if value.index is not None:
            frame.index = _taken(value.index, ids, memo)
        return frame
    if isinstance(value, CodedSeries):
        series = value.series
        if value.values is not None:
            series = pd.Series(_taken(value.values, ids, None).to_numpy(), index=series.index, name=series.name)
        else:
            series = series.copy(deep=False)
        if value.index is not None:
            series.index = _taken(value.index, ids, memo)
        return series
    return value
