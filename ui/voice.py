"""The voice-of-the-customer analysis on the app's shared value and churn risk (cached per dataset)."""

from __future__ import annotations

import pandas as pd

from analytics.business.churn_analysis import ChurnSettings
from analytics.business.voice import VoiceAnalysis, analyse_voice, voice_signals
from analytics.data.schema import CUSTOMER_ID, CustomerData
from analytics.models.clv import ClvSettings
from ui import models
from ui.cache import per_dataset


@per_dataset(max_entries=8)
def _voice(data: CustomerData, clv: ClvSettings, churn: ChurnSettings) -> VoiceAnalysis:
    fitted = models.churn_analysis(data, churn)
    ids = fitted.scores[CUSTOMER_ID].astype(str)
    value, source = models.customer_value(data, ids)  # the value module, as the report's voice section
    risk = pd.Series(fitted.scores["churn_probability"].to_numpy(dtype=float), index=ids.to_numpy())
    return analyse_voice(data, value=value, risk=risk, value_source=f"{source}; churn risk from the churn model")


def voice(data: CustomerData) -> VoiceAnalysis:
    """Signals joined to churn, lifetime and value with this session's model settings (raises DataError)."""
    voice_signals(data)  # the columns that would enable it, before any model is fitted
    return _voice(data, models.clv_settings(), models.churn_settings())
