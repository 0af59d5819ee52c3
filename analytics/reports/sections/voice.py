"""The `voice` section of the headless report: satisfaction signals (NPS, CSAT, CES, support)
joined to churn and customer value."""

from __future__ import annotations

import pandas as pd

from analytics.business.voice import NPS, VoiceAnalysis


def report_section(analysis: VoiceAnalysis) -> dict:
    """The `voice` section of the headless report (keys are a stable contract).

    Keys: available ({column: label} of the signals found), by_nps_class.<promoter|passive|detractor>
    .{customers, churn_rate, churn_interval_95, median_lifetime_months, mean_value, total_value,
    value_at_risk} (rates 0..1, money in the data's currency), churn_rise_detractor_vs_promoter
    .{difference, interval_95, ratio}, by_signal.<column> (the same per group, for every signal),
    close_the_loop_top (the 20 current detractors with the most value at risk), value_source, notes.

    Parameters
    ----------
    analysis : VoiceAnalysis
        `analyse_voice` output.

    Returns
    -------
    dict
        The section, JSON-ready.
    """

    def rows(table: pd.DataFrame) -> dict:
        out = {}
        for r in table.to_dict("records"):
            out[str(r["group"])] = {
                "customers": r["customers"],
                "churn_rate": r.get("churn_rate"),
                "churn_interval_95": [r.get("churn_low"), r.get("churn_high")] if "churn_low" in r else None,
                "median_lifetime_months": r["median_lifetime_months"],
                "current_customers": r["current"],
                "mean_value": r["mean_value"],
                "total_value": r["total_value"],
                "value_at_risk": r["value_at_risk"],
            }
        return out

    section: dict = {
        "available": analysis.available,
        "by_nps_class": rows(analysis.tables[NPS]) if NPS in analysis.tables else None,
        "by_signal": {col: rows(t) for col, t in analysis.tables.items()},
        "value_source": analysis.value_source,
        "notes": analysis.notes,
        "close_the_loop_top": analysis.close_the_loop.head(20).to_dict("records"),
    }
    rise = analysis.churn_rise
    section["churn_rise_detractor_vs_promoter"] = (
        None
        if rise is None
        else {
            "promoter_churn_rate": rise.promoter_rate,
            "detractor_churn_rate": rise.detractor_rate,
            "difference": rise.difference,
            "interval_95": list(rise.interval_95),
            "ratio": rise.ratio,
        }
    )
    return section
