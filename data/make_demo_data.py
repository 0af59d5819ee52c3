"""Generate the seeded subscription-business demo dataset ("Brightbox", a fictional meal-kit box).

Run from the project root:  python data/make_demo_data.py
Writes data/subscription_customers.csv and data/subscription_payments.csv (committed, so the app
never needs to run this). Same seed, same files: the tests check the mechanics below are
recoverable, so change them only together with those tests.

Mechanics (monthly time steps, 2023-01 .. 2025-12, observation end 2025-12-31):
- Customers sign up at a growing rate; each gets a contract (month-to-month 55%, one year 28%,
  two year 17%), a plan (Basic / Standard / Premium at 19 / 39 / 69 a month), a region and an
  acquisition channel.
- Support: tickets per year ~ Poisson (Premium and older customers open a few more); average
  resolution time (hours) is lognormal and worse in the South region; a share of tickets is
  escalated; first-contact resolution falls as resolution time grows.
- Satisfaction: CSAT (1-5) falls with resolution time and escalations; NPS (0-10) follows CSAT;
  CES (1-7, lower is easier) rises with tickets. Not everyone answers the surveys (blank cells).
- Churn: monthly hazard from a logistic model. Month-to-month contracts churn far more than
  one- and two-year ones; detractors (NPS 0-6), escalations and slow resolution raise it; it
  falls with tenure. Term contracts mostly leave at a renewal month.
- Spend: each active month one payment of the monthly charge, growing ~0.8% per month of tenure
  (add-ons), plus occasional add-on orders; about 0.4% of payments are later refunded (a negative
  row) and a few exports duplicate a row, so the cleaning report has something honest to show.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261123
N_CUSTOMERS = 6000
START = pd.Timestamp("2023-01-01")
MONTHS = 36  # 2023-01 .. 2025-12
OBSERVATION_END = pd.Timestamp("2025-12-31")

CONTRACTS = np.array(["Month-to-month", "One year", "Two year"])
CONTRACT_P = np.array([0.55, 0.28, 0.17])
CONTRACT_LOGIT = np.array([0.0, -0.4, -1.3])  # churn log-odds shift vs month-to-month
PLANS = np.array(["Basic", "Standard", "Premium"])
PLAN_P = np.array([0.45, 0.38, 0.17])
PLAN_PRICE = np.array([19.0, 39.0, 69.0])
REGIONS = np.array(["North", "South", "East", "West"])
REGION_P = np.array([0.3, 0.25, 0.25, 0.2])
CHANNELS = np.array(["Paid search", "Referral", "Organic", "Partner"])
CHANNEL_P = np.array([0.35, 0.2, 0.3, 0.15])
CHANNEL_CAC = np.array([85.0, 30.0, 20.0, 60.0])  # acquisition cost per customer

SPEND_GROWTH_PER_MONTH = 0.008
REFUND_SHARE = 0.004
DUPLICATE_ROWS = 25


def make_customers(rng: np.random.Generator) -> pd.DataFrame:
    """One row per customer with attributes and satisfaction (churn is simulated later)."""
    n = N_CUSTOMERS
    # Signups grow over time: month weights rise linearly from 1 to 2.5.
    month_weights = np.linspace(1.0, 2.5, MONTHS)
    signup_month = rng.choice(MONTHS, size=n, p=month_weights / month_weights.sum())
    signup_day = rng.integers(1, 29, size=n)
    signup_dates = pd.to_datetime(
        {
            "year": START.year + signup_month // 12,
            "month": signup_month % 12 + 1,
            "day": signup_day,
        }
    )
    contract = rng.choice(len(CONTRACTS), size=n, p=CONTRACT_P)
    plan = rng.choice(len(PLANS), size=n, p=PLAN_P)
    region = rng.choice(len(REGIONS), size=n, p=REGION_P)
    channel = rng.choice(len(CHANNELS), size=n, p=CHANNEL_P)
    charge = np.round(PLAN_PRICE[plan] * rng.uniform(0.95, 1.08, size=n), 2)

    tickets_rate = 1.2 + 0.8 * (plan == 2) + 0.4 * (contract == 0)
    tickets = rng.poisson(tickets_rate * 1.5)
    resolution = rng.lognormal(mean=np.log(20) + 0.45 * (region == 1), sigma=0.5, size=n)
    resolution = np.where(tickets > 0, np.round(resolution, 1), np.nan)
    escalation_share = np.clip(0.05 + np.nan_to_num(resolution) / 400, 0, 0.6)
    escalations = rng.binomial(tickets, escalation_share)
    fcr = np.where(tickets > 0, np.clip(0.85 - np.nan_to_num(resolution) / 120 + rng.normal(0, 0.08, n), 0, 1), np.nan)
    fcr = np.round(fcr, 2)

    csat_latent = (
        4.3
        - 0.012 * np.nan_to_num(resolution, nan=15.0)
        - 0.35 * escalations
        + 0.15 * (plan == 2)
        + rng.normal(0, 0.7, n)
    )
    csat = np.clip(np.round(csat_latent), 1, 5)
    nps = np.clip(np.round(2.1 * csat - 0.6 + rng.normal(0, 1.4, n)), 0, 10)
    ces = np.clip(np.round(2.0 + 0.45 * tickets + 0.6 * escalations + rng.normal(0, 0.9, n)), 1, 7)

    answered_nps = rng.random(n) < 0.62
    answered_csat = (rng.random(n) < 0.5) & (tickets > 0)
    answered_ces = (rng.random(n) < 0.45) & (tickets > 0)

    return pd.DataFrame(
        {
            "Customer ID": [f"BB-{i:05d}" for i in range(1, n + 1)],
            "Signup Date": signup_dates,
            "Contract": CONTRACTS[contract],
            "Plan": PLANS[plan],
            "Region": REGIONS[region],
            "Acquisition Channel": CHANNELS[channel],
            "Acquisition Cost": CHANNEL_CAC[channel],
            "Monthly Charge": charge,
            "Support Tickets": tickets,
            "Avg Resolution Hours": resolution,
            "Escalations": escalations,
            "First Contact Resolution": fcr,
            "CSAT": np.where(answered_csat, csat, np.nan),
            "NPS": np.where(answered_nps, nps, np.nan),
            "CES": np.where(answered_ces, ces, np.nan),
            # Latent values drive churn even where the survey was not answered.
            "_nps_latent": nps,
            "_contract_idx": contract,
        }
    )


def simulate_churn_and_payments(customers: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Walk month by month: churn hazard, then a payment for each customer still active."""
    n = len(customers)
    signup_month_idx = (
        (customers["Signup Date"].dt.year - START.year) * 12 + customers["Signup Date"].dt.month - 1
    ).to_numpy()
    contract = customers["_contract_idx"].to_numpy()
    detractor = (customers["_nps_latent"].to_numpy() <= 6).astype(float)
    escal = customers["Escalations"].to_numpy().astype(float)
    slow = (np.nan_to_num(customers["Avg Resolution Hours"].to_numpy()) > 36).astype(float)
    charge = customers["Monthly Charge"].to_numpy()

    alive = np.ones(n, dtype=bool)
    churn_month = np.full(n, -1)
    pay_cust, pay_month, pay_amount = [], [], []
    for month in range(MONTHS):
        started = signup_month_idx <= month
        tenure = month - signup_month_idx  # 0 in the signup month
        active = alive & started
        # Payment for this month (the first one on signup).
        idx = np.flatnonzero(active)
        amounts = charge[idx] * (1 + SPEND_GROWTH_PER_MONTH * tenure[idx]) * rng.uniform(0.97, 1.03, idx.size)
        pay_cust.append(idx)
        pay_month.append(np.full(idx.size, month))
        pay_amount.append(amounts)
        # Occasional add-on order: more likely for satisfied customers.
        addon = idx[rng.random(idx.size) < 0.05 + 0.04 * (1 - detractor[idx])]
        pay_cust.append(addon)
        pay_month.append(np.full(addon.size, month))
        pay_amount.append(np.round(rng.gamma(2.0, 12.0, addon.size) + 5, 2))
        # Churn at the end of the month (logistic hazard).
        renewal = (tenure % 12 == 11) | (contract == 0)
        logit = (
            -3.35
            + CONTRACT_LOGIT[contract]
            + 0.95 * detractor
            + 0.35 * np.minimum(escal, 3)
            + 0.55 * slow
            - 0.025 * tenure
            + np.where(renewal, 0.0, -1.6)
        )
        hazard = 1 / (1 + np.exp(-logit))
        leaving = active & (rng.random(n) < hazard)
        churn_month[leaving] = month
        alive &= ~leaving

    cust = np.concatenate(pay_cust)
    month = np.concatenate(pay_month)
    amount = np.round(np.concatenate(pay_amount), 2)
    day = customers["Signup Date"].dt.day.to_numpy()[cust]
    pay_dates = pd.to_datetime({"year": START.year + month // 12, "month": month % 12 + 1, "day": np.minimum(day, 28)})
    # Add-ons land a few days after the monthly payment.
    is_addon = np.zeros(cust.size, dtype=bool)
    offsets = np.cumsum([0] + [a.size for a in pay_cust])
    for k in range(1, len(pay_cust), 2):
        is_addon[offsets[k] : offsets[k + 1]] = True
    pay_dates = pay_dates + pd.to_timedelta(np.where(is_addon, rng.integers(1, 20, cust.size), 0), "D")
    pay_dates = pay_dates.where(pay_dates <= OBSERVATION_END, OBSERVATION_END)

    payments = pd.DataFrame(
        {
            "Customer ID": customers["Customer ID"].to_numpy()[cust],
            "Payment Date": pay_dates.dt.strftime("%Y-%m-%d"),
            "Amount": amount,
            "Product": np.where(is_addon, "Add-on", customers["Plan"].to_numpy()[cust] + " box"),
        }
    )
    payments = payments.sort_values(["Payment Date", "Customer ID"], kind="stable").reset_index(drop=True)
    payments.insert(0, "Invoice", [f"INV{i:07d}" for i in range(1, len(payments) + 1)])

    # Refunds: a negative row with a credit-note number (starts with C), as many ERPs export them.
    refunded = payments.sample(frac=REFUND_SHARE, random_state=int(rng.integers(1 << 31)))
    refunds = refunded.assign(
        Invoice="C" + refunded["Invoice"].str[3:],
        Amount=-refunded["Amount"],
    )
    duplicates = payments.sample(n=DUPLICATE_ROWS, random_state=int(rng.integers(1 << 31)))
    payments = (
        pd.concat([payments, refunds, duplicates])
        .sort_values(["Payment Date", "Invoice"], kind="stable")
        .reset_index(drop=True)
    )

    churned = churn_month >= 0
    # The cancellation lands on a random day of the month after the last payment (a fixed day
    # would make whole-month tenures give churn away to a model). Own stream: payments unchanged.
    cancel_rng = np.random.default_rng(SEED + 1)
    last_payment = pd.to_datetime(
        {
            "year": START.year + np.maximum(churn_month, 0) // 12,
            "month": np.maximum(churn_month, 0) % 12 + 1,
            "day": np.minimum(customers["Signup Date"].dt.day.to_numpy(), 28),
        }
    )
    churn_dates = last_payment + pd.to_timedelta(cancel_rng.integers(1, 31, n), "D")
    # A cancellation after the data's end has not happened yet as far as the data can tell.
    churned &= (churn_dates <= OBSERVATION_END).to_numpy()
    churn_dates = churn_dates.where(churned)
    end = churn_dates.fillna(OBSERVATION_END)
    tenure_months = np.round((end - customers["Signup Date"]).dt.days / (365.25 / 12), 1)

    out = customers.drop(columns=["_nps_latent", "_contract_idx"]).copy()
    out["Signup Date"] = out["Signup Date"].dt.strftime("%Y-%m-%d")
    out["Churned"] = np.where(churned, "Yes", "No")
    out["Churn Date"] = churn_dates.dt.strftime("%Y-%m-%d").fillna("")
    out["Tenure Months"] = tenure_months
    return out, payments


def make_demo_data(seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (customers, payments) exactly as they are written to the CSV files."""
    rng = np.random.default_rng(seed)
    customers = make_customers(rng)
    return simulate_churn_and_payments(customers, rng)


def main() -> None:
    here = Path(__file__).resolve().parent
    customers, payments = make_demo_data()
    customers.to_csv(here / "subscription_customers.csv", index=False)
    payments.to_csv(here / "subscription_payments.csv", index=False)
    print(
        f"customers: {len(customers):,} ({(customers['Churned'] == 'Yes').mean():.1%} churned); "
        f"payments: {len(payments):,} rows"
    )


if __name__ == "__main__":
    main()
