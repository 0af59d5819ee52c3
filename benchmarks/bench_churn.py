"""Benchmark: the churn analysis on 100,000 customers with 20 attributes.

Synthetic, seeded customers table (8 text attributes incl. a 40-level one with rare levels, 12
numeric incl. a text-stored number with blanks and a survey score with 35% blanks), churn drawn
from a logistic model of a few of them. Times, in one process:

- full: `analyse_churn` (label detection, feature preparation, leakage checks, stratified CV of
  logistic regression AND gradient boosting, permutation importance on a 5,000-row sample, refit
  on all, gains, calibration, drivers);
- score: `predict_proba` of the refit model on all customers;
- baseline: the same analysis with the logistic model only (`ChurnSettings(model="logistic")`);
- boosting only: the same with gradient boosting only (its permutation importance is the slower).

Prints the times, the ratio full / baseline and the CV ROC AUC of each.

With `--purchases FILE` (a purchase log, e.g. benchmarks/out/scale_2000000.csv written by
bench_scale.py) it times instead, in CPU and wall seconds, the report's churn model on churn
derived from purchases, after `load_files` and the customer-day table (built by earlier sections
in the report): features (the label and features at the cutoff, and the features today), the
whole `analyse_churn`, and scoring every customer today (`ChurnModel.predict_proba`). It prints
the AUC and a checksum of the scores, so two builds run one after the other can be compared.

    python benchmarks/bench_churn.py [--customers 100000]
    python benchmarks/bench_churn.py --purchases benchmarks/out/scale_2000000.csv
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.business.churn_analysis import ChurnSettings, analyse_churn
from analytics.data.schema import CustomerData


def make_customers(n: int, seed: int = 42) -> pd.DataFrame:
    """A customers table with 20 attributes, a Yes/No 'Churn' column and an id."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.28, 0.17])
    tenure = rng.integers(0, 72, n).astype(float)
    charge = np.round(rng.uniform(18, 120, n), 2)
    nps = np.clip(np.round(rng.normal(7, 2.2, n)), 0, 10)
    tickets = rng.poisson(1.5, n).astype(float)
    resolution = np.round(rng.lognormal(np.log(20), 0.5, n), 1)
    logit = (
        -1.2
        + np.select([contract == "Month-to-month", contract == "One year"], [0.0, -0.9], -1.9)
        - 0.03 * tenure
        + 0.008 * (charge - 60)
        - 0.15 * (nps - 7)
        + 0.2 * tickets
        + 0.02 * (resolution - 20)
    )
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    total = np.round(charge * tenure, 2).astype(str).astype(object)
    total[tenure == 0] = " "
    states = np.array([f"State {i:02d}" for i in range(40)])
    state_p = np.r_[np.full(30, 0.03), np.full(10, 0.01)]
    frame = pd.DataFrame(
        {
            "customerID": [f"{i:07d}-X" for i in range(n)],
            "Contract": contract,
            "Plan": rng.choice(["Basic", "Standard", "Premium"], n),
            "Region": rng.choice([f"Region {i}" for i in range(10)], n),
            "Channel": rng.choice(["Paid", "Referral", "Organic", "Partner", "Retail"], n),
            "PaymentMethod": rng.choice(["Card", "Bank", "Check", "Wallet"], n),
            "Gender": rng.choice(["Female", "Male"], n),
            "State": rng.choice(states, n, p=state_p / state_p.sum()),
            "PaperlessBilling": rng.choice(["Yes", "No"], n),
            "tenure": tenure,
            "MonthlyCharges": charge,
            "TotalCharges": total,
            "NPS": np.where(rng.random(n) < 0.35, np.nan, nps),
            "SupportTickets": tickets,
            "ResolutionHours": resolution,
            "Escalations": rng.binomial(tickets.astype(int), 0.1).astype(float),
            "Age": rng.integers(18, 90, n).astype(float),
            "Discount": np.round(rng.uniform(0, 0.3, n), 2),
            "LoginsPerMonth": rng.poisson(8, n).astype(float),
            "PageViews": rng.poisson(40, n).astype(float),
            "Noise": rng.normal(size=n),
            "Churn": np.where(churned, "Yes", "No"),
        }
    )
    return frame


def run(customers: int) -> None:
    frame = make_customers(customers)
    data = CustomerData(name="bench", customers=frame)
    print(
        f"customers: {len(frame):,}; attributes: {frame.shape[1] - 2}; churn rate {(frame['Churn'] == 'Yes').mean():.1%}"
    )
    print(f"cores: {os.cpu_count()}")

    start = time.perf_counter()
    baseline = analyse_churn(data, ChurnSettings(model="logistic"))
    t_base = time.perf_counter() - start

    start = time.perf_counter()
    full = analyse_churn(data, ChurnSettings())
    t_full = time.perf_counter() - start

    start = time.perf_counter()
    boosting = analyse_churn(data, ChurnSettings(model="gradient_boosting"))
    t_boost = time.perf_counter() - start

    X = full.features.X
    start = time.perf_counter()
    full.model.predict_proba(X)
    t_score = time.perf_counter() - start

    cv = full.model.cv_results_.set_index("model")
    print(f"folds: {full.model.metrics_['n_splits']}")
    print(f"baseline (logistic only, CV + refit + drivers): {t_base:7.1f} s  AUC {baseline.model.metrics_['auc']:.3f}")
    print(
        f"full (logistic + gradient boosting):            {t_full:7.1f} s  AUC logistic "
        f"{cv.loc['logistic', 'auc']:.3f}, boosting {cv.loc['gradient_boosting', 'auc']:.3f}; "
        f"chosen: {full.model.model_name_}"
    )
    print(f"boosting only (importance on boosting):         {t_boost:7.1f} s  AUC {boosting.model.metrics_['auc']:.3f}")
    print(f"score {len(X):,} customers:                      {t_score:7.2f} s")
    print(f"ratio full / baseline: {t_full / t_base:.1f}x")
    print("drivers:")
    for driver in full.drivers:
        print(f"  - {driver.sentence}")


def timed(label: str, work: Callable[[], Any]) -> Any:
    """Run `work`, print its CPU (this process) and wall seconds, return its result."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = work()
    print(f"{label:<34}{time.process_time() - cpu:8.2f} cpu s{time.perf_counter() - wall:8.2f} wall s", flush=True)
    return result


def run_purchases(path: Path) -> None:
    from analytics.business.churn_inputs import derive_churn_label, transaction_features
    from analytics.data.ingest import load_files
    from analytics.engine.customer_days import customer_days

    data = load_files([(path.name, path.read_bytes())])
    tx = data.require_transactions()
    customer_days(tx)  # built by the sections before the churn model in the report
    print(f"purchases: {len(tx):,}; cores: {os.cpu_count()}; load: {os.getloadavg()[0]:.1f}")

    def features() -> pd.DataFrame:
        derived = derive_churn_label(tx, None, None, data.observation_end)
        as_of = data.observation_end + pd.Timedelta(days=1)
        return transaction_features(tx, as_of=as_of, window_days=derived.horizon_days)

    now = timed("features (cutoff and today)", features)
    analysis = timed("analyse_churn (features, fit, scores)", lambda: analyse_churn(data, ChurnSettings()))
    scores = timed("score every customer today", lambda: analysis.model.predict_proba(now)[:, 1])
    print(f"AUC {analysis.model.metrics_['auc']:.6f}; model {analysis.model.model_name_}")
    print(f"scores: {len(scores):,}, sum {float(np.sum(scores)):.12f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--purchases", type=Path, default=None, help="a purchase log: time derived churn on it")
    arguments = parser.parse_args()
    if arguments.purchases is not None:
        run_purchases(arguments.purchases)
    else:
        run(arguments.customers)
