"""The glossary: every entry complete, hover help in its words, filtered by business kind."""

from analytics.business.glossary import TERMS, glossary_rows, help_text, term


def test_every_term_has_all_its_parts_and_a_unique_key():
    assert len({t.key for t in TERMS}) == len(TERMS)
    for t in TERMS:
        assert t.name and t.definition and t.formula and t.period and t.where and t.kinds, t.key


def test_help_text_uses_the_glossary_words():
    assert help_text("churn_rate").startswith(term("churn_rate").definition)
    assert "Formula: lost customers / customers at the start of the month." in help_text("churn_rate")


def test_rows_for_one_kind_leave_out_the_others():
    names = {r["Figure"] for r in glossary_rows("purchase_log")}
    assert "Repeat rate, <month> (monthly)" in names and "Retention, <month> (monthly)" not in names
    assert len(glossary_rows()) == len(TERMS)


def test_labels_carry_their_period_and_a_purchase_log_gets_honest_names():
    from analytics.business.glossary import figure_label, figure_name

    assert figure_label("churn_rate", "2025-12") == "Churn, Dec 2025 (monthly)"
    assert figure_label("retention_rate", "2025Q4", period_kind="quarter") == "Retention, Q4 2025 (quarterly)"
    assert figure_label("customers", "2025-12") == "Customers on the books, end of Dec 2025"
    # a purchase log: month-to-month repeat buying is not retention, lapsing is not churn, buyers are not "active"
    assert figure_label("retention_rate", "1998-06", repeat_basis=True) == "Repeat rate, Jun 1998 (monthly)"
    assert figure_label("churn_rate", "1998-06", repeat_basis=True) == "Lapsed buyers, Jun 1998 (monthly)"
    assert figure_label("active_customers", "1998-06", repeat_basis=True) == "Buyers, Jun 1998"
    # names without the period, for sentences that state it
    assert [figure_name(k) for k in ("churn_rate", "active_customers", "customer_lifetime")] == [
        "Churn",
        "Customers active",
        "Expected customer lifetime",
    ]
    assert figure_name("nps") == "NPS (survey answers to date)"
