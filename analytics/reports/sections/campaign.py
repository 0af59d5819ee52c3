"""The `campaign` section of the headless report: the control-group policy every exported contact
list follows and, with a measured campaign, its uplift readout."""

from __future__ import annotations

from analytics.business.experiment import DEFAULT_CONTROL_SHARE, DEFAULT_SEED, Readout, check_control_share


def report_section(
    *,
    control_share: float = DEFAULT_CONTROL_SHARE,
    seed: int = DEFAULT_SEED,
    readout: Readout | None = None,
) -> dict:
    """The `campaign` section of the headless report.

    Keys: control_share (0..1, held out of every exported contact list), seed, stratified_by;
    uplift (only with a readout: see `Readout.to_dict`).

    Parameters
    ----------
    control_share : float
        Share held out.
    seed : int
        Seed of the draw.
    readout : Readout, optional
        A measured campaign.

    Returns
    -------
    dict
        The section.
    """
    check_control_share(control_share)
    section: dict = {"control_share": control_share, "seed": seed, "stratified_by": "churn-risk decile"}
    if readout is not None:
        section["uplift"] = readout.to_dict()
    return section
