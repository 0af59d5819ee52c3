"""Churn from three angles on the app's shared fits (the churn model and the lifetime-value model), cached per dataset."""

from __future__ import annotations

from analytics.business.churn_analysis import ChurnSettings
from analytics.business.churn_angles import ChurnAngles, churn_angles
from analytics.data.schema import CustomerData, DataError
from analytics.models.clv import ClvSettings
from ui import models
from ui.cache import per_dataset

#: What the page says while the angles are computed in the background.
LABEL = "Scoring customers from every angle (first time only; fits the churn and lifetime-value models)"


@per_dataset(max_entries=8, label=LABEL)
def _angles(data: CustomerData, churn: ChurnSettings, clv: ClvSettings) -> ChurnAngles:
    try:
        analysis = models.churn_analysis(data, churn)
    except DataError:
        analysis = None
    p_alive, model = None, "pareto_nbd"
    if data.has_transactions and (analysis is None or analysis.source == "purchases"):
        try:
            fitted = models.clv_analysis(data, clv)
            p_alive, model = fitted.customers["p_alive"].rename(index=str), fitted.selected
        except DataError:
            pass
    return churn_angles(data, analysis, p_alive_now=p_alive, purchase_model=model)


def angles(data: CustomerData) -> ChurnAngles:
    """The angles with this session's churn and lifetime-value settings (raises DataError)."""
    return _angles(data, models.churn_settings(), models.clv_settings())


def start_angles(data: CustomerData) -> tuple | None:
    """Start the angles in the background (`ui.background`): their job key, None once cached.

    On a purchase log the purchase model is refitted at the churn label's cutoff, minutes for a
    Pareto/NBD on a large upload: the page shows what it is doing meanwhile instead of blocking."""
    return _angles.start(data, models.churn_settings(), models.clv_settings())  # type: ignore[attr-defined]
