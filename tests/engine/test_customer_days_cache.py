"""The customer-day cache when a page and a background fit ask for the same frame at once."""

from __future__ import annotations

import threading
import time

import pandas as pd

from analytics.engine import customer_days as cd


def test_two_threads_asking_at_once_build_the_table_once(monkeypatch):
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "a", "c"],
            "order_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-02-01", "2024-02-03"]),
            "amount": [10.0, 20.0, 30.0, 40.0],
        }
    )
    builds = []
    real = cd.build_customer_days

    def slow_build(transactions):
        builds.append(threading.get_ident())
        time.sleep(0.3)  # long enough for the other thread to arrive while this one builds
        return real(transactions)

    monkeypatch.setattr(cd, "build_customer_days", slow_build)
    tables = []
    threads = [threading.Thread(target=lambda: tables.append(cd.customer_days(frame))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(builds) == 1
    assert len(tables) == 2 and tables[0] is tables[1]
    assert list(tables[0].orders) == [1, 1, 1, 1] and float(tables[0].spend.sum()) == 100.0
