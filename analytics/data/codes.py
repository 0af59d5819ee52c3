"""Integer codes of a cleaned frame's customer ids, remembered from cleaning.

Cleaning reads every distinct id cell once (`analytics.data.parsing.distinct`), so it already
knows, for every row it keeps, which customer the row belongs to as a small integer. The
customer-day table (`analytics.engine.customer_days`) and the customer count need exactly that;
without it they would hash 10 million Python strings again (several seconds at 10M purchases).

The codes are remembered per frame (weakly: they go when the frame goes) together with the
address of the frame's id column, and are handed out only while the frame still holds that
very column (a column replaced since, or a derived frame, gets None and is encoded afresh).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class IdCodes:
    """Each row's customer as an integer code, in order of first appearance.

    Attributes
    ----------
    codes : np.ndarray of int32
        Per row of the frame, the position of its id in `uniques`.
    uniques : pd.Index
        The distinct ids (object dtype), in order of first appearance among the rows.
    """

    codes: np.ndarray
    uniques: pd.Index


_remembered: dict[int, tuple[weakref.ref, str, tuple[int, int], IdCodes]] = {}
_lock = threading.Lock()


def column_address(values: pd.Series) -> int:
    """Where a column's data lies: changes when the column is replaced (not when it is read).

    The address of a numpy-backed column's buffer, or the identity of an Arrow-backed column's
    (immutable) Arrow data; converting an Arrow column to numpy would give a new array each time.

    Parameters
    ----------
    values : pd.Series
        One column of a frame.

    Returns
    -------
    int
        The address.
    """
    array = values.array
    arrow = getattr(array, "_pa_array", None)
    if arrow is not None:
        return id(arrow)
    data = values.to_numpy(copy=False)
    return data.__array_interface__["data"][0] if isinstance(data, np.ndarray) else id(data)


def _address(frame: pd.DataFrame, column: str) -> tuple[int, int]:
    return column_address(frame[column]), len(frame)


def first_appearance_codes(codes: np.ndarray, n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """Renumber codes in order of first appearance (as `pd.factorize` numbers them).

    Parameters
    ----------
    codes : np.ndarray
        Non-negative integer codes below `n_values`, one per row.
    n_values : int
        How many values the codes may point to.

    Returns
    -------
    tuple of (np.ndarray, np.ndarray)
        The new codes (int32) and, per new code, the old code it stands for.
    """
    n = len(codes)
    first = np.full(n_values, n, dtype=np.int64)
    # assigning in reverse: the last write, which sticks, is each value's earliest row
    first[codes[::-1]] = np.arange(n - 1, -1, -1, dtype=np.int64)
    present = np.flatnonzero(first < n)
    old = present[np.argsort(first[present], kind="stable")]
    renumber = np.zeros(n_values, dtype=np.int32)
    renumber[old] = np.arange(len(old), dtype=np.int32)
    return renumber[codes], old


def remember_id_codes(frame: pd.DataFrame, column: str, codes: IdCodes) -> None:
    """Remember the codes of `frame[column]` while the frame lives and holds that column.

    Parameters
    ----------
    frame : pd.DataFrame
        The cleaned frame.
    column : str
        The id column the codes describe.
    codes : IdCodes
        One code per row of `frame`.
    """
    if len(codes.codes) != len(frame):  # pragma: no cover - caller's invariant
        raise ValueError("one code per row is needed")
    key = id(frame)

    def forget(_: weakref.ref) -> None:
        with _lock:
            _remembered.pop(key, None)

    with _lock:
        _remembered[key] = (weakref.ref(frame, forget), column, _address(frame, column), codes)


def id_codes(frame: pd.DataFrame, column: str) -> IdCodes | None:
    """The codes cleaning remembered for `frame[column]`, or None (then encode the column afresh).

    Parameters
    ----------
    frame : pd.DataFrame
        A frame, usually a cleaned transactions frame.
    column : str
        The id column.

    Returns
    -------
    IdCodes or None
        The codes, only while `frame` still holds the very column they were made for.
    """
    with _lock:
        hit = _remembered.get(id(frame))
    if hit is None or hit[0]() is not frame or hit[1] != column or column not in frame.columns:
        return None
    return hit[3] if _address(frame, column) == hit[2] else None


def encoded_id_codes(frame: pd.DataFrame, column: str) -> IdCodes | None:
    """The codes remembered for `frame[column]`, else the column encoded now and remembered.

    For a cleaned frame that came into this process as a copy (the app's dataset unpickled from
    `st.cache_data`: a connection's or a share link's tables) and is never changed in place: it has
    no remembered codes, so every customer count hashed all its ids again (1.5-3 s a call at 4.8M
    purchases, several calls a page run). Only the caller knows a frame will not be edited in
    place (the codes are checked against the column's address, which an in-place edit keeps), so
    `CustomerData` does not call this itself. `pd.factorize` numbers the ids in order of first
    appearance, as cleaning does; text ids are kept as an object Index (as cleaning keeps them),
    other ids keep their dtype.

    Parameters
    ----------
    frame : pd.DataFrame
        A cleaned transactions frame, or any frame whose `column` has no missing id.
    column : str
        The customer id column.

    Returns
    -------
    IdCodes or None
        The codes; None when the column has missing ids (nothing is remembered then).
    """
    known = id_codes(frame, column)
    if known is not None:
        return known
    codes, uniques = pd.factorize(frame[column], sort=False)
    if len(codes) and int(codes.min()) < 0:  # a missing id: not a cleaned frame
        return None
    distinct = pd.Index(uniques)
    if pd.api.types.is_string_dtype(distinct.dtype):
        distinct = pd.Index(np.asarray(uniques, dtype=object), dtype=object)
    made = IdCodes(codes.astype(np.int32, copy=False), distinct)
    remember_id_codes(frame, column, made)
    return made


def text_order(ids: np.ndarray | pa.Array | pa.ChunkedArray) -> np.ndarray:
    """`np.argsort(ids, kind="stable")`: the order that sorts ids as Python sorts them.

    Text ids go through Arrow's stable sort, 3x faster than comparing Python strings (UTF-8 byte
    order is code-point order, Python's); other ids sort in numpy. The one sort of customer ids by
    text: cleaning's id ranks, the customer-day table's id order
    (`analytics.engine.customer_days.CustomerDays.id_order`) and the customers behind a KPI
    (`analytics.business.explain`) use it.

    Parameters
    ----------
    ids : np.ndarray, pyarrow.Array or pyarrow.ChunkedArray
        The ids (an object array of str, any numpy array, or Arrow text without nulls).

    Returns
    -------
    np.ndarray
        Positions into `ids` (intp), the smallest id's first; equal ids keep their order.
    """
    if isinstance(ids, (pa.Array, pa.ChunkedArray)):
        if ids.null_count == 0 and (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
            return pc.sort_indices(ids).to_numpy().astype(np.intp)
        ids = ids.to_numpy(zero_copy_only=False)
    if ids.dtype == object:
        try:
            text = pa.array(ids, type=pa.large_string())
        except (pa.ArrowException, TypeError, UnicodeError):  # not all text (or lone surrogates)
            text = None
        if text is not None and text.null_count == 0:
            return pc.sort_indices(text).to_numpy().astype(np.intp)
    return np.argsort(ids, kind="stable")
