"""Action list: whom to call first, the close-the-loop list, exports and the workshop report (issue 6).

The ranking reads the shared model results (ui.models via ui.segments.customer_scores); filters
only slice the ranked list. Excel files and the HTML report are built when asked (a button), not on
every rerun: an Excel file of 23,000 rows takes about 7 seconds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from analytics.business.actions import close_the_loop, filter_actions
from analytics.business.glossary import help_text, period_name
from analytics.business.kpis import kpi_trend
from analytics.business.segments import QUADRANT_ADVICE, SAVE_FIRST, SEGMENTS, segment_summary
from analytics.business.value import horizon_label
from analytics.data.periods import PERIOD_NAMES, PERIODS_PER_YEAR
from analytics.data.schema import CUSTOMER_ID, NPS, DataError
from analytics.reports.charts.economics import customers_over_time
from analytics.reports.charts.health import (
    kpi_trend_chart,
    lifecycle_bar,
    segment_bars,
    stake_concentration_chart,
    value_risk_scatter,
)
from analytics.reports.export import to_excel_bytes
from analytics.reports.html_report import build_html_report
from analytics.reports.story import CARD_KEYS, card_label, headline, recommendations
from ui import actions as ua
from ui import background, look, models, state
from ui import currency as cur
from ui import segments as us
from ui import whatif as wi
from ui.campaign import control_controls, control_settings
from ui.downloads import csv_download
from ui.frame import friendly_errors, header, next_step, require_data
from ui.health import kpi_report
from ui.kind import business_kind
from ui.text import plain, safe_table

BIND = "query-params"
K_EXCEL = "actions_excel"  # (signature, bytes): session only, not a setting (no act_ prefix)
K_REPORT = "actions_report"
REPORT_TOP = 20
SHOWN_ROWS = 1_000  # rows of the ranked list drawn on the page (the downloads hold every row)

header(
    "Action list",
    "Whom to call first: current customers ranked by the value at stake if nothing is done (lifetime value x "
    "churn probability), each with the reason in words, then the customers whose feedback or tickets still need "
    "an answer. Download the lists, or build the workshop report. Money is in your file's currency.",
)
data = require_data()


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def signature(*parts: object) -> str:
    """What a prepared file depends on: a stale file is never offered after a change."""
    return repr((state.data_key(), models.clv_settings(), models.churn_settings(), control_settings(), *parts))


def excel_block(export: Callable[[], pd.DataFrame], loop: pd.DataFrame | None, sig: str) -> None:
    """The Excel button; `export`: the marked list's rows, made when the button is clicked (`ua.marked_rows`)."""
    if st.button(
        "Prepare the Excel file",
        icon=":material/table_view:",
        help="Builds the workbook (about 7 seconds for 23,000 customers).",
    ):
        sheets = {"Action list": export()}
        if loop is not None:
            sheets["Close the loop"] = loop
        with st.spinner("Writing the Excel file…"):
            st.session_state[K_EXCEL] = (sig, to_excel_bytes(sheets, currency=cur.current(data)))
    prepared = st.session_state.get(K_EXCEL)
    if prepared and prepared[0] == sig:
        st.download_button(
            "Download Excel",
            prepared[1],
            file_name="action_list.xlsx",
            on_click="ignore",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/download:",
            type="primary",
        )


def report_html(scores: us.Scores, export: pd.DataFrame, filters: str) -> str:
    """The workshop report: KPIs, up to four charts, the top actions and the what-if scenario."""
    code = cur.current(data)
    clv = models.current_clv(data).customers["clv"] if scores.model_clv else None
    kpis = kpi_report(data, "month", float(clv.mean()) if clv is not None else None)
    charts = []
    if data.has_transactions:
        trend = kpi_trend(data, "revenue")
        charts.append(("Revenue by month", kpi_trend_chart(trend, label="Revenue", unit="currency", currency=code)))
        charts.append(("RFM segments", segment_bars(segment_summary(us.rfm(data), clv), currency=code)))
    charts.append(("Value x risk", value_risk_scatter(us.value_risk(scores), max_points=1500, currency=code)))
    with contextlib.suppress(DataError):
        charts.append(("Lifecycle stages", lifecycle_bar(us.stage_counts(data).counts)))
    settings, from_page = us.scenario_settings()
    section: dict | None = None
    scenario_chart = None
    try:
        section = us.whatif_summary(data, settings)
        scenario = us.scenario_summary(section, settings, from_page)
        result = wi.run_scenario(wi.whatif_defaults(data, settings.period), settings)
        scenario_chart = customers_over_time(result.customers_frame(), period_name=PERIOD_NAMES[settings.period])
    except DataError as exc:
        scenario = {"Scenario": f"not available on this data: {exc}"}
    notes = [f"Value: {scores.value_source}.", f"Churn risk: {scores.risk_source}.", f"Action list: {filters}."]
    top = export.head(REPORT_TOP).copy()
    top["Churn probability"] = [f"{p:.0%}" for p in top["Churn probability"]]
    quadrants = us.value_risk(scores).summary()
    save_first = quadrants.loc[SAVE_FIRST] if SAVE_FIRST in quadrants.index else None
    mode = "points" if settings.lift_mode == "points" else "%"
    month, subscription = period_name(kpis.current_period), business_kind(data).is_subscription
    recs = recommendations(
        top_value_at_stake=float(export["Value at stake"].head(REPORT_TOP).sum()) if len(export) else None,
        top_n=min(REPORT_TOP, len(export)),
        top_reason=lower_first(str(export["Reason"].iloc[0])) if len(export) else None,
        save_first_customers=int(save_first["customers"]) if save_first is not None else None,
        save_first_value=float(save_first["value_at_stake"]) if save_first is not None else None,
        lift_text=f"{settings.lift:g} {mode}" if section else None,
        profit_change=section.get("profit_change") if section else None,
        profit_change_pct=section.get("profit_change_pct") if section else None,
        years=(section["horizon_periods"] / PERIODS_PER_YEAR[section["period"]]) if section else None,
        currency=code,
    )
    return build_html_report(
        headline=headline(kpis, currency=code).sentence,
        headline_kpis=CARD_KEYS,
        recommendations=recs,
        scenario_chart=scenario_chart,
        currency_code=code,
        kpi_labels={key: card_label(key, key, month, subscription=subscription)[0] for key in CARD_KEYS},
        kpis=kpis,
        charts=charts,
        actions=top,
        scenario=scenario,
        dataset=data.name,
        top_actions=REPORT_TOP,
        notes=notes,
        title="Customer retention: executive brief",
    )


def report_block(scores: us.Scores, export: Callable[[], pd.DataFrame], filters: str, sig: str) -> None:
    """The report button; `export`: the marked list's rows, made when the button is clicked (`ua.marked_rows`)."""
    if st.button("Build the workshop report", icon=":material/description:", type="primary"):
        with st.spinner("Building the report…"):
            st.session_state[K_REPORT] = (sig, report_html(scores, export(), filters))
    built = st.session_state.get(K_REPORT)
    if built and built[0] == sig:
        st.download_button(
            "Download the report (HTML)",
            built[1].encode("utf-8"),
            file_name="keepwise_report.html",
            mime="text/html",
            on_click="ignore",
            icon=":material/download:",
        )
        st.caption(
            "One self-contained file: it opens offline in any browser and fetches nothing from the internet. "
            "It holds customer ids, so share it as you would the data."
        )


# --------------------------------------------------------------------------------------------
# Close the loop (no model needed: rendered first)
# --------------------------------------------------------------------------------------------

ranked_slot = st.container()  # drawn first on the page, filled once the models are ready
loop_export = None
with st.container():
    st.subheader("Close the loop")
    with friendly_errors("Close the loop"):
        loop = close_the_loop(data)
        counts = {
            # astype(str): an empty list (no customer both listed and buying) has no string dtype
            issue: int(loop["issues"].astype(str).str.contains(issue).sum())
            for issue in ("detractor", "escalated", "unresolved")
        }
        recent = " who bought in the last 90 days" if data.has_transactions else ""
        st.markdown(
            f"**{len(loop):,} current customers{recent} are waiting for an answer:** {counts['detractor']:,} NPS "
            f"detractors (0-6), {counts['escalated']:,} with escalated tickets and {counts['unresolved']:,} with "
            "tickets but no resolution recorded. A call within two days turns many detractors around; an unanswered "
            "complaint is a common last reason to leave."
        )
        loop_export = loop.rename(
            columns={
                CUSTOMER_ID: "Customer",
                "issues": "Issues",
                NPS: "NPS answer",
                "support_tickets": "Tickets",
                "escalations": "Escalations",
                "resolution_hours": "Resolution hours",
                "last_purchase": "Last purchase",
                "priority": "Issues (count)",
                "reason": "Reason",
            }
        )
        loop_export = loop_export.loc[:, loop_export.notna().any()]
        st.dataframe(
            safe_table(loop_export),
            hide_index=True,
            width="stretch",
            height=240,
            column_order=[
                c
                for c in (
                    "Customer",
                    "Reason",
                    "NPS answer",
                    "Tickets",
                    "Escalations",
                    "Resolution hours",
                    "Last purchase",
                )
                if c in loop_export.columns
            ],
            column_config={
                "Reason": st.column_config.TextColumn(width="large"),
                "Last purchase": st.column_config.DateColumn(format="YYYY-MM-DD"),
            },
        )

# --------------------------------------------------------------------------------------------
# Ranked list (after the models)
# --------------------------------------------------------------------------------------------


def answer_block(place: DeltaGenerator, actions: pd.DataFrame, filtered: pd.DataFrame, total: float) -> None:
    """On top of the list: its headline numbers, how concentrated the value at stake is, whom to call first."""
    with place:
        a, b, c = st.columns(3)
        a.metric(
            "Customers in the list",
            f"{len(filtered):,}",
            help=f"Of {len(actions):,} current customers with a value and a risk.",
        )
        b.metric(
            f"Value at stake ({horizon_label(models.clv_settings().horizon_months)} x churn risk)",
            us.money(total),
            help=help_text("value_at_stake"),
        )
        if not len(filtered):
            st.info("No customer matches these filters: choose more segments or lower the minimum value at stake.")
            return
        top10 = float(filtered["value_at_stake"].head(10).sum())
        c.metric(
            "Held by the top 10",
            f"{top10 / total:.0%}" if total > 0 else "n/a",
            help=f"{us.money(top10)} of {us.money(total)}.",
        )
        if len(filtered) > 1:
            st.altair_chart(
                look.fit(stake_concentration_chart(filtered["value_at_stake"], currency=cur.current(data))),
                width="stretch",
            )
        first = filtered.iloc[0]
        st.markdown(
            f"**Start with {plain(first[CUSTOMER_ID])}**: {plain(lower_first(first['reason']))}. The ten customers at "
            f"the top carry {us.money(top10)} of value at stake; a personal call to each costs little against that."
        )


def ranked_section(actions: pd.DataFrame, scores: us.Scores, segment_label: str) -> tuple[pd.DataFrame, list, float]:
    """Filters, headline numbers and the ranked table. Returns (the rows shown, as exported; segments, minimum)."""
    options = list(SEGMENTS) if data.has_transactions else list(QUADRANT_ADVICE)
    answer = st.container()  # the numbers, the chart and what to do: on top, filled once the filters are read
    left, right = st.columns([3, 1])
    chosen = left.multiselect(
        segment_label,
        options,
        key="act_segment",
        bind=BIND,
        placeholder="All segments",
        help="Show only these segments (none chosen: all).",
    )
    min_value = right.number_input(
        "Minimum value at stake",
        min_value=0.0,
        value=0.0,
        step=1.0,
        format="%.0f",
        key="act_min_value",
        bind=BIND,
        help="In your file's currency.",
    )
    filtered = filter_actions(actions, segments=chosen or None, min_value_at_stake=min_value or None)
    total = float(filtered["value_at_stake"].sum())
    answer_block(answer, actions, filtered, total)
    # The first rows only, as `ua.exported(data, chosen, min_value)` shows them (its columns chosen on the
    # whole list): the whole list goes to the browser on every run otherwise (hundreds of thousands of
    # rows at a million customers), and renaming it took 1 s of every run; the downloads hold every row.
    export = ua.for_people(filtered.head(SHOWN_ROWS), segment_label, actions)
    st.dataframe(
        safe_table(export),
        hide_index=True,
        width="stretch",
        height=420,
        column_config={
            "Value at stake": st.column_config.NumberColumn(format="%,.2f", help="Value x churn probability."),
            "Reason": st.column_config.TextColumn(width=560),
            "Value": st.column_config.NumberColumn(format="%,.2f", help=scores.value_source),
            "Churn probability": st.column_config.ProgressColumn(
                format="percent", min_value=0.0, max_value=1.0, help=scores.risk_source
            ),
        },
    )
    shown = (
        f"The first {SHOWN_ROWS:,} of {len(filtered):,} customers; the CSV and Excel downloads below hold them all. "
        if len(filtered) > SHOWN_ROWS
        else ""
    )
    st.caption(
        f"{shown}Value: {scores.value_source}. Churn risk: {scores.risk_source}. Customers who already left are "
        "not listed: they need a win-back campaign, not a retention call."
    )
    return export, chosen, min_value


actions = None
with ranked_slot:
    st.subheader("Whom to call first")
    # The models and the ranking are computed in the background (once per dataset and settings):
    # the close-the-loop list below shows meanwhile, and this part fills in when they are done.
    jobs = [k for k in (*models.start_fits(data).values(), ua.start_ranking(data)) if k is not None]
    waiting = not background.settle(jobs)
    if waiting:
        background.pending(jobs, "Fitting the lifetime-value and churn models, then ranking every customer")
    else:
        with friendly_errors("Action list"):
            ranked = ua.ranking(data)
            actions, scores, segment_label = ranked.actions, ranked.scores, ranked.segment_label
        if actions is None:
            st.markdown(
                f"The ranking needs a value per customer ({us.NEEDS_VALUE}) and a churn risk ({us.NEEDS_RISK})."
            )
        else:
            _, chosen, min_value = ranked_section(actions, scores, segment_label)

if actions is None:
    if not waiting:
        next_step("Add the missing column or table on the Data page; the close-the-loop list works on its own.")
    st.stop()

st.subheader("Download and share")
control_share, _ = control_controls()
marked = ua.marked_export(data, chosen, min_value)  # the control group drawn once (cached); rows made on click
filters = (", ".join(chosen) if chosen else "all segments") + (
    f", value at stake at least {us.money(min_value)}" if min_value else ""
)
a, b, c = st.columns(3)
with a:
    csv_download("Download CSV", marked.rows, "action_list.csv", currency=cur.current(data))
    if loop_export is not None:
        csv_download("Download the close-the-loop CSV", loop_export, "close_the_loop.csv", currency=cur.current(data))
with b:
    excel_block(marked.rows, loop_export, signature(tuple(chosen), min_value))
with c:
    report_block(scores, marked.rows, filters, signature(tuple(chosen), min_value, us.scenario_settings()))
st.caption(
    f"The files mark each customer in the column **group**: {marked.control:,} customers "
    f"({control_share:.0%} of each risk tenth, drawn at random) are *control*: leave them out of the calls, so the "
    "Campaign readout page can measure what the calls changed. Cells that a spreadsheet could run as a formula "
    "(starting with = + - @) are written as text."
)

next_step(
    "Give each account owner their names from the top of the list with the reason, agree a call this week, and "
    "answer every detractor and open ticket in the close-the-loop list. Bring the report to the next review and "
    "compare the value at stake."
)
