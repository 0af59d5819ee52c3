"""Per-customer tables lined up by the customer-day table's integer codes, not by hashing their text ids.

Every per-customer table built from one purchases frame lists its customers in one of two orders
of the frame's customer-day table (`analytics.engine.customer_days`): first appearance (the purchase
model's summary, P(alive); the first n customers for a summary cut at an earlier date of a log in
date order) or sorted by id (the churn features and scores, RFM). `id_positions` recognises those
two orders by comparing the ids (a pass over the pointers, ~0.1 s at 2M customers) and lines the
tables up by the codes; `Index.get_indexer` builds a hash table of millions of Python strings
instead (1-2 s at 2M customers). Any other index is hashed as before: the answer is the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.engine.customer_days import CustomerDays


def customer_codes(table: CustomerDays, index: pd.Index) -> np.ndarray | None:
    """The code (position in `table.customer_ids`) of each id of `index`, when `index` lists the
    table's customers in first-appearance order (all, or the first ``len(index)``) or sorted by id
    (all); None for any other index.

    Parameters
    ----------
    table : CustomerDays
        The purchases' customer-day table.
    index : pd.Index
        Customer ids.

    Returns
    -------
    np.ndarray or None
        Codes, one per id of `index`.
    """
    ids = table.customer_ids
    n = len(index)
    if n == 0 or n > len(ids):
        return None
    if index.equals(ids[:n]):
        return np.arange(n)
    if n == len(ids):
        order = table.id_order
        if index.equals(ids[order]):
            return order
    return None


def id_positions(source: pd.Index, target: pd.Index, table: CustomerDays | None = None) -> np.ndarray:
    """Where each id of `target` is in `source` (-1 where it is not): `source.get_indexer(target)`.

    Parameters
    ----------
    source : pd.Index
        Distinct customer ids.
    target : pd.Index
        Customer ids to find.
    table : CustomerDays, optional
        The customer-day table both were built from: when each lists its customers in one of the
        table's orders (`customer_codes`), the positions come from the codes without hashing.

    Returns
    -------
    np.ndarray
        Positions into `source` (intp), -1 for an id of `target` not in `source`.
    """
    if table is not None:
        source_codes = customer_codes(table, source)
        target_codes = None if source_codes is None else customer_codes(table, target)
        if source_codes is not None and target_codes is not None:
            slot = np.full(len(table.customer_ids), -1, dtype=np.intp)
            slot[source_codes] = np.arange(len(source_codes))
            return slot[target_codes]
    return source.get_indexer(target)
