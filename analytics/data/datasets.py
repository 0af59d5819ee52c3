"""Demo datasets, loaded through the same ingestion path as an upload.

- `subscription`: "Brightbox", a generated subscription business (data/make_demo_data.py):
  customers with plan, contract, region, satisfaction and support figures, and their payments.
- `cdnow`: the real CDNOW purchase log (Fader & Hardie), every purchase of the 23,570 customers
  who first bought in Q1 1997, to June 1998. Shipped inside the `lifetimes` package.
- `cdnow_sample`: the 1/10 sample of CDNOW (2,357 customers) used in Fader, Hardie & Lee (2005).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from analytics.data import schema as s
from analytics.data.columns import ColumnMapping
from analytics.data.ingest import LoadedTable, build_dataset, read_and_guess
from analytics.data.io import RawTable

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
CDNOW_END = pd.Timestamp("1998-06-30")


@dataclass(frozen=True)
class Demo:
    """A bundled demo dataset.

    Attributes
    ----------
    key : str
        What `load_demo` takes ('subscription', 'cdnow', 'cdnow_sample').
    title : str
        Name shown in the app.
    description : str
        Where it comes from and what it holds.
    """

    key: str
    title: str
    description: str


DEMOS: dict[str, Demo] = {
    "subscription": Demo(
        "subscription",
        "Brightbox subscriptions (generated)",
        "A generated meal-kit subscription business: 6,000 customers (2023-2025) with plan, "
        "contract, region, NPS/CSAT/CES answers and support tickets, plus their ~80,000 monthly "
        "payments. Generated with a fixed seed (nothing in it is real); churn depends on contract, "
        "satisfaction and support experience, and spend grows with tenure.",
    ),
    "cdnow": Demo(
        "cdnow",
        "CDNOW music purchases (real)",
        "The real CDNOW purchase log used by Fader, Hardie & Lee (2005): every purchase of the "
        "23,570 customers who first bought CDs in Jan-Mar 1997, tracked to June 1998. Shipped "
        "inside the lifetimes package.",
    ),
    "cdnow_sample": Demo(
        "cdnow_sample",
        "CDNOW 1/10 sample (real)",
        "The 1/10 sample (2,357 customers) of the CDNOW log, the data of the published BG/NBD "
        "and Pareto/NBD results. Shipped inside the lifetimes package.",
    ),
}
DEFAULT_DEMO = "subscription"


def _lifetimes_file(name: str) -> Path:
    import lifetimes  # only to locate its data folder

    return Path(os.path.dirname(lifetimes.__file__)) / "datasets" / name


def _cdnow_table(file_name: str, columns: list[str], header: bool, source: str) -> LoadedTable:
    frame = pd.read_csv(
        _lifetimes_file(file_name),
        sep=r"\s+",
        header=0 if header else None,
        names=None if header else columns,
        dtype=str,
        keep_default_na=False,
    )
    frame.columns = columns
    raw = RawTable(
        frame=frame, source=source, file_kind="csv", notes=(f"Read from the lifetimes package ({file_name}).",)
    )
    mapping = ColumnMapping(
        kind=s.TRANSACTIONS,
        roles={
            s.CUSTOMER_ID: "customer_id",
            s.ORDER_DATE: "date",
            s.AMOUNT: "dollar_value",
            s.QUANTITY: "number_of_cds",
        },
    )
    return LoadedTable(raw=raw, mapping=mapping)


@functools.lru_cache(maxsize=4)
def load_demo(key: str = DEFAULT_DEMO) -> s.CustomerData:
    """Load a demo dataset by key, through the same cleaning as an upload (no network needed).

    Cached per process: demo data is the same for everyone, so sharing it is safe.

    Parameters
    ----------
    key : {'subscription', 'cdnow', 'cdnow_sample'}
        'subscription': the generated Brightbox subscription business (customers and payments);
        'cdnow': the CDNOW purchase log (23,570 customers, shipped inside `lifetimes`);
        'cdnow_sample': its 1/10 sample (2,357 customers) of Fader, Hardie & Lee (2005).

    Returns
    -------
    CustomerData
        The cleaned dataset, with its cleaning reports.

    Raises
    ------
    DataError
        For an unknown key.
    """
    if key not in DEMOS:
        raise s.DataError(f"Unknown demo dataset '{key}'. Choose one of: {', '.join(DEMOS)}.")
    demo = DEMOS[key]
    if key == "subscription":
        tables = [
            read_and_guess(path.name, path.read_bytes())
            for path in (DATA_DIR / "subscription_payments.csv", DATA_DIR / "subscription_customers.csv")
        ]
        today = pd.Timestamp("2025-12-31")
    elif key == "cdnow":
        tables = [
            _cdnow_table(
                "CDNOW_master.txt",
                ["customer_id", "date", "number_of_cds", "dollar_value"],
                header=True,
                source="CDNOW_master.txt (lifetimes)",
            )
        ]
        today = CDNOW_END
    else:
        tables = [
            _cdnow_table(
                "CDNOW_sample.txt",
                ["customer_id", "master_id", "date", "number_of_cds", "dollar_value"],
                header=False,
                source="CDNOW_sample.txt (lifetimes)",
            )
        ]
        today = CDNOW_END
    data = build_dataset(tables, name=demo.title, description=demo.description, today=today)
    if key in CDNOW_DEMOS:
        data = _in_us_dollars(data)
    return data


#: The CDNOW demos, whose amounts are US dollars: the published file's amount column is `dollar_value`
#: (Fader, Hardie & Lee 2005, "RFM and CLV", the CDNOW data set).
CDNOW_DEMOS = ("cdnow", "cdnow_sample")


def _in_us_dollars(data: s.CustomerData) -> s.CustomerData:
    """The CDNOW data with its currency declared: the file writes plain numbers, its source says dollars."""
    reports = tuple(
        replace(
            report,
            currency="USD",
            notes=(*report.notes, "Amounts are US dollars: the published CDNOW file's amount column is dollar_value."),
        )
        if report.table == s.TRANSACTIONS
        else report
        for report in data.reports
    )
    return replace(data, reports=reports)
