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
