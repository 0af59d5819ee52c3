"""A one-entry memo keyed on a live object: the last result computed from a dataset, reused while it lives.

The report asks for the same analysis from several sections in a row (the churn fit from the churn,
voice and actions sections; the purchase-model fit from the clv, churn and actions sections; the
RFM table from the segments and actions sections). `LastResult` keeps the last one, keyed on

- the object it was computed from (a dataset or a purchases frame), held by a weak reference and
  compared by identity: a new object is never served another's result, even one that reuses a
  freed object's `id`, and the entry (with its result) is dropped when the object is
  garbage-collected, so the memo never keeps a dataset alive;
- a hashable key compared by equality: the settings, and a size (e.g. the number of purchases) so a
  frame that changed length in place is recomputed.

Objects that cannot be weakly referenced are held by a strong reference instead (identity still
cannot be reused while the memo holds the object); the next entry replaces it.

Thread-safe for the app's background fits: reading and replacing the entry take a lock; two threads
asking at once for a missing result may both compute it (the last one stored wins; both are equal).

A caller that keeps results itself (the app keeps each in its per-session cache) drops the memos'
entries for a dataset with `forget_results_of` once it has stored its own: otherwise the memo holds
a second live copy (the RFM table, 27 MiB at 300,000 customers) for as long as the dataset lives.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_MEMOS: weakref.WeakSet[LastResult[Any]] = weakref.WeakSet()  # every memo, for `forget_results_of`


class LastResult(Generic[T]):
    """The last result computed from one object and key (one entry).

    Parameters
    ----------
    name : str
        What is remembered, for `repr` (e.g. "churn analysis").

    Examples
    --------
    >>> import pandas as pd
    >>> memo: LastResult[int] = LastResult("row count")
    >>> frame = pd.DataFrame({"amount": [1.0, 2.0]})
    >>> memo.get_or_compute(frame, (len(frame), "settings"), lambda: len(frame))
    2
    >>> memo.get(frame.copy(), (len(frame), "settings")) is None  # an equal copy is another object
    True
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.RLock()  # re-entrant: a garbage collection inside may call `_forget`
        self._owner: Callable[[], Any] | None = None  # weakref.ref or a closure holding the object
        self._key: Hashable = None
        self._value: T | None = None
        _MEMOS.add(self)

    def __repr__(self) -> str:
        held = "empty" if self._owner is None else f"key {self._key!r}"
        return f"LastResult({self.name!r}, {held})"

    def get(self, owner: object, key: Hashable) -> T | None:
        """The remembered result for this very object and an equal key, else None.

        Parameters
        ----------
        owner : object
            The object the result was computed from (compared by identity).
        key : Hashable
            Settings and size (compared by equality).

        Returns
        -------
        T or None
            The result, or None when the entry is for another object or key (or there is none).
        """
        return self._lookup(owner, key)[1]

    def put(self, owner: object, key: Hashable, value: T) -> None:
        """Remember `value` as the result for `owner` and `key` (replacing the entry).

        Parameters
        ----------
        owner : object
            The object the result was computed from.
        key : Hashable
            Settings and size.
        value : T
            The result.
        """
        try:
            ref: Callable[[], Any] = weakref.ref(owner, self._forget)
        except TypeError:  # not weakly referenceable: hold it (identity cannot be reused meanwhile)

            def ref() -> Any:
                return owner

        with self._lock:
            self._owner, self._key, self._value = ref, key, value

    def get_or_compute(self, owner: object, key: Hashable, compute: Callable[[], T]) -> T:
        """The remembered result for `owner` and `key`, or `compute()`'s, then remembered.

        Parameters
        ----------
        owner : object
            The object the result is computed from (compared by identity).
        key : Hashable
            Settings and size (compared by equality).
        compute : callable
            Computes the result (called only on a miss; an exception leaves the entry as it was).

        Returns
        -------
        T
            The result.
        """
        found, remembered = self._lookup(owner, key)
        if found:
            return remembered  # type: ignore[return-value]
        value = compute()
        self.put(owner, key, value)
        return value

    def clear(self) -> None:
        """Forget the entry."""
        with self._lock:
            self._owner, self._key, self._value = None, None, None

    def forget(self, owners: tuple[object, ...]) -> None:
        """Forget the entry when it was computed from one of `owners`.

        Parameters
        ----------
        owners : tuple of object
            The objects whose results go (compared by identity).
        """
        with self._lock:
            held = None if self._owner is None else self._owner()
            if held is not None and any(held is owner for owner in owners):
                self._owner, self._key, self._value = None, None, None

    def _lookup(self, owner: object, key: Hashable) -> tuple[bool, T | None]:
        """(True, result) when the entry is for this very object and an equal key, else (False, None)."""
        with self._lock:
            if self._owner is not None and self._owner() is owner and self._key == key:
                return True, self._value
        return False, None

    def _forget(self, dead: weakref.ref) -> None:
        """Drop the entry (and its result) when its object is garbage-collected."""
        with self._lock:
            if self._owner is dead:
                self._owner, self._key, self._value = None, None, None


def forget_results_of(*owners: object) -> None:
    """Drop every memo's entry computed from one of `owners` (a dataset, its purchases frame).

    For a caller that keeps the results itself: the next call computes them again.

    Parameters
    ----------
    *owners : object
        The objects the results were computed from (compared by identity; None is ignored).
    """
    found = tuple(owner for owner in owners if owner is not None)
    for memo in list(_MEMOS):
        memo.forget(found)
