"""The `kpis` section of the headless report (health KPIs of the last complete period)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from analytics.business.kpis import KpiSettings, compute_kpis
from analytics.data.schema import CustomerData

if TYPE_CHECKING:
    from analytics.engine.pushdown import PurchaseBehaviour


def report_section(
    data: CustomerData, settings: KpiSettings | None = None, *, purchases: PurchaseBehaviour | None = None
) -> dict[str, Any]:
    """Headless-report `kpis` section (monthly unless `settings.period` says otherwise).

    Parameters
    ----------
    data : CustomerData
        The cleaned dataset.
    settings : KpiSettings, optional
        The KPI period (default month).
    purchases : PurchaseBehaviour, optional
        Purchase counts computed in a database (`data` then holds the customers table, if any).

    Returns
    -------
    dict
        {"period": "month", "current_period": "2025-12", "previous_period": "2025-11",
        "basis": "purchases" | "subscriptions" | "none", "values": {key: float or None for every
        key in KPI_KEYS}, "labels": {key: label with its period or basis}, "previous": {key: float or None}, "units": {key: unit},
        "missing": {key: reason} for the keys whose value is None}

    Raises
    ------
    DataError
        When the data cannot give the KPIs (the report shows the message instead of the section).
    """
    settings = KpiSettings() if settings is None else settings
    report = compute_kpis(data, period=settings.period, model_clv=settings.model_clv, purchases=purchases)
    return {
        "period": report.period,
        "current_period": report.current_period,
        "previous_period": report.previous_period,
        "basis": report.basis,
        "values": {k.key: k.value for k in report.kpis},
        # added: each KPI's label with its period or basis (the glossary's words, as the pages show it)
        "labels": {k.key: k.label for k in report.kpis},
        "previous": {k.key: k.previous for k in report.kpis},
        "units": {k.key: k.unit for k in report.kpis},
        "missing": {k.key: k.missing for k in report.kpis if k.value is None},
    }
