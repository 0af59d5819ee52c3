"""Per-customer tables lined up by the customer-day table's codes: the same positions as hashing the ids."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.engine.customer_days import customer_days
from analytics.engine.id_positions import customer_codes, id_positions


def _table():
    # ids in neither first-appearance nor sorted order: 'd' first, 'a' last
    frame = pd.DataFrame(
        {
            "customer_id": ["d", "b", "d", "c", "a", "b"],
            "order_date": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-01-05", "2024-02-01", "2024-03-01", "2024-03-02"]
            ),
            "amount": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    return customer_days(frame)


def test_codes_of_the_tables_two_orders_and_of_a_first_appearance_prefix():
    table = _table()
    assert list(table.customer_ids) == ["d", "b", "c", "a"]
    np.testing.assert_array_equal(customer_codes(table, pd.Index(["d", "b", "c", "a"])), [0, 1, 2, 3])
    np.testing.assert_array_equal(customer_codes(table, pd.Index(["d", "b"])), [0, 1])  # customers to a cutoff
    np.testing.assert_array_equal(customer_codes(table, pd.Index(["a", "b", "c", "d"])), [3, 1, 2, 0])
    for other in (["b", "d"], ["a", "b", "c"], ["a", "b", "c", "x"], []):
        assert customer_codes(table, pd.Index(other, dtype=object)) is None


def test_positions_are_get_indexers_with_and_without_the_table(monkeypatch):
    table = _table()
    first_seen = pd.Index(["d", "b", "c", "a"], name="customer_id")
    by_id = pd.Index(["a", "b", "c", "d"], name="customer_id")
    hashed = []
    real = pd.Index.get_indexer

    def counting(self, target, *args, **kwargs):
        hashed.append(len(target))
        return real(self, target, *args, **kwargs)

    monkeypatch.setattr(pd.Index, "get_indexer", counting)
    shuffled = pd.Index(["c", "a", "d", "b"], name="customer_id")
    cases = [(by_id, first_seen), (first_seen, by_id), (by_id, first_seen[:2]), (first_seen[:3], by_id)]
    for source, target in [*cases, (shuffled, by_id)]:
        expected = real(source, target)
        with_table = id_positions(source, target, table)
        np.testing.assert_array_equal(with_table, expected)
        np.testing.assert_array_equal(id_positions(source, target), expected)
    # without the table each case hashes; with it only the last (its source is in no order of the table)
    assert hashed == [4, 4, 2, 4, 4, 4]
    unknown = pd.Index(["a", "x", "d"])
    np.testing.assert_array_equal(id_positions(by_id, unknown, table), [0, -1, 3])
