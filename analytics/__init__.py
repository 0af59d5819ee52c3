"""Keepwise's analytics library: customer data in, customer decisions out (no Streamlit needed).

The handful of entry points a notebook needs, importable from the top level::

    import analytics as kw

    data = kw.load_demo("cdnow_sample")                 # or kw.load_files([("orders.csv", content)])
    data.reports[0].notes                               # what cleaning decided; rows read/used/excluded
    report = kw.build_report(data, kw.ReportSettings(period="W"))   # every section, JSON-ready

    split = kw.calibration_holdout_split(data.transactions, calibration_end="1997-09-30")
    comparison = kw.compare_models(split)              # BG/NBD, MBG/NBD, Pareto/NBD on the holdout
    clv = kw.analyse_clv(data.transactions, kw.ClvSettings(time_unit="W"))
    churn = kw.analyse_churn(data)                      # label, classifier, drivers
    settings = kw.WhatIfSettings(lift=5.0, period="M")
    base, inputs = kw.build_assumptions(kw.defaults_from_data(data, settings.period), settings)
    result = kw.whatif(base, settings.loyalty, settings.retention_lift, settings.horizon)

Everything else lives in the subpackages that show the pipeline: `analytics.data` (read, clean),
`analytics.models` (estimators), `analytics.business` (value, KPIs, what-if), `analytics.reports`
(report, HTML, export, charts) and `analytics.store` (share links); see examples/ for a walk-through.

`import analytics` stays cheap (no pandas, scipy or lifetimes): each name below is imported from its
module on first use (PEP 562 module `__getattr__`), so `python -m analytics` and the app load only what
they run. Static tools (mypy, IDEs) see the real imports through the `TYPE_CHECKING` block.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> module that defines it (one place to update when a module moves).
_EXPORTS: dict[str, str] = {
    # Load and clean
    "CustomerData": "analytics.data.schema",
    "DataError": "analytics.data.schema",
    "load_files": "analytics.data.ingest",
    "load_demo": "analytics.data.datasets",
    "DEMOS": "analytics.data.datasets",
    # The headless report (the same numbers as the app and the CLI)
    "ReportSettings": "analytics.reports.report",
    "build_report": "analytics.reports.report",
    "build_html_report": "analytics.reports.html_report",
    # Purchase models (BTYD) and customer value
    "summarize_customers": "analytics.models.btyd",
    "calibration_holdout_split": "analytics.models.btyd",
    "BetaGeo": "analytics.models.purchase",
    "ModifiedBetaGeo": "analytics.models.purchase",
    "ParetoNBD": "analytics.models.purchase",
    "GammaGamma": "analytics.models.spend",
    "compare_models": "analytics.models.holdout",
    "ClvSettings": "analytics.models.clv",
    "ClvAnalysis": "analytics.models.clv",
    "analyse_clv": "analytics.models.clv",
    # Subscription retention (shifted-beta-geometric)
    "ShiftedBetaGeometric": "analytics.models.sbg",
    # Churn
    "ChurnModel": "analytics.models.churn",
    "ChurnSettings": "analytics.business.churn_analysis",
    "ChurnAnalysis": "analytics.business.churn_analysis",
    "analyse_churn": "analytics.business.churn_analysis",
    # The retention what-if
    "BaseAssumptions": "analytics.business.economics",
    "RetentionLift": "analytics.business.economics",
    "WhatIfSettings": "analytics.business.whatif_inputs",
    "defaults_from_data": "analytics.business.whatif_inputs",
    "build_assumptions": "analytics.business.whatif_inputs",
    "whatif": "analytics.business.economics",
    # Export
    "to_csv_bytes": "analytics.reports.export",
    "to_excel_bytes": "analytics.reports.export",
}

# Written out (not computed) so linters and type checkers see it; a test checks it equals _EXPORTS.
__all__ = [
    "BaseAssumptions",
    "BetaGeo",
    "ChurnAnalysis",
    "ChurnModel",
    "ChurnSettings",
    "ClvAnalysis",
    "ClvSettings",
    "CustomerData",
    "DEMOS",
    "DataError",
    "GammaGamma",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "ReportSettings",
    "RetentionLift",
    "ShiftedBetaGeometric",
    "WhatIfSettings",
    "analyse_churn",
    "analyse_clv",
    "build_assumptions",
    "build_html_report",
    "build_report",
    "calibration_holdout_split",
    "compare_models",
    "defaults_from_data",
    "load_demo",
    "load_files",
    "summarize_customers",
    "to_csv_bytes",
    "to_excel_bytes",
    "whatif",
]

if TYPE_CHECKING:  # the real imports, for type checkers and IDEs only
    from analytics.business.churn_analysis import ChurnAnalysis, ChurnSettings, analyse_churn
    from analytics.business.economics import BaseAssumptions, RetentionLift, whatif
    from analytics.business.whatif_inputs import WhatIfSettings, build_assumptions, defaults_from_data
    from analytics.data.datasets import DEMOS, load_demo
    from analytics.data.ingest import load_files
    from analytics.data.schema import CustomerData, DataError
    from analytics.models.btyd import calibration_holdout_split, summarize_customers
    from analytics.models.churn import ChurnModel
    from analytics.models.clv import ClvAnalysis, ClvSettings, analyse_clv
    from analytics.models.holdout import compare_models
    from analytics.models.purchase import BetaGeo, ModifiedBetaGeo, ParetoNBD
    from analytics.models.sbg import ShiftedBetaGeometric
    from analytics.models.spend import GammaGamma
    from analytics.reports.export import to_csv_bytes, to_excel_bytes
    from analytics.reports.html_report import build_html_report
    from analytics.reports.report import ReportSettings, build_report


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first access and keep it (PEP 562).

    Parameters
    ----------
    name : the attribute asked for, e.g. ``"build_report"``.

    Returns
    -------
    The object the defining module exports under that name.

    Raises
    ------
    AttributeError
        For a name that is not part of the public API.
    """
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'analytics' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    """The public API next to the module's own attributes (for tab completion)."""
    return sorted({*globals(), *__all__})
