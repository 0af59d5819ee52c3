"""Control groups and campaign readouts: reproducible draws, balanced risk, intervals pinned to Newcombe (1998)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.business.experiment import (
    CONTROL,
    GROUP,
    TREATMENT,
    Outcome,
    assign_control_group,
    newcombe_interval,
    outcome_from_data,
    parse_contact_list,
    read_out,
    readout_coverage,
    two_proportion_p_value,
    wilson_interval,
    with_control_group,
)
from analytics.data.ingest import load_files
from analytics.data.schema import DataError
from analytics.reports.sections.campaign import report_section as campaign_report_section


def risky_list(n: int = 3000, seed: int = 1) -> tuple[pd.Index, np.ndarray]:
    rng = np.random.default_rng(seed)
    return pd.Index([f"K{i:05d}" for i in range(n)]), rng.beta(2, 5, n)


def test_control_group_is_reproducible_from_its_seed_and_independent_of_row_order():
    ids, risk = risky_list()
    first = assign_control_group(ids, risk, control_share=0.1, seed=7)
    again = assign_control_group(ids, risk, control_share=0.1, seed=7)
    pd.testing.assert_series_equal(first, again)
    shuffled = np.random.default_rng(3).permutation(len(ids))
    reordered = assign_control_group(ids[shuffled], risk[shuffled], control_share=0.1, seed=7)
    pd.testing.assert_series_equal(reordered.reindex(first.index), first)
    other = assign_control_group(ids, risk, control_share=0.1, seed=8)
    assert (other != first).any()


def test_control_group_holds_out_the_share_of_every_risk_decile():
    ids, risk = risky_list(3000)
    group = assign_control_group(ids, risk, control_share=0.1, seed=11)
    assert (group == CONTROL).sum() == 300  # 10 deciles of 300, 30 held out of each
    deciles = pd.qcut(pd.Series(risk, index=group.index).rank(method="first"), 10, labels=False)
    per_decile = (group == CONTROL).groupby(deciles).sum()
    assert (per_decile == 30).all()
    # balanced on risk: the two groups' mean risks differ by far less than the spread of risk
    p = pd.Series(risk, index=group.index)
    gap = abs(p[group == CONTROL].mean() - p[group == TREATMENT].mean())
    assert gap < 0.01 < p.std()


def test_with_control_group_marks_the_export_after_the_id_column():
    contacts = pd.DataFrame({"Rank": [1, 2, 3, 4], "Customer": ["a", "b", "c", "d"], "Churn risk (%)": [90, 80, 70, 5]})
    out = with_control_group(contacts, id_column="Customer", risk_column="Churn risk (%)", control_share=0.25, seed=1)
    assert list(out.columns) == ["Rank", "Customer", GROUP, "Churn risk (%)"]
    assert set(out[GROUP]) <= {TREATMENT, CONTROL}


def test_bad_share_and_duplicates_are_refused_in_words():
    ids, risk = risky_list(10)
    with pytest.raises(DataError, match="between 0% and 100%"):
        assign_control_group(ids, risk, control_share=0)
    with pytest.raises(DataError, match="twice"):
        assign_control_group(pd.Index(["a", "a"]), [0.1, 0.2])


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "low", "high"),
    [  # Newcombe (1998), Statistics in Medicine 17:873, Table II, method 10
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
    ],
)
def test_newcombe_interval_matches_the_published_table(x1, n1, x2, n2, low, high):
    lo, hi = newcombe_interval(x1, n1, x2, n2)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


def test_wilson_interval_and_z_test_by_hand():
    # Wilson (1927) interval of 81/263 (Newcombe 1998b, Table I example): 0.2553 to 0.3662
    lo, hi = wilson_interval(81, 263)
    assert (lo, hi) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    # 60/100 vs 45/100: pooled p 0.525, se = sqrt(.525*.475*.02) = 0.070622, z = 2.1240, p = 0.03367
    assert two_proportion_p_value(60, 100, 45, 100) == pytest.approx(0.03367, abs=1e-4)


def hand_campaign() -> tuple[pd.DataFrame, Outcome]:
    ids = [f"c{i}" for i in range(200)]
    group = [CONTROL if i < 50 else TREATMENT for i in range(200)]
    # control: 30 of 50 stay (60%); treated: 120 of 150 stay (80%)
    stay = [i < 30 for i in range(50)] + [i < 120 for i in range(150)]
    contacts = pd.DataFrame({"customer_id": ids, GROUP: group})
    return contacts, Outcome(pd.Series(stay, index=ids), "retention", "stayed")


def test_readout_by_hand():
    contacts, outcome = hand_campaign()
    value = pd.Series(100.0, index=contacts["customer_id"])
    r = read_out(contacts, outcome, value=value, offer_cost=10.0)
    assert (r.treated, r.control, r.treated_rate, r.control_rate) == (150, 50, 0.8, 0.6)
    assert r.difference == pytest.approx(0.2)
    assert r.interval_95 == pytest.approx(newcombe_interval(120, 150, 30, 50))
    assert r.customers_saved == pytest.approx(30.0)  # 0.2 x 150
    assert r.value_saved == pytest.approx(3000.0)  # 30 x 100
    assert r.cost_per_saved == pytest.approx(50.0)  # 10 x 150 / 30
    assert r.distinguishable and "raised retention" in r.verdict
    section = campaign_report_section(readout=r)
    assert section["control_share"] == 0.1
    assert set(section["uplift"]) >= {"treated_rate", "control_rate", "difference", "interval_95", "p_value"}


def test_readout_says_plainly_when_the_difference_is_chance():
    ids = [f"c{i}" for i in range(100)]
    contacts = pd.DataFrame({"customer_id": ids, GROUP: [CONTROL] * 20 + [TREATMENT] * 80})
    stay = [i % 2 == 0 for i in range(100)]  # 50% in both groups
    r = read_out(contacts, Outcome(pd.Series(stay, index=ids), "retention", "stayed"), offer_cost=5.0)
    assert not r.distinguishable
    assert "cannot be told apart from chance" in r.verdict
    assert r.cost_per_saved is None  # nothing saved


def test_simulated_campaign_is_read_out_within_its_interval():
    """True uplift 5 points on 5,000 customers: the 95% interval covers it in >= 90% of seeded runs.

    20 runs here (the benchmark runs 100): with true coverage 95%, 16 or fewer hits out of 20 has
    probability about 1.6%, so this fails for a broken interval, not by bad luck.
    """
    assert readout_coverage(20, n_customers=5000, uplift=0.05) >= 17 / 20


def test_contact_list_and_outcome_files_round_trip(tmp_path):
    listed = pd.DataFrame(
        {"Rank": [1, 2, 3], "Customer": ["'-7", "B", "C"], "group": ["treatment", "Control", "treatment"]}
    )
    contacts = parse_contact_list(listed)
    assert list(contacts["customer_id"]) == ["-7", "B", "C"]  # the export's formula escape is undone
    assert list(contacts[GROUP]) == [TREATMENT, CONTROL, TREATMENT]
    later = load_files([("later.csv", b"customer_id,churned\n-7,No\nB,Yes\nC,Yes\n")])
    outcome = outcome_from_data(later)
    assert outcome.kind == "retention" and outcome.success.to_dict() == {"-7": True, "B": False, "C": False}
    purchases = load_files(
        [("orders.csv", b"customer_id,order_date,amount\n-7,2025-01-05,10\nB,2025-03-01,12\nC,2024-12-01,8\n")]
    )
    bought = outcome_from_data(purchases, since=pd.Timestamp("2025-01-01"))
    assert bought.kind == "purchase" and bought.success.to_dict() == {"-7": True, "B": True, "C": False}


def test_contact_list_without_group_names_the_fix():
    with pytest.raises(DataError, match="'group' column"):
        parse_contact_list(pd.DataFrame({"Customer": ["a"]}))


def _control_group_by_sorting_text(customer_ids, risk, control_share, seed):
    """The draw as first written (pandas sorts the text ids, groups set by label): the specification the
    faster `assign_control_group` must equal."""
    ids = pd.Index(pd.Series(customer_ids).astype(str).to_numpy(), name="customer_id")
    canonical = pd.Series(np.asarray(risk, dtype=float), index=ids).sort_index(kind="stable")
    strata = canonical.rank(method="first").pipe(lambda r: ((r.to_numpy() - 1) * 10) // len(r) + 1)
    rng = np.random.default_rng(seed)
    group = pd.Series(TREATMENT, index=canonical.index, name=GROUP)
    for stratum in sorted(np.unique(strata)):
        members = canonical.index[strata == stratum]
        k = int(round(control_share * len(members)))
        if k:
            group.loc[members[rng.permutation(len(members))[:k]]] = CONTROL
    return group.reindex(ids)


@pytest.mark.parametrize("seed", [0, 2026])
def test_the_control_group_is_the_one_drawn_by_sorting_the_text_ids(seed):
    """Ids of every shape (numbers as text of different lengths, letters, accents, emoji, an empty
    string, a lone surrogate that UTF-8 cannot encode): the same groups as sorting them in pandas."""
    rng = np.random.default_rng(seed)
    ids = [str(i) for i in rng.permutation(5000)] + ["", "Zoë", "zoe", "Ökonom", "éa", "😀x", "a\ud800b", "A", "a"]
    ids = [ids[i] for i in rng.permutation(len(ids))]
    risk = np.round(rng.beta(2, 5, len(ids)), 2)  # ties among risks
    for share in (0.1, 0.37):
        got = assign_control_group(ids, risk, control_share=share, seed=seed)
        pd.testing.assert_series_equal(got, _control_group_by_sorting_text(ids, risk, share, seed))
    no_surrogate = [i for i in ids if i != "a\ud800b"]
    risk_ns = risk[: len(no_surrogate)]
    got = assign_control_group(no_surrogate, risk_ns, control_share=0.1, seed=seed)
    pd.testing.assert_series_equal(got, _control_group_by_sorting_text(no_surrogate, risk_ns, 0.1, seed))
