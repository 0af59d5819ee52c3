"""Shifted-beta-geometric (sBG) retention model for subscription (contractual) customers.

Fader & Hardie (2007), "How to project customer retention", Journal of Interactive Marketing
21(1): at each renewal an active customer leaves with probability theta; theta varies between
customers as beta(alpha, beta). With T the number of periods a customer pays for (T >= 1):

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)              (their eq. 5)
    S(t) = P(T > t) = B(alpha, beta + t) / B(alpha, beta)               (eq. 6)
    retention rate r_t = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)   (eq. 8)

so retention rises with tenure because the customers who are quick to leave leave first.

Valuation (Fader & Hardie 2010, "Customer-base valuation in a contractual setting: the perils of
ignoring heterogeneity", Marketing Science 29(1)), with one payment at the start of each period
and a discount rate d per period:

    DEL(d) = sum_{t>=0} S(t) / (1 + d)^t = 2F1(1, beta; alpha + beta; 1 / (1 + d))            (eq. 4)
    DERL(d, n) = S(n) / S(n - 1) * 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d))            (eq. 6)

DEL is the discounted expected number of payments of a new customer; DERL that of a customer who
has renewed n - 1 times, valued just before the n-th renewal. Expected CLV = margin x charge x DEL.

From a customers table (`tenure_months`, `churned`, or `signup_date` / `churn_date`), with one
period = one month: a customer who churned after m months paid for T = ceil(m) periods (at least
1); an active customer observed for m months has passed floor(m) renewals, so T > floor(m).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, hyp2f1

from analytics.data.periods import DAYS_PER_MONTH
from analytics.data.schema import (
    CHURN_DATE,
    CHURNED,
    CUSTOMER_ID,
    MONTHLY_CHARGE,
    SIGNUP_DATE,
    TENURE_MONTHS,
    DataError,
)

MIN_CUSTOMERS = 20
"""Fewest customers we fit a retention curve to (two parameters; fewer is mostly noise)."""


class ShiftedBetaGeometric:
    """sBG retention model (see the module docstring for the formulas).

    Attributes (after fit)
    ----------------------
    alpha_, beta_ : float
        Beta-distribution parameters of the per-period churn probability.
    params_ : dict
        {'alpha': alpha_, 'beta': beta_}.
    log_likelihood_ : float
        Total log-likelihood at the estimate.
    n_customers_, n_churned_ : int
        Customers (sum of weights) and of them those who left.
    max_period_ : int
        Longest observed lifetime in periods (the curve beyond it is a projection).
    """

    def fit(self, periods: Any, churned: Any, weights: Any = None) -> ShiftedBetaGeometric:
        """Fit alpha and beta by maximum likelihood (Fader & Hardie 2007, eq. 7).

        Parameters
        ----------
        periods : array of int
            For a customer who churned: T, the number of periods paid for (>= 1). For an active
            customer: the number of periods survived so far (T > periods, >= 0).
        churned : array of bool
            Whether each customer has left.
        weights : array of float, optional
            Number of customers each row stands for (e.g. cohort counts).

        Returns
        -------
        ShiftedBetaGeometric
            self, fitted (`alpha_`, `beta_`, `params_`, `log_likelihood_`, ...).

        Raises
        ------
        DataError
            With fewer than MIN_CUSTOMERS customers, nobody churned, lifetimes that are not whole
            non-negative periods, or fewer than two renewal periods observed.
        """
        t = np.asarray(periods, dtype=np.float64)
        c = np.asarray(churned, dtype=bool)
        w = np.ones(len(t)) if weights is None else np.asarray(weights, dtype=np.float64)
        if not (len(t) == len(c) == len(w)):
            raise DataError("periods, churned and weights must have the same length.")
        keep = w > 0
        t, c, w = t[keep], c[keep], w[keep]
        if w.sum() < MIN_CUSTOMERS:
            raise DataError(f"Only {w.sum():,.0f} customers: a retention curve needs at least {MIN_CUSTOMERS}.")
        if not np.all(np.isfinite(t)) or np.any(t < 0) or np.any(t != np.round(t)):
            raise DataError("Customer lifetimes must be whole, non-negative numbers of periods.")
        if np.any(c & (t < 1)):
            raise DataError("A customer who churned must have paid for at least one period.")
        if not (c & (w > 0)).any():
            raise DataError("Nobody has churned yet, so there is nothing to learn how fast customers leave from.")
        if t.max() < 2:
            raise DataError(
                "Every customer has been observed for less than two renewal periods (a single "
                "cohort-period). The model needs at least two renewals to tell how fast customers "
                "leave apart from how much that speed differs between them."
            )
        # Group identical (t, churned) rows: the likelihood only depends on them.
        key = pd.DataFrame({"t": t, "c": c, "w": w}).groupby(["t", "c"], as_index=False)["w"].sum()
        tt, cc, ww = key["t"].to_numpy(), key["c"].to_numpy(), key["w"].to_numpy()

        def nll(log_ab: np.ndarray) -> float:
            a, b = np.exp(log_ab)
            base = betaln(a, b)
            ll = np.where(cc, betaln(a + 1, b + tt - 1), betaln(a, b + tt)) - base
            return -float(np.dot(ww, ll))

        best = None
        for start in ((0.0, 0.0), (0.0, 1.5), (-1.0, 1.0)):
            res = minimize(
                nll,
                np.array(start),
                method="L-BFGS-B",
                bounds=[(-12, 12), (-12, 12)],
                options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 1000},
            )
            if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
                best = res
        if best is None:
            raise DataError("The retention model did not converge on this data.")
        self.alpha_, self.beta_ = (float(v) for v in np.exp(best.x))
        self.params_ = {"alpha": self.alpha_, "beta": self.beta_}
        self.log_likelihood_ = -float(best.fun)
        self.n_customers_ = int(round(w.sum()))
        self.n_churned_ = int(round(w[c].sum()))
        self.max_period_ = int(t.max())
        return self

    def _check(self) -> None:
        if not hasattr(self, "alpha_"):
            raise RuntimeError("ShiftedBetaGeometric is not fitted yet: call fit() first.")

    def survival(self, t: Any) -> np.ndarray:
        """S(t): share of a new cohort still paying after t periods (S(0) = 1; eq. 6).

        Parameters
        ----------
        t : int or array of int
            Periods since joining.

        Returns
        -------
        np.ndarray
            Shares between 0 and 1, one per `t`.
        """
        self._check()
        t = np.asarray(t, dtype=np.float64)
        return np.exp(betaln(self.alpha_, self.beta_ + t) - betaln(self.alpha_, self.beta_))

    def churn_probability(self, t: Any) -> np.ndarray:
        """P(T = t): probability a new customer pays for exactly t periods (t >= 1; eq. 5).

        Parameters
        ----------
        t : int or array of int
            Number of periods paid for.

        Returns
        -------
        np.ndarray
            Probabilities, one per `t`.
        """
        self._check()
        t = np.asarray(t, dtype=np.float64)
        return np.exp(betaln(self.alpha_ + 1, self.beta_ + t - 1) - betaln(self.alpha_, self.beta_))

    def retention_rate(self, t: Any) -> np.ndarray:
        """r_t = S(t) / S(t-1): share of customers active in period t-1 who renew into period t (eq. 8).

        Parameters
        ----------
        t : int or array of int
            Period number (>= 1).

        Returns
        -------
        np.ndarray
            Retention rates between 0 and 1, rising with t.
        """
        self._check()
        t = np.asarray(t, dtype=np.float64)
        return (self.beta_ + t - 1) / (self.alpha_ + self.beta_ + t - 1)

    def retention_curve(self, n_periods: int) -> pd.DataFrame:
        """The cohort's survival and retention rate period by period, as a table for charts.

        Parameters
        ----------
        n_periods : int
            Last period shown.

        Returns
        -------
        pd.DataFrame
            Columns period (0..n_periods), survival (share of a new cohort), retention_rate (NaN at
            period 0) and projected (True beyond the longest observed lifetime).
        """
        t = np.arange(n_periods + 1)
        rate = np.r_[np.nan, self.retention_rate(t[1:])]
        return pd.DataFrame(
            {"period": t, "survival": self.survival(t), "retention_rate": rate, "projected": t > self.max_period_}
        )

    def expected_lifetime(self) -> float:
        """E[T], the mean number of periods a new customer pays for.

        Returns
        -------
        float
            (alpha + beta - 1) / (alpha - 1) periods; infinite when alpha <= 1 (heavy tail).
        """
        self._check()
        return (self.alpha_ + self.beta_ - 1) / (self.alpha_ - 1) if self.alpha_ > 1 else math.inf

    def median_lifetime(self, max_periods: int = 10_000) -> float | None:
        """The median lifetime: smallest t with S(t) <= 0.5.

        Parameters
        ----------
        max_periods : int, default 10000
            How far to look.

        Returns
        -------
        float or None
            Periods, or None when half the cohort is still there after `max_periods`.
        """
        s = self.survival(np.arange(max_periods + 1))
        below = np.flatnonzero(s <= 0.5)
        return float(below[0]) if len(below) else None

    def discounted_expected_lifetime(self, discount_rate: float) -> float:
        """DEL: discounted expected number of payments of a new customer (F&H 2010, eq. 4).

        Parameters
        ----------
        discount_rate : float
            Discount rate per period (0 or less: undiscounted, the expected lifetime).

        Returns
        -------
        float
            Payments; expected CLV of a new customer = margin x charge x DEL.
        """
        self._check()
        if discount_rate <= 0:
            return self.expected_lifetime()
        return float(hyp2f1(1.0, self.beta_, self.alpha_ + self.beta_, 1.0 / (1.0 + discount_rate)))

    def discounted_expected_residual_lifetime(self, discount_rate: float, renewals: Any) -> np.ndarray:
        """DERL(d, n) with n = renewals + 1: discounted expected future payments of a customer who has
        renewed `renewals` times, valued just before the next renewal (F&H 2010, eq. 6).

        Parameters
        ----------
        discount_rate : float
            Discount rate per period (0 or less: undiscounted).
        renewals : int or array of int
            Renewals so far.

        Returns
        -------
        np.ndarray
            Payments, one per customer.
        """
        self._check()
        n = np.asarray(renewals, dtype=np.float64) + 1
        a, b = self.alpha_, self.beta_
        ratio = np.exp(betaln(a, b + n) - betaln(a, b + n - 1))
        if discount_rate <= 0:
            # undiscounted: sum_{t>=n} S(t) / S(n-1) = ratio * (a + b + n - 1) / (a - 1) for a > 1
            return ratio * ((a + b + n - 1) / (a - 1)) if a > 1 else np.full_like(n, np.inf)
        return ratio * hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + discount_rate))


def cohort_from_survival(survival: Any, cohort_size: float = 1000.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Individual-level (periods, churned, weights) from a cohort's survival curve.

    Customers lost during period t paid for t periods; those still active after n periods are
    censored at n.

    Parameters
    ----------
    survival : array of float
        The share (or percentage) still active at the start of periods 0, 1, ..., n (first value
        = 100% or 1); it cannot go up.
    cohort_size : float, default 1000
        Customers the curve stands for (scales the weights only).

    Returns
    -------
    tuple of np.ndarray
        (periods, churned, weights), ready for `ShiftedBetaGeometric.fit`.
    """
    s = np.asarray(survival, dtype=np.float64)
    s = s / s[0]
    if np.any(np.diff(s) > 0):
        raise DataError("A survival curve cannot go up.")
    n = len(s) - 1
    lost = cohort_size * (s[:-1] - s[1:])
    periods = np.r_[np.arange(1, n + 1), n]
    churned = np.r_[np.ones(n, dtype=bool), False]
    return periods, churned, np.r_[lost, cohort_size * s[-1]]


def customer_periods(customers: pd.DataFrame, *, observation_end: Any = None) -> pd.DataFrame:
    """Monthly lifetimes from a customers table.

    Uses `tenure_months` when present, else months from `signup_date` to `churn_date` (churned)
    or to `observation_end` (active). `churned` is required.

    Parameters
    ----------
    customers : pd.DataFrame
        The cleaned customers table.
    observation_end : date-like, optional
        "Today" for active customers (default: the latest date in the table).

    Returns
    -------
    pd.DataFrame
        customer_id, tenure_months (float), periods (int, see the module docstring), churned (bool).
        Customers with no churn flag or no usable tenure are left out.
    """
    if customers is None or CHURNED not in customers.columns:
        raise DataError("The retention model needs a customers table with a churned (yes/no) column.")
    frame = customers.copy()
    if TENURE_MONTHS in frame.columns and frame[TENURE_MONTHS].notna().any():
        tenure = pd.to_numeric(frame[TENURE_MONTHS], errors="coerce")
    elif SIGNUP_DATE in frame.columns and frame[SIGNUP_DATE].notna().any():
        end = pd.Timestamp(observation_end) if observation_end is not None else None
        if end is None:
            dates = [frame[c].max() for c in (SIGNUP_DATE, CHURN_DATE) if c in frame.columns]
            end = max(d for d in dates if pd.notna(d))
        stop = frame[CHURN_DATE] if CHURN_DATE in frame.columns else pd.Series(pd.NaT, index=frame.index)
        stop = stop.where(stop.notna(), end)
        tenure = (stop - frame[SIGNUP_DATE]).dt.days / DAYS_PER_MONTH
    else:
        raise DataError("The retention model needs tenure_months or a signup_date for each customer.")
    churned = frame[CHURNED].astype("boolean")
    ok = tenure.notna() & (tenure >= 0) & churned.notna()
    months, left = tenure[ok].to_numpy(dtype=np.float64), churned[ok].to_numpy(dtype=bool)
    periods = np.where(left, np.maximum(1, np.ceil(months - 1e-9)), np.floor(months + 1e-9)).astype(np.int64)
    ids = frame.loc[ok, CUSTOMER_ID].to_numpy() if CUSTOMER_ID in frame.columns else np.arange(ok.sum())
    return pd.DataFrame({CUSTOMER_ID: ids, "tenure_months": months, "periods": periods, "churned": left})


def monthly_rate(annual_discount_rate: float) -> float:
    """Monthly rate equivalent to an annual one: (1 + annual)^(1/12) - 1.

    Parameters
    ----------
    annual_discount_rate : float
        Yearly rate, e.g. 0.10.

    Returns
    -------
    float
        Rate per month.
    """
    return (1 + annual_discount_rate) ** (1 / 12) - 1


def subscription_values(
    customers: pd.DataFrame,
    model: ShiftedBetaGeometric,
    *,
    margin: float,
    annual_discount_rate: float,
    periods: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Expected remaining value of each active subscriber (currency).

    remaining_value = margin x monthly_charge x DERL(d, n) with n - 1 = renewals so far (F&H 2010)
    and d the monthly rate equivalent to `annual_discount_rate`.

    Parameters
    ----------
    customers : pd.DataFrame
        The cleaned customers table, with `monthly_charge`.
    model : ShiftedBetaGeometric
        A fitted model.
    margin : float
        Share of the charge kept as margin.
    annual_discount_rate : float
        Yearly discount rate.
    periods : pd.DataFrame, optional
        `customer_periods(customers)`, when already computed.

    Returns
    -------
    pd.DataFrame
        Active customers: customer_id, tenure_months, renewals, monthly_charge, retention_next
        (probability of the next renewal), expected_payments (discounted), remaining_value.
    """
    if MONTHLY_CHARGE not in customers.columns:
        raise DataError("Subscriber value needs each customer's monthly_charge.")
    p = customer_periods(customers) if periods is None else periods
    active = p[~p["churned"]].copy()
    charge = customers.set_index(CUSTOMER_ID)[MONTHLY_CHARGE].reindex(active[CUSTOMER_ID]).to_numpy(dtype=np.float64)
    d = monthly_rate(annual_discount_rate)
    active["renewals"] = active["periods"]
    active["monthly_charge"] = charge
    active["retention_next"] = model.retention_rate(active["periods"].to_numpy() + 1)
    active["expected_payments"] = model.discounted_expected_residual_lifetime(d, active["periods"].to_numpy())
    active["remaining_value"] = margin * charge * active["expected_payments"]
    return active.drop(columns=["periods", "churned"]).reset_index(drop=True)


FEW_CHURNERS = 30  # below this many leavers the sBG tail (and so the mean lifetime) rests on a handful of events


def lifetime_caveat(n_churned: int, expected_lifetime: float | None, max_period: int) -> str | None:
    """A plain-word warning when the expected lifetime is an extrapolation the data cannot carry.

    Parameters
    ----------
    n_churned : int
        Customers observed leaving.
    expected_lifetime : float or None
        The model's mean lifetime in months (None when unbounded).
    max_period : int
        The longest tenure in the data, months.

    Returns
    -------
    str or None
        The caveat, or None when the figure is supported (at least 30 leavers and a lifetime within
        three times the longest observed tenure).
    """
    far = expected_lifetime is not None and expected_lifetime > 3 * max(max_period, 1)
    if n_churned >= FEW_CHURNERS and not far:
        return None
    life = "unbounded" if expected_lifetime is None else f"{expected_lifetime:,.0f} months"
    return (
        f"Only {n_churned:,} customers left in the data, and the longest tenure is {max_period:,} months: the expected "
        f"lifetime ({life}) is extrapolated far beyond what was observed. Read it as 'long', not as a figure; "
        "lifetime values built on it are as uncertain."
        if n_churned < FEW_CHURNERS
        else f"The expected lifetime ({life}) is more than three times the longest tenure in the data "
        f"({max_period:,} months): it is a projection of the fitted curve, not something observed."
    )
