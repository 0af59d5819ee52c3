"""The headless report on a database table: `python -m analytics report --db URL --table purchases=NAME`.

The purchase-level work runs in the database (`analytics.engine.pushdown`): cleaning rules,
exclusion counts, KPI counts per month, one row per customer (BTYD summary, RFM values, churn
features at the cutoff and today) and the what-if's counts per month come back; the models run
here on those rows. The `data`, `kpis`, `clv`, `churn`, `whatif`, `segments`, `campaign` and
`value_by_segment` sections are computed so (value by segment compares the acquisition cohorts,
from each customer's first purchase day; the first purchase's channel stays in the database).
The churn angles and the voice section need every purchase and say so in `reasons`. A customers
table (`--table customers=NAME`) is per customer, so it is read whole and its sections (churn
with a churn column, retention, retention by segment) run as on a file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from analytics.business.whatif_inputs import PeriodActivity, WhatIfSettings
from analytics.data.cleaning import clean_customers
from analytics.data.columns import guess_mapping
from analytics.data.io import RawTable
from analytics.data.schema import CUSTOMER_ID, CUSTOMERS, TRANSACTIONS, CustomerData, DataError
from analytics.engine.pushdown import (
    PurchaseBehaviour,
    Source,
    TableSummary,
    connect,
    summarise_behaviour,
    summarise_periods,
    summarise_table,
)
from analytics.reports.report import (
    REPORT_VERSION,
    SECTIONS,
    ReportSettings,
    build_report,
    campaign_keys,
    settings_keys,
    to_json_ready,
)

ON_FILE_ONLY = (
    "Computed from a file only so far: with --db the database returns one row per customer, and "
    "this section needs every purchase. Export the table to Parquet and run the report on the file."
)
CUSTOMER_SECTIONS = ("retention_sbg", "churn")
PUSHED_SECTIONS = ("kpis", "clv", "churn", "whatif", "segments", "campaign", "value_by_segment")


def _data_section(summary: TableSummary, purchases: str, label: str) -> dict:
    return {
        "name": f"{purchases} ({label})",
        "rows_read": summary.rows_read,
        "rows_used": summary.rows_used,
        "customers": len(summary.customers),
        "excluded": [
            {"reason": reason, "rows": rows, "table": TRANSACTIONS, "examples": []} for reason, rows in summary.excluded
        ],
        "columns": {TRANSACTIONS: dict(summary.columns)},
        "observation_end": f"{pd.Timestamp(summary.last_day, unit='D'):%Y-%m-%d}",
        "tables": [
            {
                "table": TRANSACTIONS,
                "source": f"{label}: {purchases}",
                "rows_read": summary.rows_read,
                "rows_used": summary.rows_used,
                "columns": dict(summary.columns),
                "notes": [
                    "Cleaned and aggregated inside the database; only per-customer rows came back "
                    "(row numbers of excluded rows are not available from a database)."
                ],
            }
        ],
        "business_kind": "purchase_log",
        "source": {"engine": label, "table": purchases},
    }


def _customers_data(source: Source, table: str) -> CustomerData:
    frame = source.read_table(table)
    # database cells keep their native types, like a Parquet file's
    raw = RawTable(frame=frame, source=f"{source.label}: {table}", file_kind="parquet")
    mapping = guess_mapping(frame, kind=CUSTOMERS)
    customers, report = clean_customers(raw, mapping)
    return CustomerData(name=table, customers=customers, reports=(report,))


def _has_churn_column(customers: CustomerData) -> bool:
    """True when the customers table says who left (then churn is read from it, as on a file)."""
    from analytics.business.churn_inputs import detect_churn_label

    try:
        detect_churn_label(customers.require_customers())
    except DataError:
        return False
    return True


def _pushed_sections(
    summary: TableSummary,
    behaviour: PurchaseBehaviour,
    activity: PeriodActivity | DataError,
    customers: CustomerData | None,
    settings: ReportSettings,
) -> dict[str, Callable[[], dict]]:
    """The sections computed from what the database returned, each as a function (run in order)."""
    from analytics.business.churn_analysis import ChurnSettings, analyse_churn_in_database
    from analytics.business.kind import PURCHASE_LOG
    from analytics.business.kpis import KpiSettings
    from analytics.business.value import customer_value
    from analytics.business.whatif_inputs import defaults_from_activity
    from analytics.models.clv import ClvSettings, analyse_summaries
    from analytics.reports.sections import churn, clv, kpis, segments, whatif
    from analytics.reports.sections.value_by_segment import report_section as value_by_segment

    clv_settings = ClvSettings(time_unit=settings.period, calibration_end=settings.calibration_end)
    fitted: dict[str, Any] = {}

    def clv_analysis() -> Any:
        if "clv" not in fitted:
            fitted["clv"] = analyse_summaries(
                summary.split(settings.period), summary.summary(settings.period), clv_settings
            )
        return fitted["clv"]

    def kpis_section() -> dict:
        try:
            model_clv = clv_analysis().mean_clv
        except DataError:
            model_clv = None
        ids = pd.DataFrame({CUSTOMER_ID: behaviour.customers.index})
        data = customers or CustomerData(name="purchases", customers=ids)
        return kpis.report_section(data, KpiSettings(period="month", model_clv=model_clv), purchases=behaviour)

    def churn_section() -> dict:
        section = churn.section_from_analysis(analyse_churn_in_database(behaviour, ChurnSettings()))
        unavailable = {"all": "The churn angles need every purchase; with --db only the churn model runs."}
        section.update({"angles": None, "agreement": None, "angles_unavailable": unavailable})
        return section

    def whatif_section() -> dict:
        if isinstance(activity, DataError):
            raise activity
        kind = settings.business_kind or PURCHASE_LOG
        model: Any = None
        if kind == PURCHASE_LOG:
            try:
                model = clv_analysis()
            except DataError as exc:
                model = exc
        what = WhatIfSettings()
        defaults = defaults_from_activity(activity, what.period, clv=model, customers=customers)
        return whatif.section_from_defaults(defaults, what, kind)

    def value_by_segment_section() -> dict:
        try:
            analysis = clv_analysis()
        except DataError:
            analysis = None
        first_days = summary.customers["first_day"].to_numpy(np.int64)
        first_purchase = pd.Series(
            first_days.astype("datetime64[D]").astype("datetime64[ns]"), index=summary.customers.index
        )
        return value_by_segment(
            customers or ids_only(),
            analysis,
            margin=clv_settings.margin,
            annual_discount_rate=clv_settings.annual_discount_rate,
            first_purchase=first_purchase,
        )

    def model_values(ids: pd.Series) -> pd.Series:
        try:
            clv_values = clv_analysis().customers["clv"]
        except DataError:
            clv_values = None
        return customer_value(customers or ids_only(), ids, clv_settings, clv=clv_values, fit=False)[0]

    def ids_only() -> CustomerData:
        return CustomerData(name="purchases", customers=pd.DataFrame({CUSTOMER_ID: behaviour.customers.index}))

    return {
        "kpis": kpis_section,
        "clv": lambda: clv.section_from_analysis(clv_analysis(), clv_settings),
        "churn": churn_section,
        "whatif": whatif_section,
        "segments": lambda: segments.section_from_values(behaviour.rfm_values()),
        "campaign": lambda: campaign_keys(settings, model_values),
        "value_by_segment": value_by_segment_section,
    }


def database_report(
    url: str | Source,
    tables: dict[str, str],
    settings: ReportSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """The report for tables in a database (keys as `build_report`; sections it cannot compute are
    null with their reason).

    Parameters
    ----------
    url : str or Source
        `duckdb:///path/file.duckdb`, `postgresql://user@host:port/db`, or a `Source`
        (e.g. `analytics.engine.pushdown.spark_source(spark)`).
    tables : dict
        'purchases' -> table name (required), 'customers' -> table name (optional).
    settings : ReportSettings, optional
    progress : callable, optional
        Called with the name of each step.

    Returns
    -------
    dict
        JSON-ready report: version, settings, data (counts from the database, plus `source`),
        one key per section, reasons.
    """
    settings = settings or ReportSettings()
    unknown = sorted(set(tables) - {"purchases", "customers"})
    if unknown:
        raise DataError(f"--table {unknown[0]}=...: name the tables as purchases=NAME and customers=NAME.")
    if "purchases" not in tables:
        raise DataError("--db needs the purchase table: --table purchases=NAME.")
    source = connect(url) if isinstance(url, str) else url
    today = pd.Timestamp.now().normalize()
    try:
        if progress:
            progress("summarising the purchases in the database")
        summary = summarise_table(source, tables["purchases"], calibration_end=settings.calibration_end, today=today)
        if progress:
            progress("counting periods and measuring behaviour in the database")
        behaviour = summarise_behaviour(source, tables["purchases"], today=today)
        if progress:
            progress("counting customer-periods for the what-if in the database")
        try:
            activity: PeriodActivity | DataError = summarise_periods(
                source, tables["purchases"], summary, period=WhatIfSettings().period, today=today
            )
        except DataError as exc:
            activity = exc
        customers = _customers_data(source, tables["customers"]) if "customers" in tables else None
    finally:
        if isinstance(url, str):
            source.close()
    report: dict[str, Any] = {
        "version": REPORT_VERSION,
        "settings": settings_keys(settings),
        "data": _data_section(summary, tables["purchases"], source.label),
    }
    reasons: dict[str, str] = {}
    pushed = _pushed_sections(summary, behaviour, activity, customers, settings)
    for name in SECTIONS:
        if progress:
            progress(name)
        churn_column = name == "churn" and customers is not None and _has_churn_column(customers)
        if name in pushed and not churn_column:
            try:
                report[name] = to_json_ready(pushed[name]())
            except DataError as exc:
                report[name], reasons[name] = None, str(exc)
        elif name in CUSTOMER_SECTIONS and customers is not None:
            part = build_report(customers, settings, sections={name: SECTIONS[name]})
            report[name] = part[name]
            if name in part["reasons"]:
                reasons[name] = part["reasons"][name]
        else:
            report[name], reasons[name] = None, ON_FILE_ONLY
    report["reasons"] = reasons
    return to_json_ready(report)
