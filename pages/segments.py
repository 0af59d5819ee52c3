"""Segments: RFM segments, value x risk, personas and lifecycle stages (issue 6).

RFM and personas render first (seconds); the lifetime-value and churn models (shared with the other
pages through ui.models) are fitted after that, then the mean CLV per segment, the value x risk
matrix and the lifecycle stages fill in.
"""

import functools

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from analytics.business.lifecycle import NEW, STAGES, LifecycleThresholds, transition_flows
from analytics.business.segment_value import SegmentComparison
from analytics.business.segments import (
    AT_RISK,
    CANT_LOSE,
    CHAMPIONS,
    LOYAL,
    QUADRANT_ADVICE,
    SAVE_FIRST,
)
from analytics.business.value import horizon_label
from analytics.reports.charts.health import (
    lifecycle_bar,
    persona_profile_chart,
    segment_bars,
    transition_chart,
)
from analytics.reports.charts.segments import segment_interval_chart
from ui import background, look, models
from ui import currency as cur
from ui import segments as us
from ui.downloads import csv_download
from ui.frame import friendly_errors, header, next_step, require_data
from ui.text import plain, safe_table

BIND = "query-params"
PERIODS = {"month": "the previous month", "quarter": "the previous quarter"}
# Each model's per-segment estimate and its 90% range: (value, low, high, number format)
PURCHASE_RANGE = ("mean_value", "value_low", "value_high", ",.2f")
RETENTION_RANGE = ("survival_12", "survival_low", "survival_high", ".0%")

header(
    "Segments",
    "Who your customers are: RFM segments from purchase behaviour, value against churn risk, personas the data "
    "forms on its own, and where each customer stands in their lifecycle. Money is in your file's currency.",
)
data = require_data()
# after the header: on a share link's first run it restores the link's settings (the CLV horizon)
MEAN_VALUE = f"Mean {horizon_label(models.clv_settings().horizon_months)}"  # the value's horizon in its name
MEASURES = {"customers": "Customers", "revenue": "Revenue", "mean_clv": MEAN_VALUE}


# --------------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------------


def segment_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The per-segment table as shown (one row per named segment)."""
    return pd.DataFrame(
        {
            "Segment": summary.index.astype(str),
            "Customers": summary["customers"].to_numpy(),
            "% of customers": 100 * summary["customer_share"].to_numpy(),
            "Revenue": summary["revenue"].to_numpy(),
            "% of revenue": 100 * summary["revenue_share"].to_numpy(),
            MEAN_VALUE: summary["mean_clv"].to_numpy(),
            "What to do": summary["advice"].to_numpy(),
        }
    )


def rfm_block(summary: pd.DataFrame, valued: bool, clv_note: str, measure: str, *, draw: str) -> None:
    """The RFM answer, table and every customer's scores; `summary`: `us.rfm_summary` (`valued`: with
    the mean model value); `draw` names this drawing of the slot (the page draws it once at once and
    again with the value column), keeping its download's key unique."""
    shares = summary[["customer_share", "revenue_share"]]
    best = shares.loc[[CHAMPIONS, LOYAL]].sum()
    slipping = summary.loc[[AT_RISK, CANT_LOSE]]
    st.markdown(
        f"**{best['customer_share']:.0%} of customers are Champions or Loyal and bring {best['revenue_share']:.0%} "
        f"of revenue.** {int(slipping['customers'].sum()):,} customers are *At risk* or *Can't lose them*: they "
        f"used to buy often but have gone quiet, and spent {us.money(slipping['revenue'].sum())} so far. Win them back "
        "before spending on the Lost and Hibernating."
    )
    left, right = st.columns([3, 2])
    with left:
        if measure == "mean_clv" and not valued:
            measure = "customers"
            st.caption(f"{MEAN_VALUE} is shown once the lifetime-value model is ready.")
        st.altair_chart(look.fit(segment_bars(summary, measure=measure, currency=cur.current(data))), width="stretch")
    right.markdown(
        "**How to read it.** Each customer gets three scores from 1 to 5 by quintile: **R** from days since the "
        "last purchase (fewer days = 5), **F** from the number of orders and **M** from total spend (more = 5). "
        "The segment name comes from R and F: *Champions* bought recently and often, *Can't lose them* bought "
        "often but long ago, *New* bought once, recently."
    )
    st.table(
        segment_table(summary).style.format(
            {
                "Customers": "{:,}",
                "% of customers": "{:.1f}%",
                "Revenue": "{:,.0f}",
                "% of revenue": "{:.1f}%",
                MEAN_VALUE: "{:,.2f}",
            },
            na_rep="n/a",
        ),
        hide_index=True,
        border="horizontal",
    )
    st.caption(clv_note)
    with st.expander("How the RFM scores work, and every customer's scores"):
        st.markdown(
            "Customers with equal values always get equal scores, so with many one-time buyers the F quintiles "
            "fill unevenly. The first table counts customers by their R and F scores; the second lists everyone."
        )
        st.dataframe(us.rfm_grid(data), width="content")
        # the first rows drawn (every customer went to the browser on every run: a million rows at
        # 1M customers, each text cell escaped first), sorted once per dataset (not on every run, twice:
        # this slot is drawn twice); the download writes everyone, sorted from the cached RFM table on click
        ranked = us.rfm_scores(data)
        st.dataframe(safe_table(ranked.head), hide_index=True, width="stretch", height=260)
        if ranked.rows > us.RFM_SHOWN:
            st.caption(f"The first {us.RFM_SHOWN:,} of {ranked.rows:,} customers, highest scores first.")
        csv_download(
            f"Download the scores of all {ranked.rows:,} customers (CSV)",
            functools.partial(us.rfm_score_rows, data),
            "rfm_scores.csv",
            key=f"rfm_{draw}",
        )


def value_risk_block(view: us.ValueRiskView) -> None:
    quadrants = view.quadrants
    save = quadrants.loc[SAVE_FIRST]
    n = view.customers
    st.markdown(
        f"**{int(save['customers']):,} customers ({save['customers'] / n:.0%} of the {n:,} current customers) are in "
        f"*Save first*:** value of at least {us.money(view.value_threshold)} and churn risk of at least "
        f"{view.risk_threshold:.0%} (the medians). Together they are worth {us.money(save['clv'])}, of which "
        f"{us.money(save['value_at_stake'])} is at stake (value x churn probability): call them first."
    )
    left, right = st.columns([3, 2])
    left.altair_chart(look.fit(view.chart), width="stretch")
    with right:
        st.markdown(
            "**How to read it.** Each dot is a current customer; the dashed lines are the medians. Top right "
            "(*Save first*, red): worth a lot and likely to leave, so a personal call pays. Top left: valuable and "
            "safe, keep them happy. Bottom right: likely to leave but worth less, so use cheap, automated offers."
        )
        st.caption(
            f"Value: {view.value_source}. Churn risk: {view.risk_source}. Customers who already left are not shown."
        )
        st.page_link(
            "pages/actions.py", label="Open the action list: whom to call, with reasons", icon=":material/checklist:"
        )
    table = pd.DataFrame(
        {
            "Quadrant": quadrants.index.astype(str),
            "Customers": quadrants["customers"].to_numpy(),
            "Value": quadrants["clv"].to_numpy(),
            "Value at stake": quadrants["value_at_stake"].to_numpy(),
            "Mean churn risk": 100 * quadrants["mean_churn_probability"].to_numpy(),
            "What to do": list(QUADRANT_ADVICE.values()),
        }
    )
    st.table(
        table.style.format(
            {"Customers": "{:,}", "Value": "{:,.0f}", "Value at stake": "{:,.0f}", "Mean churn risk": "{:.0f}%"}
        ),
        hide_index=True,
        border="horizontal",
    )


def _apart(table: pd.DataFrame, value: str, low: str, high: str) -> tuple[pd.Series, pd.Series, bool]:
    """The best and worst segments by `value`, and whether their intervals do not overlap."""
    ranked = table.sort_values(value, ascending=False)
    best, worst = ranked.iloc[0], ranked.iloc[-1]
    apart = bool(pd.notna(best[low]) and pd.notna(worst[high]) and best[low] > worst[high])
    return best, worst, apart


def interval_chart(
    where: DeltaGenerator, comparison: SegmentComparison, columns: tuple[str, str, str, str], **titles: str
) -> None:
    """One model's per-segment estimates with their 90% ranges (`columns`: value, low, high, number format)."""
    value, low, high, value_format = columns
    chart = segment_interval_chart(
        comparison.table, value=value, low=low, high=high, value_format=value_format, **titles
    )
    where.altair_chart(look.fit(chart), width="stretch")


def by_segment_block(names: dict[str, str], fits: list[tuple], wait: bool) -> None:
    """Value and retention per segment of the chosen attribute; `fits`: the page's model fits under way,
    `wait`: whether to wait a moment for them (False when the page has already waited in this run)."""
    attribute = st.selectbox(
        "Compare segments by", list(names), format_func=names.get, key="seg_by", bind=BIND
    ) or next(iter(names))
    settings = models.clv_settings()
    job = us.segment_models.start(data, attribute, settings)  # type: ignore[attr-defined]
    waiting = [*fits, job] if job is not None else fits
    if not background.settle(waiting, wait=wait):
        background.pending(waiting, f"Fitting the models for each {plain(names[attribute].lower())}")
        return
    found = us.segment_models(data, attribute, settings)
    purchase, retention = found["purchase"], found["retention"]
    horizon = horizon_label(settings.horizon_months)
    money_title = cur.title(f"Mean {horizon} per customer", data)
    sentences = []
    if purchase is not None:
        best, worst, apart = _apart(purchase.table, *PURCHASE_RANGE[:3])
        sentences.append(
            f"**{plain(best['segment'])} customers are worth the most: {us.money(best['mean_value'])} each "
            f"({horizon}), against {us.money(worst['mean_value'])} for {plain(worst['segment'])}**"
            + (
                " (clearly apart: the 90% ranges do not overlap)."
                if apart
                else " (the ranges overlap: treat them as alike)."
            )
        )
    if retention is not None:
        best, worst, apart = _apart(retention.table, *RETENTION_RANGE[:3])
        sentences.append(
            f"**{best['survival_12']:.0%} of new {plain(best['segment'])} customers are still there after a year, "
            f"{worst['survival_12']:.0%} of {plain(worst['segment'])}**"
            + (" (clearly apart)." if apart else " (the ranges overlap: not distinguishable from chance).")
        )
    st.markdown(" ".join(sentences) or "Neither model could be fitted on this data.")
    charts = [c for c in (purchase, retention) if c is not None]
    columns = st.columns(len(charts)) if charts else []
    if purchase is not None:
        interval_chart(
            columns[0],
            purchase,
            PURCHASE_RANGE,
            title=f"{horizon.capitalize()} per customer, by {names[attribute].lower()}",
            subtitle="Dot: mean; bar: 90% range of the mean",
            axis_title=money_title,
        )
    if retention is not None:
        interval_chart(
            columns[-1],
            retention,
            RETENTION_RANGE,
            title=f"New customers still there after 12 months, by {names[attribute].lower()}",
            subtitle="Dot: retention curve's estimate; bar: its 90% range",
            axis_title="Still subscribed after 12 months",
        )
    table = segment_value_table(purchase, retention)
    st.dataframe(table, hide_index=True, width="stretch")
    missing = [m for m in (found["purchase_missing"], found["retention_missing"]) if m]
    notes = [n for c in charts for n in c.notes] + missing
    st.caption(
        "Each segment with enough customers gets its own fit of the same models as the Lifetime value page "
        "(the purchase model and the spend model on purchases; the retention curve on tenure and churn); "
        "a smaller segment is shown with the fit of all customers (a diamond) and has no range of its own. "
        + plain(" ".join(notes))
    )
    with st.expander("For analysts: each segment's fitted parameters"):
        rows = [
            {"Model": c.model, "Segment": r["segment"], **{k: round(v, 4) for k, v in r["params"].items()}}
            for c in charts
            for r in c.table.to_dict("records")
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def segment_value_table(purchase: SegmentComparison | None, retention: SegmentComparison | None) -> pd.DataFrame:
    """One row per segment: value and retention side by side, with their 90% ranges (as shown)."""
    frames = []
    if purchase is not None:
        p = purchase.table
        frames.append(
            pd.DataFrame(
                {
                    "Segment": p["segment"],
                    "Customers": p["customers"],
                    cur.title("Mean value", data): p["mean_value"].round(2),
                    "Value range (90%)": [
                        "n/a (pooled)" if r.pooled else f"{us.money(r.value_low)} to {us.money(r.value_high)}"
                        for r in p.itertuples()
                    ],
                    "Chance still active": (100 * p["mean_p_alive"]).round(0).astype(int).astype(str) + "%",
                }
            ).set_index("Segment")
        )
    if retention is not None:
        r_ = retention.table
        frames.append(
            pd.DataFrame(
                {
                    "Segment": r_["segment"],
                    "Customers ": r_["customers"],
                    "Still there after 12 months": (100 * r_["survival_12"]).round(1).astype(str) + "%",
                    "Range (90%)": [
                        "n/a (pooled)" if r.pooled else f"{r.survival_low:.1%} to {r.survival_high:.1%}"
                        for r in r_.itertuples()
                    ],
                    "Median lifetime (months)": r_["median_lifetime_months"],
                    cur.title("Value of a new customer", data): r_["new_customer_value"],
                }
            ).set_index("Segment")
        )
    table = pd.concat(frames, axis=1) if frames else pd.DataFrame()
    if "Customers " in table.columns:
        if "Customers" in table.columns:
            table = table.drop(columns="Customers ")
        else:
            table = table.rename(columns={"Customers ": "Customers"})
    return table.reset_index()


def persona_block() -> None:
    with st.spinner("Finding personas…"):
        found = us.personas(data)
    score = found.silhouette_[found.k_]
    clarity = "clearly separated" if score >= 0.5 else "fairly distinct" if score >= 0.25 else "overlapping"
    st.markdown(
        f"**Your customers fall into {found.k_} personas**, and the groups are {clarity}"
        + (": read them as tendencies, not boxes." if clarity == "overlapping" else "."),
        help=f"For analysts: k-means on standardised behaviour and attributes; {found.k_} groups gave the best "
        f"silhouette ({score:.2f} on a scale of -1 to 1, tried k = {min(found.silhouette_)} to "
        f"{max(found.silhouette_)}).",
    )
    for sentence in found.descriptions_.values():
        st.markdown(f"- {sentence}")
    st.altair_chart(look.fit(persona_profile_chart(found.z_).configure_axisX(labelLimit=220)), width="stretch")
    st.caption(
        "Red: the persona is above the average customer on that feature; blue: below (in standard deviations). "
        "Give each persona a name your team recognises and a different offer."
    )
    with st.expander("Persona averages in the data's own units"):
        st.dataframe(found.profile_, width="stretch")


def lifecycle_block() -> None:
    with st.spinner("Placing every customer in a lifecycle stage…"):
        stages = us.stage_counts(data)
    counts = stages.counts
    by = counts.set_index("stage")["customers"]
    total = int(by.sum())
    t = LifecycleThresholds()
    st.markdown(
        f"**{by['Active']:,} of {total:,} customers ({by['Active'] / max(total, 1):.0%}) are active; "
        f"{by['At risk'] + by['Highly at risk']:,} are at risk or highly at risk.** A reminder or an offer to them "
        "now costs less than winning them back once they are lost."
    )
    left, right = st.columns(2)
    left.altair_chart(look.fit(lifecycle_bar(counts).properties(height=320)), width="stretch")
    rule = (
        f"Stages come from {stages.basis}. A chance of still being a customer of at least {t.active:.0%} is Active, "
        f"{t.cooling_down:.0%} Cooling down, {t.at_risk:.0%} At risk, {t.highly_at_risk:.0%} Highly at risk, below "
        "that Lost; customers marked as churned are Lost."
    )
    if stages.repeat_gap_days is not None:
        rule += (
            f" **One-time buyers** ({stages.one_time_buyers:,}) always get a probability of 1 from the model, so they "
            f"are staged by the time since their purchase against the typical gap between purchases "
            f"({stages.repeat_gap_days:,.0f} days): up to {t.gap_active:g}x the gap Active, {t.gap_cooling_down:g}x "
            f"Cooling down, {t.gap_at_risk:g}x At risk, {t.gap_highly_at_risk:g}x Highly at risk, beyond Lost."
        )
    left.caption(rule)
    with right:
        if not data.has_transactions:
            st.info(
                "Moves between stages need a purchase log (customer id, order date, amount): with only a "
                "customers table there is no earlier state to compare with."
            )
            return
        period = (
            st.segmented_control(
                "Compare with the end of",
                list(PERIODS),
                format_func=PERIODS.get,
                default="month",
                required=True,
                key="seg_period",
                bind=BIND,
            )
            or "month"
        )
        with friendly_errors("Moves between stages"):
            table, before_date, now_date = us.stage_moves(data, period)
            st.altair_chart(look.fit(transition_chart(transition_flows(table))), width="stretch")
            st.caption(moves_sentence(table, before_date, now_date))


def moves_sentence(table: pd.DataFrame, before_date: pd.Timestamp, now_date: pd.Timestamp) -> str:
    order = {s: i for i, s in enumerate(STAGES)}
    worse = better = 0
    biggest, biggest_n = None, 0
    for before in STAGES:
        for now in STAGES:
            n = int(table.at[before, now])
            if order[now] > order[before]:
                worse += n
            elif order[now] < order[before]:
                better += n
            if before != now and n > biggest_n:
                biggest, biggest_n = (before, now), n
    new = int(table.loc[NEW].sum())
    text = (
        f"Between {before_date:%d %b %Y} and {now_date:%d %b %Y}, {worse:,} customers moved to a worse stage, "
        f"{better:,} to a better one, and {new:,} were new."
    )
    if biggest:
        text += f" The largest move: {biggest[0]} → {biggest[1]} ({biggest_n:,})."
    return (
        text + " Both dates are judged by the same model-free rule (days since the last purchase against the "
        "customer's usual gap), because a model fitted today cannot say how customers looked back then."
    )


# --------------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------------

# The models and personas fit in the background from the start: RFM shows first, the parts that need
# them fill in as the fits finish (each says what it waits for meanwhile).
fits = [k for k in models.start_fits(data).values() if k is not None]
persona_job = us.personas.start(data)  # type: ignore[attr-defined]  # k-means for 2 to 8 groups: seconds

st.subheader("RFM segments")
rfm_drawn = False
measure = "customers"
if data.has_transactions:
    # outside the slot below: a widget may be drawn once per run, the slot is drawn twice
    measure = (
        st.segmented_control(
            "Bars show",
            list(MEASURES),
            format_func=MEASURES.get,
            default="customers",
            required=True,
            key="seg_measure",
            bind=BIND,
        )
        or "customers"
    )
rfm_slot = st.empty()
if not data.has_transactions:
    rfm_slot.info(
        f"RFM segments need {us.NEEDS_PURCHASES}; this data has only a customers table. "
        "Add the purchase log on the Data page to see them."
    )
else:
    with rfm_slot.container(), friendly_errors("RFM segments"):
        rfm_block(
            us.rfm_summary(data, None),
            False,
            f"{MEAN_VALUE} fills in once the lifetime-value model has been fitted.",
            measure,
            draw="first",
        )
        rfm_drawn = True

st.subheader("Value x risk: whom to save first")
value_slot = st.empty()
value_slot.caption("Waiting for the lifetime-value and churn models…")

st.subheader("Value and retention by segment")
by_segment_slot = st.empty()
by_segment_slot.caption("Waiting for the lifetime-value model…")

st.subheader("Personas")
persona_slot = st.empty()
persona_slot.caption("Finding personas…")

st.subheader("Lifecycle stages")
lifecycle_slot = st.empty()
lifecycle_slot.caption("Waiting for the models…")

background.settle([*fits, persona_job] if persona_job is not None else fits)  # one wait for all of them
models_ready = all(background.done(k) for k in fits)
with persona_slot.container(), friendly_errors("Personas"):
    if persona_job is None or background.done(persona_job):
        persona_block()
    else:
        background.pending([persona_job], "Finding personas")
if models_ready:
    view = None
    with value_slot.container(), friendly_errors("Value x risk"):
        with st.spinner("Putting each customer's value next to their churn risk…"):
            view = us.value_risk_view(data)
        value_risk_block(view)

    if rfm_drawn:
        with rfm_slot.container(), friendly_errors("RFM segments"):
            valued = view is not None and view.model_clv
            note = (
                f"{MEAN_VALUE}: {view.value_source}, averaged over the segment's customers."
                if view is not None and valued
                else f"{MEAN_VALUE} needs the lifetime-value model, which could not run on this data."
            )
            rfm_block(
                us.rfm_summary(data, models.clv_settings() if valued else None),
                valued,
                note,
                measure,
                draw="with_value",
            )

    with lifecycle_slot.container(), friendly_errors("Lifecycle stages"):
        lifecycle_block()
else:
    with value_slot.container():
        background.pending(fits)
    lifecycle_slot.caption("Fills in once the lifetime-value and churn models are fitted (see above).")

# Last: one fit per segment is the slowest step of the page
with by_segment_slot.container(), friendly_errors("Value and retention by segment"):
    attribute_names = us.segment_attribute_names(data)
    if attribute_names:
        by_segment_block(attribute_names, fits, wait=models_ready)
    else:
        st.info(
            "No attribute to compare segments by: add a plan, region, channel or another text column with 2 to 8 "
            "values to the customers table, or purchases spanning at least two months (for acquisition cohorts)."
        )

next_step(
    "Pick one segment or persona per team and agree one action each: win back *Can't lose them* and *At risk* "
    "personally, onboard *New* customers for a second purchase, and give the *Save first* quadrant to your best "
    "people. The action list turns this into names."
)
