"""Campaigns with a control group, and the readout that measures what they really did.

Two steps, so a retention offer is judged on evidence instead of on the planner's assumptions:

1. **Hold out a control group** (`assign_control_group`): before a contact list is sent, a random
   share of it (default 10%) is kept out of the offer. The draw is stratified by churn-risk decile
   (the same share is held out in every tenth of the list), so treated and control customers have
   the same risk mix, and it is seeded, so the same list, share and seed give the same groups
   again (the export says who is in which group; the seed and share travel with the analysis).
2. **Read it out** (`read_out`): a later file of the same customers (a customers table with the
   churn flag, or the next purchase log) says who stayed (or bought). The uplift is the
   retention (or purchase) rate of the treated minus that of the control group, with

   * the 95% interval of a difference of two independent proportions by Newcombe's hybrid score
     method (Newcombe 1998, "Interval estimation for the difference between independent
     proportions: comparison of eleven methods", Statistics in Medicine 17:873-890, method 10),
     built from the two Wilson score intervals (Wilson 1927); it keeps close to 95% coverage
     where the plain normal (Wald) interval does not (small groups, rates near 0 or 1);
   * the two-sided p-value of the pooled two-proportion z-test (Agresti 2013, "Categorical Data
     Analysis", 3rd ed., section 3.1.2 / Fleiss, Levin & Paik 2003, ch. 3);
   * customers saved = difference x treated customers; value saved = customers saved x the mean
     value of the treated customers (from the customer-value definition the caller passes);
     cost per saved customer = offer cost x treated customers / customers saved.

   When the interval contains 0 the readout says plainly that the difference cannot be told apart
   from chance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analytics.data.schema import CHURNED, CUSTOMER_ID, ORDER_DATE, CustomerData, DataError

TREATMENT = "treatment"
CONTROL = "control"
GROUP = "group"  # column of the exported list: treatment / control
DEFAULT_CONTROL_SHARE = 0.10
DEFAULT_SEED = 2026
RISK_STRATA = 10  # risk deciles
ID_COLUMNS = (CUSTOMER_ID, "Customer", "customer", "Customer ID", "customer id")  # how exports name the id


def check_control_share(control_share: float) -> None:
    """Raise a `DataError` unless the control group share is strictly between 0 and 1.

    Parameters
    ----------
    control_share : float
        Share of the contacts held out (0..1).
    """
    if not (0 < control_share < 1):
        raise DataError(
            "The control group share must be between 0% and 100% (e.g. 10%): a campaign with no control "
            "group cannot be read out, and one with no treated customers has nothing to measure."
        )


def risk_strata(risk: pd.Series, n_strata: int = RISK_STRATA) -> pd.Series:
    """Stratum 1 (lowest risk) .. n_strata (highest) by rank, equal-sized up to one customer.

    Ties are broken by the order of `risk` (pass it sorted by customer id for a stable draw).

    Parameters
    ----------
    risk : pd.Series
        Churn risk per customer.
    n_strata : int
        Number of strata (deciles by default).

    Returns
    -------
    pd.Series
        Stratum per customer, aligned with `risk`.
    """
    n = len(risk)
    if n == 0:
        return pd.Series([], dtype=int, index=risk.index)
    order = np.argsort(np.asarray(risk, dtype=float), kind="stable")
    ranks = np.empty(n, dtype=int)
    ranks[order] = np.arange(n)
    strata = (ranks * min(n_strata, n)) // n + 1
    return pd.Series(strata, index=risk.index, name="risk_decile")


def assign_control_group(
    customer_ids: pd.Series | pd.Index,
    risk: pd.Series | np.ndarray,
    *,
    control_share: float = DEFAULT_CONTROL_SHARE,
    seed: int = DEFAULT_SEED,
) -> pd.Series:
    """Treatment / control for each customer of a contact list, stratified by risk decile.

    Parameters
    ----------
    customer_ids : the list's customers (unique).
    risk : churn probability per customer (0..1), aligned with `customer_ids`.
    control_share : share of each risk decile held out of the offer (0..1, default 0.10); each
        decile holds out round(share x its size) customers.
    seed : seed of numpy's default generator (PCG64). The same customers, risks, share and seed
        give the same groups whatever order the list is in.

    Returns
    -------
    Series of 'treatment' / 'control' indexed by customer id (as text), in the input order.

    Raises
    ------
    DataError : duplicated ids, risks that are not probabilities, or a share outside (0, 1).
    """
    check_control_share(control_share)
    text = pd.Series(customer_ids).astype(str).to_numpy()
    ids = pd.Index(text, name=CUSTOMER_ID)
    if ids.has_duplicates:
        raise DataError("The contact list names some customers twice; each customer can be in one group only.")
    p = np.asarray(risk, dtype=float)
    if p.size != ids.size:
        raise DataError("The control group needs one churn risk per customer of the list.")
    if np.isnan(p).any() or ((p < 0) | (p > 1)).any():
        raise DataError("Churn risks must be probabilities between 0 and 1 for every customer of the list.")
    order = _text_order(text)  # the draw never depends on the list's row order: customers by id
    strata = risk_strata(pd.Series(p[order])).to_numpy()
    rng = np.random.default_rng(seed)
    control = np.zeros(len(order), dtype=bool)  # by position in id order
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        k = int(round(control_share * len(members)))
        if k:
            control[members[rng.permutation(len(members))[:k]]] = True
    in_input_order = np.empty(len(order), dtype=bool)
    in_input_order[order] = control
    return pd.Series(np.where(in_input_order, CONTROL, TREATMENT).astype(object), index=ids, name=GROUP)


def _text_order(text: np.ndarray) -> np.ndarray:
    """Positions that sort these distinct strings as Python compares them (by code point).

    Arrow's sort of UTF-8 bytes gives that order (UTF-8 keeps code-point order) and takes 0.3 s for a
    million ids where sorting the Python strings took 3-4 s; strings UTF-8 cannot encode (lone
    surrogates) are sorted as Python strings."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        return np.asarray(pc.sort_indices(pa.array(text, type=pa.string())), dtype=np.int64)
    except (UnicodeEncodeError, pa.ArrowException):
        return np.argsort(text, kind="stable")


def with_control_group(
    contacts: pd.DataFrame,
    *,
    id_column: str,
    risk_column: str,
    control_share: float = DEFAULT_CONTROL_SHARE,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """The contact list with a `group` column (treatment / control) after the id column.

    The control customers stay in the file, marked, so the readout knows whom to compare with;
    whoever runs the campaign must leave them out of the offer.

    Parameters
    ----------
    contacts : pd.DataFrame
        The contact list.
    id_column, risk_column : str
        Its customer id and churn-risk columns.
    control_share : float
        Share held out (0..1), drawn within each risk stratum.
    seed : int
        Seed of the draw.

    Returns
    -------
    pd.DataFrame
        The list with `group`.
    """
    if contacts.empty:
        return contacts.assign(**{GROUP: pd.Series(dtype=object)})
    risk = contacts[risk_column].astype(float)
    if risk.max() > 1:  # a percentage column ("Churn risk (%)")
        risk = risk / 100
    group = assign_control_group(contacts[id_column], risk, control_share=control_share, seed=seed)
    return with_groups(contacts, group.to_numpy(), id_column=id_column)


def with_groups(contacts: pd.DataFrame, groups: np.ndarray, *, id_column: str) -> pd.DataFrame:
    """A copy of the contact list with `groups` (treatment / control, one per row) as its `group` column,
    right after the id column: where `with_control_group` puts the group it draws.

    Parameters
    ----------
    contacts : pd.DataFrame
        The contact list.
    groups : np.ndarray
        `TREATMENT` or `CONTROL` for each row, in the list's order.
    id_column : str
        Its customer id column.

    Returns
    -------
    pd.DataFrame
        The list with `group`.
    """
    out = contacts.copy()
    out.insert(list(out.columns).index(id_column) + 1, GROUP, groups)
    return out


# --------------------------------------------------------------------------------------------
# Readout
# --------------------------------------------------------------------------------------------


def _clean_id(value: object) -> str:
    text = str(value).strip()
    return text[1:] if text.startswith("'") and text[1:2] in ("=", "+", "-", "@") else text  # undo the export escape


def parse_contact_list(frame: pd.DataFrame) -> pd.DataFrame:
    """customer_id and group from an exported contact list (the Churn planner's or the Action list's CSV).

    Parameters
    ----------
    frame : pd.DataFrame
        The list as read.

    Returns
    -------
    pd.DataFrame
        customer_id (text), group ('treatment' or 'control').

    Raises
    ------
    DataError
        Naming what is missing: an id column (customer_id or Customer) and a `group` column with the
        values treatment / control.
    """
    columns = {str(c).strip(): c for c in frame.columns}
    id_col = next((columns[c] for c in ID_COLUMNS if c in columns), None)
    group_col = next((columns[c] for c in columns if c.lower() == GROUP), None)
    if id_col is None or group_col is None:
        missing = " and ".join(
            what
            for what, col in (
                ("a customer id column ('Customer' or 'customer_id')", id_col),
                ("a 'group' column", group_col),
            )
            if col is None
        )
        raise DataError(
            f"The contact list needs {missing}. Use the file downloaded from the Churn planner or the Action list, "
            "which marks each customer as treatment or control."
        )
    out = pd.DataFrame(
        {
            CUSTOMER_ID: frame[id_col].map(_clean_id),
            GROUP: frame[group_col].astype(str).str.strip().str.lower(),
        }
    )
    bad = ~out[GROUP].isin([TREATMENT, CONTROL])
    if bad.any():
        raise DataError(
            f"{int(bad.sum()):,} rows of the contact list have a group other than 'treatment' or 'control' "
            f"(e.g. '{out.loc[bad, GROUP].iloc[0]}'). Fix those cells or use the file as downloaded."
        )
    if out[CUSTOMER_ID].duplicated().any():
        raise DataError("The contact list names some customers twice; use the file as downloaded.")
    for group in (TREATMENT, CONTROL):
        if not (out[GROUP] == group).any():
            raise DataError(
                f"The contact list has no {group} customers, so there is nothing to compare. Export the list "
                "again with a control group share above 0%."
            )
    return out


@dataclass(frozen=True)
class Outcome:
    """What happened to each customer after the campaign.

    Attributes
    ----------
    success : pd.Series
        Boolean, indexed by customer id (text): True = stayed (retention) or bought (purchase).
    kind : str
        'retention' (a customers table with the churn flag) or 'purchase' (a purchase log: a
        listed customer absent from it did not buy, so counts as a failure, not as missing).
    description : str
        Plain words for the outcome, e.g. "stayed (churn flag of the later file)".
    """

    success: pd.Series
    kind: str
    description: str


def outcome_from_data(later: CustomerData, *, since: pd.Timestamp | None = None) -> Outcome:
    """Who stayed (customers table with a churn flag) or who bought (purchase log) in a later file.

    A churn flag wins when both are present. For a purchase log, a customer succeeded when they
    have at least one purchase on or after `since` (None: any purchase in the file). Customers
    whose churn cell is blank have no outcome and are left out.

    Parameters
    ----------
    later : CustomerData
        The file received after the campaign.
    since : pd.Timestamp, optional
        First day that counts for purchases.

    Returns
    -------
    Outcome
        Success per customer.

    Raises
    ------
    DataError
        When the file has neither a churn flag nor purchases.
    """
    if later.has_column(CHURNED):
        c = later.require_customers()
        churned = c[CHURNED].astype("boolean")
        known = churned.notna().to_numpy()
        success = pd.Series(~churned[known].to_numpy(dtype=bool), index=c.loc[known, CUSTOMER_ID].astype(str))
        return Outcome(success[~success.index.duplicated()], "retention", "stayed (the later file's churn flag)")
    if later.has_transactions:
        tx = all_tx = later.require_transactions()
        if since is not None:
            tx = tx[tx[ORDER_DATE] >= pd.Timestamp(since)]
        buyers = set(tx[CUSTOMER_ID].astype(str))
        everyone = pd.Index(all_tx[CUSTOMER_ID].astype(str).unique())
        if later.customers is not None and len(later.customers):
            everyone = everyone.union(pd.Index(later.customers[CUSTOMER_ID].astype(str)))
        since_text = f" on or after {pd.Timestamp(since):%d %b %Y}" if since is not None else ""
        success = pd.Series(everyone.isin(list(buyers)), index=everyone)  # listed customers not here: no purchase
        return Outcome(success, "purchase", f"bought again{since_text} (the later purchase log)")
    raise DataError(
        "The later file needs a churn column in a customers table (who left) or a purchase log (customer id, "
        "order date, amount) to say what happened after the campaign."
    )


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (Wilson 1927), via scipy's binomtest.

    Parameters
    ----------
    successes, n : int
        Successes out of n.
    confidence : float, default 0.95
        Coverage.

    Returns
    -------
    tuple of float
        (low, high), shares 0..1.
    """
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def newcombe_interval(x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95) -> tuple[float, float]:
    """Interval for p1 - p2 by Newcombe's hybrid score method (Newcombe 1998, method 10).

    With Wilson intervals (l1, u1) of p1 = x1/n1 and (l2, u2) of p2 = x2/n2 and d = p1 - p2:
    lower = d - sqrt((p1 - l1)^2 + (u2 - p2)^2), upper = d + sqrt((u1 - p1)^2 + (p2 - l2)^2).

    Parameters
    ----------
    x1, n1 : int
        Successes and size of group 1.
    x2, n2 : int
        Successes and size of group 2.
    confidence : float, default 0.95
        Coverage.

    Returns
    -------
    tuple of float
        (lower, upper) of the difference of shares.
    """
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, confidence)
    l2, u2 = wilson_interval(x2, n2, confidence)
    d = p1 - p2
    return d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2)


def two_proportion_p_value(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (Agresti 2013, section 3.1.2).

    Parameters
    ----------
    x1, n1 : int
        Successes and size of group 1.
    x2, n2 : int
        Successes and size of group 2.

    Returns
    -------
    float
        The p-value.
    """
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / se
    return float(2 * stats.norm.sf(abs(z)))


@dataclass(frozen=True)
class Readout:
    """What the campaign did, measured against its control group.

    Rates are shares 0..1 of the customers with a known outcome in each group.

    Attributes
    ----------
    outcome_kind, outcome_description : str
        What was measured.
    treated, control : int
        Customers with a known outcome per group.
    treated_successes, control_successes : int
        Of them, those who stayed or bought.
    treated_rate, control_rate : float
        Their shares.
    difference : float
        Treated minus control (a difference of shares).
    interval_95 : tuple of float
        Its 95% Newcombe interval.
    p_value : float
        Two-sided.
    customers_saved : float
        difference x treated customers (can be negative).
    mean_value_treated, value_saved : float or None
        Mean value of the treated and customers_saved x it (currency;
        None without values).
    offer_cost, cost_per_saved : float or None
        Offer cost per treated customer, and offer cost x treated / customers
        saved (currency; None when nothing was saved or no cost was given).
    not_found : int
        List customers missing from the later file (left out).
    distinguishable : bool
        False when the interval contains 0.
    """

    outcome_kind: str
    outcome_description: str
    treated: int
    control: int
    treated_successes: int
    control_successes: int
    treated_rate: float
    control_rate: float
    difference: float
    interval_95: tuple[float, float]
    p_value: float
    customers_saved: float
    mean_value_treated: float | None
    value_saved: float | None
    offer_cost: float | None
    cost_per_saved: float | None
    not_found: int
    distinguishable: bool

    @property
    def verdict(self) -> str:
        """The readout in one or two plain sentences."""
        what = "retention" if self.outcome_kind == "retention" else "purchase"
        lo, hi = self.interval_95
        rates = (
            f"{self.treated_rate:.1%} of the {self.treated:,} treated customers and {self.control_rate:.1%} of the "
            f"{self.control:,} in the control group {'stayed' if what == 'retention' else 'bought again'}"
        )
        gap = f"a difference of {100 * self.difference:+.1f} points (95% interval {100 * lo:+.1f} to {100 * hi:+.1f})"
        if not self.distinguishable:
            return (
                f"{rates}: {gap}. **This cannot be told apart from chance** (p = {self.p_value:.2f}): the interval "
                f"includes zero, so the data does not show that the campaign changed {what}. A bigger control group "
                "or a longer wait gives a sharper answer."
            )
        direction = "raised" if self.difference > 0 else "lowered"
        chance = "less than 0.001" if self.p_value < 0.001 else f"{self.p_value:.3f}"
        return (
            f"{rates}: {gap}. The campaign {direction} {what}; a difference this large would arise by chance "
            f"with probability {chance} if the offer did nothing."
        )

    def to_dict(self) -> dict:
        """The report's `campaign.uplift` section (JSON-ready; keys are a stable contract).

        Returns
        -------
        dict
            The readout's figures.
        """
        return {
            "outcome": self.outcome_kind,
            "outcome_description": self.outcome_description,
            "treated": self.treated,
            "control": self.control,
            "treated_rate": self.treated_rate,
            "control_rate": self.control_rate,
            "difference": self.difference,
            "interval_95": [self.interval_95[0], self.interval_95[1]],
            "interval_method": "Newcombe (1998) hybrid score, from Wilson intervals",
            "p_value": self.p_value,
            "p_value_method": "pooled two-proportion z-test, two-sided",
            "distinguishable_from_chance": self.distinguishable,
            "customers_saved": self.customers_saved,
            "mean_value_treated": self.mean_value_treated,
            "value_saved": self.value_saved,
            "offer_cost": self.offer_cost,
            "cost_per_saved_customer": self.cost_per_saved,
            "not_found_in_outcome": self.not_found,
            "verdict": self.verdict.replace("**", ""),
        }


def read_out(
    contact_list: pd.DataFrame,
    outcome: Outcome,
    *,
    value: pd.Series | None = None,
    offer_cost: float | None = None,
) -> Readout:
    """Measure the campaign: treated vs control rate, interval, p-value, value saved, cost per save.

    Parameters
    ----------
    contact_list : pd.DataFrame
        customer_id + group (see `parse_contact_list`).
    outcome : Outcome
        What happened after the campaign (see `outcome_from_data`).
    value : pd.Series, optional
        Customer value (currency) indexed by customer id; the value saved uses the mean over
        the treated customers found in it.
    offer_cost : float, optional
        Cost of the offer per treated customer (currency), for the cost per saved customer.

    Returns
    -------
    Readout
        The measured effect.

    Raises
    ------
    DataError
        When a group has no customer with a known outcome.
    """
    groups = contact_list.set_index(contact_list[CUSTOMER_ID].astype(str))[GROUP]
    if outcome.kind == "purchase":  # no purchase in the later log = did not buy
        known = groups.index
        ok = outcome.success.reindex(known, fill_value=False).astype(bool)
    else:
        known = groups.index.intersection(outcome.success.index)
        ok = outcome.success.reindex(known).astype(bool)
    not_found = int(len(groups) - len(known))
    g = groups.reindex(known)
    treated, control = (g == TREATMENT).to_numpy(), (g == CONTROL).to_numpy()
    n1, n2 = int(treated.sum()), int(control.sum())
    if n1 == 0 or n2 == 0:
        empty = "treated" if n1 == 0 else "control"
        raise DataError(
            f"None of the {empty} customers of the list appear in the later file ({not_found:,} of "
            f"{len(groups):,} listed customers not found): check that both files use the same customer ids."
        )
    x1, x2 = int(ok.to_numpy()[treated].sum()), int(ok.to_numpy()[control].sum())
    p1, p2 = x1 / n1, x2 / n2
    lo, hi = newcombe_interval(x1, n1, x2, n2)
    saved = (p1 - p2) * n1
    mean_value = None
    if value is not None:
        v = pd.Series(value, dtype=float).rename(index=str).reindex(known[treated]).dropna()
        mean_value = float(v.mean()) if len(v) else None
    value_saved = saved * mean_value if mean_value is not None else None
    cost_per_saved = offer_cost * n1 / saved if offer_cost is not None and saved > 0 else None
    return Readout(
        outcome_kind=outcome.kind,
        outcome_description=outcome.description,
        treated=n1,
        control=n2,
        treated_successes=x1,
        control_successes=x2,
        treated_rate=p1,
        control_rate=p2,
        difference=p1 - p2,
        interval_95=(lo, hi),
        p_value=two_proportion_p_value(x1, n1, x2, n2),
        customers_saved=saved,
        mean_value_treated=mean_value,
        value_saved=value_saved,
        offer_cost=offer_cost,
        cost_per_saved=cost_per_saved,
        not_found=not_found,
        distinguishable=not (lo <= 0 <= hi),
    )


def simulate_campaign(
    n_customers: int = 5000,
    *,
    base_rate: float = 0.70,
    uplift: float = 0.05,
    control_share: float = DEFAULT_CONTROL_SHARE,
    seed: int = 0,
) -> tuple[pd.DataFrame, Outcome]:
    """A campaign with a known true uplift, for checking the readout.

    Each customer gets a churn risk (Beta(2, 5)); the control group is drawn as in production
    (stratified by risk decile); a customer's chance to stay is `base_rate` + `uplift` when
    treated and `base_rate` in control. The true difference is `uplift`.

    Parameters
    ----------
    n_customers : int
        Customers in the list.
    base_rate : float
        Chance to stay without the offer.
    uplift : float
        The true effect of the offer.
    control_share : float
        Share held out.
    seed : int
        Seed.

    Returns
    -------
    tuple of (pd.DataFrame, Outcome)
        (contact list, outcome), ready for `read_out`.
    """
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"C{i:06d}" for i in range(n_customers)])
    risk = rng.beta(2.0, 5.0, n_customers)
    group = assign_control_group(ids, risk, control_share=control_share, seed=seed)
    treated = (group == TREATMENT).to_numpy()
    stay = rng.random(n_customers) < np.where(treated, base_rate + uplift, base_rate)
    contacts = pd.DataFrame({CUSTOMER_ID: ids, GROUP: group.to_numpy()})
    return contacts, Outcome(pd.Series(stay, index=ids), "retention", "stayed (simulated)")


def readout_coverage(runs: int, *, n_customers: int = 5000, uplift: float = 0.05, base_rate: float = 0.70) -> float:
    """Share of `runs` seeded simulated campaigns (seeds 0..runs-1) whose 95% interval holds the true uplift.

    Parameters
    ----------
    runs : int
        Simulated campaigns.
    n_customers : int
        Customers each.
    uplift : float
        The true effect.
    base_rate : float
        Chance to stay without the offer.

    Returns
    -------
    float
        Coverage, 0..1 (close to 0.95 when the interval is right).
    """
    hits = 0
    for seed in range(runs):
        contacts, outcome = simulate_campaign(n_customers, base_rate=base_rate, uplift=uplift, seed=seed)
        lo, hi = read_out(contacts, outcome).interval_95
        hits += lo <= uplift <= hi
    return hits / runs
