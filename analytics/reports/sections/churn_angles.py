"""`churn.angles` and `churn.agreement` of the headless report: the three angles on who is leaving
(churn model, purchase model, retention curve) and how far they agree."""

from __future__ import annotations

from analytics.business.churn_angles import ANGLE_LABELS, ChurnAngles


def report_section(result: ChurnAngles) -> dict:
    """`churn.angles` and `churn.agreement` of the headless report (keys are a stable contract).

    angles: {name: {label, auc, customers_measured, basis, flagged}} for available angles;
    unavailable: {name: reason}; agreement: {flag_share, matrix {row: {column: share}}, all_flag
    (count), all_flag_customers (up to 50 ids), advice}.

    Parameters
    ----------
    result : ChurnAngles
        `churn_angles` output.

    Returns
    -------
    dict
        The two keys.
    """
    return {
        "angles": {
            name: {
                "label": ANGLE_LABELS[name],
                "auc": a.auc,
                "customers_measured": a.n_auc,
                "basis": a.basis,
                "flagged": int(result.flags[name].sum()),
            }
            for name, a in result.angles.items()
        },
        "angles_unavailable": result.unavailable,
        "angles_label": result.label,
        "agreement": {
            "flag_share": result.flag_share,
            "customers_compared": int(len(result.flags)),
            "matrix": {
                r: {c: float(result.agreement.loc[r, c]) for c in result.agreement.columns}
                for r in result.agreement.index
            },
            "all_flag": int(len(result.all_flag)),
            "all_flag_customers": [str(i) for i in result.all_flag[:50]],
            "advice": result.advice,
        },
    }
