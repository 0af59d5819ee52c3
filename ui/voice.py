"""The voice-of-the-customer analysis on the app's shared value and churn risk (cached per dataset)."""

from __future__ import annotations

from analytics.business.churn_analysis import ChurnSettings
from analytics.business.voice import VoiceAnalysis, analyse_voice, voice_signals
from analytics.data.schema import CustomerData
from analytics.models.clv import ClvSettings
from ui import models
from ui import segments as us
from ui.cache import per_dataset


@per_dataset(max_entries=8)
def _voice(data: CustomerData, clv: ClvSettings, churn: ChurnSettings) -> VoiceAnalysis:
    scores = us.customer_scores(data)
    return analyse_voice(
        data,
        value=scores.frame["value"],
        risk=scores.frame["churn_probability"],
        value_source=f"{scores.value_source}; churn risk from {scores.risk_source}",
    )


def voice(data: CustomerData) -> VoiceAnalysis:
    """Signals joined to churn, lifetime and value with this session's model settings (raises DataError)."""
    voice_signals(data)  # the columns that would enable it, before any model is fitted
    return _voice(data, models.clv_settings(), models.churn_settings())
