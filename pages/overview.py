"""Customer health: every customer KPI for the last complete period against the one before, with targets.

Cheap KPIs render first; the model-based CLV (a purchase-model fit, cached for every page) fits in
the background (`ui.background`, like every other page's fits) and fills in the Value cards once it
is done; meanwhile they say so. Targets live in one URL parameter.
"""

import streamlit as st

from analytics.assumptions import LTV_TO_CAC
from analytics.business.glossary import figure_name
from analytics.business.kpis import KPI_SPECS, KPIReport, parse_targets
from analytics.business.value import FORMULA_VS_MODEL
from analytics.data.periods import PERIOD_CODES, PERIODS_PER_YEAR
from analytics.data.schema import ACQUISITION_COST, DataError
from analytics.reports.charts.health import kpi_trend_chart
from analytics.reports.story import headline
from ui import background, look
from ui import currency as cur
from ui import health as h
from ui.explain import explain_kpis
from ui.frame import friendly_errors, header, next_step, require_data
from ui.text import plain

BIND = "query-params"
PER_ROW = 4

header(
    "Customer health",
    "The customer KPIs a customer-centric business steers by, for the last complete period against the one before. "
    "Hover the ? beside a card's name for its definition; green means the move is good (for churn, down is good). "
    "Set your own targets at the bottom of the page.",
)
data = require_data()

left, right = st.columns([3, 2])
period = left.radio(
    "KPIs per",
    h.PERIODS,
    format_func=h.PERIOD_LABELS.get,
    horizontal=True,
    key=h.K_PERIOD,
    bind=BIND,
    help="Counts and rates are for one calendar period: the last one that is complete in your data.",
)
want_model = right.toggle(
    "Model-based CLV",
    value=True,
    key=h.K_MODEL,
    bind=BIND,
    help="Fits a purchase model to value every customer (as on the Lifetime value page). Up to ~30 s the first "
    "time on a large file, then cached for every page.",
)

report: KPIReport = h.kpi_report(data, period)
chosen = h.targets()
st.caption(
    f"**{report.current_period or 'n/a'}** (the last complete {period}) against **{report.previous_period or 'n/a'}**. "
    "Money is in your file's currency. " + plain(" ".join(report.notes))
)


# --- the answer first: the headline change, its trend, what to do -----------------------------
st.container(key="overview_headline").markdown(headline(report, currency=cur.current(data)).sentence)
options = [k for k in h.TREND_KEYS if report[k].value is not None]
if options:
    if h.K_TREND in st.session_state and st.session_state[h.K_TREND] not in options:
        del st.session_state[h.K_TREND]  # a KPI this data does not have (another dataset's choice)
    picked = st.selectbox(
        "Trend of",
        options,
        format_func={
            k: figure_name(k, report.basis == "purchases") for k in options
        }.get,  # no lambda: ui.churn.labelled
        key=h.K_TREND,
        bind=BIND,
        index=options.index("churn_rate") if "churn_rate" in options else 0,
    )
    with friendly_errors("Trend"):
        kpi = report[picked]
        frame = h.trend(data, picked, period).dropna()
        st.altair_chart(
            look.fit(
                kpi_trend_chart(
                    frame,
                    label=figure_name(picked, report.basis == "purchases"),
                    unit=kpi.unit,
                    currency=cur.current(data),
                )
            ),
            width="stretch",
        )
        back = min(int(PERIODS_PER_YEAR[PERIOD_CODES[period]]), len(frame) - 1)
        if back >= 1:
            then, now = frame.iloc[-1 - back], frame.iloc[-1]
            sentence = (
                f"{kpi.label} is {h.format_value(picked, now['value'], kpi.unit)} in the last complete {period}, "
                f"against {h.format_value(picked, then['value'], kpi.unit)} {h.periods_text(back, period)} earlier."
            )
            if picked in chosen:
                sentence += f" Your target: {h.format_value(picked, chosen[picked], kpi.unit)}."
            st.caption(sentence + " A single period can jump; judge the direction over several.")
else:
    st.caption("No KPI has a value per period on this data (it needs purchase or signup/churn dates).")

st.markdown(
    "**What to do next.** Pick the one or two KPIs furthest off target (or moving the wrong way) and name an owner "
    "for each. Churn and retention compound: *Cohorts* shows which customers stop, the *What-if* what keeping a few "
    "more of them is worth."
)


def card(report: KPIReport, key: str, *, pending: bool = False, note: str = "", failed: str = "") -> None:
    """One KPI card: value with unit, change against the previous period, definition on hover.

    Always exactly a metric and a caption slot, so a card drawn again into the same place
    (the model-based CLV once fitted) replaces the old one cleanly.
    """
    kpi = report[key]
    with st.container(border=True):
        if pending or failed:
            st.metric(kpi.label, "fitting…" if pending else "n/a", help=kpi.definition)
            st.caption(failed or "Waiting for the purchase model; the card fills in when it is fitted.")
            return
        helptext = kpi.definition + (" In your file's currency." if kpi.unit == "currency" else "")
        delta, colour, described = h.format_delta(kpi), h.delta_color(kpi), f"vs {kpi.previous_period}"
        if key == "ltv_cac":
            delta = f"{kpi.value - LTV_TO_CAC:+.1f} vs {LTV_TO_CAC:g} : 1"
            colour, described = "normal", None
        st.metric(
            kpi.label,
            h.format_value(key, kpi.value, kpi.unit),
            delta,
            delta_color=colour,
            help=helptext,
            delta_description=described if delta else None,
        )
        lines = [line for line in (note, h.target_caption(report, key, chosen)) if line]
        st.caption("  \n".join(lines)) if lines else st.empty()


def section(report: KPIReport, title: str, notes: dict[str, str], later: tuple[str, ...] = ()) -> dict:
    """A titled row of cards for the KPIs of this section that this data supports.

    Cards named in `later` wait for the model: drawn as pending into placeholders (returned by
    key) and drawn again once it is fitted.
    """
    keys = [k for k in h.SECTIONS[title] if report[k].value is not None or k in later]
    st.subheader(title)
    if not keys:
        st.caption("None of these can be computed on this data: see *Not available on this data* below.")
        return {}
    slots = {}
    for i, key in enumerate(keys):
        if i % PER_ROW == 0:  # a new row, so cards of different heights stay aligned
            columns = st.columns(PER_ROW)
        with columns[i % PER_ROW]:
            if key in later:
                slots[key] = st.empty()
                with slots[key].container():
                    card(report, key, pending=True)
            else:
                card(report, key, note=notes.get(key, ""))
    return slots


def value_notes(report: KPIReport, model_note: str) -> dict[str, str]:
    """Captions of the Value cards: the simple CLV's factors, the model, and which LTV the ratio uses."""
    notes = {
        "clv_simple": f"= {h.factors_text(report['clv_simple'])}: margin over the whole expected lifetime. "
        + FORMULA_VS_MODEL,
        "clv_model": model_note and model_note + " Margin, not revenue: plan spending on this one.",
        "cac": "Acquisition spend per new customer in the period.",
    }
    ltv = "the model-based CLV" if report["clv_model"].value is not None else "the formula CLV"
    notes["ltv_cac"] = (
        f"Uses {ltv}. Rule of thumb: about {LTV_TO_CAC:g} : 1. Well below, acquiring customers barely pays back; "
        "far above, you may be under-investing in growth."
    )
    return notes


FITTING = "Fitting the purchase model for the model-based CLV"


def fit_model_clv() -> tuple[float | None, str, str, tuple | None]:
    """Mean model-based CLV, how it was made, why it is missing (one of them empty), and the
    background fit's job key while it is still under way (then the other three are empty)."""
    if not want_model:
        return None, "", "switched off (turn on 'Model-based CLV' at the top)", None
    reason = "the purchase model could not be fitted on this data (see the message above)"
    with friendly_errors("Model-based CLV"):
        try:
            job = h.start_model_clv(data) if data.has_transactions else None
            if job is not None and not background.settle([job]):
                return None, "", "", job
            mean, note = h.model_clv(data)
            return mean, note, "", None
        except DataError as exc:
            reason = str(exc).rstrip(".")
    return None, "", reason, None


section(report, "Customers & revenue", {})
section(report, "Retention", {})
later = ("clv_model", "ltv_cac") if want_model and data.has_transactions else ()  # the model changes both
later = tuple(k for k in later if k == "clv_model" or data.has_column(ACQUISITION_COST))
slots = section(report, "Value", value_notes(report, ""), later=later)
section(report, "Satisfaction & support", {})
if any(report[k].value is not None for k in h.SECTIONS["Satisfaction & support"]):
    st.caption(
        "Survey and support figures cover every answer in the customers table; the table has no answer "
        "dates, so these cards show no change against the previous period."
    )

# the model-based CLV, after everything cheap has rendered; its card and LTV:CAC are drawn again
# once the background fit is done (until then they stay "fitting…", with a line saying so)
mean_clv, model_note, model_reason, model_job = fit_model_clv()
if mean_clv is not None:
    report = h.kpi_report(data, period, mean_clv)
notes = value_notes(report, model_note)
for key, slot in slots.items():
    with slot.container():
        if model_job is not None:
            card(report, key, pending=True)
            if key == "clv_model":
                background.pending([model_job], FITTING)  # reruns the page once the fit is done
            continue
        reason = model_reason if key == "clv_model" else report[key].missing
        failed = "" if report[key].value is not None else f"Not available: {reason}."
        card(report, key, note=notes.get(key, ""), failed=failed)

missing = [
    (KPI_SPECS[kpi.key].label, model_reason if kpi.key == "clv_model" else kpi.missing)
    for kpi in report.kpis
    if kpi.value is None and not (model_job is not None and kpi.key in slots)  # still fitting: not "missing"
]
if missing:
    with st.expander(f"Not available on this data ({len(missing)} KPIs): why, and which column would enable them"):
        st.markdown("\n".join(f"- **{', '.join(labels)}**: {reason}." for labels, reason in h.missing_groups(missing)))
        st.caption("Add or map the named column on the Data page and the card appears here.")

# --- targets -----------------------------------------------------------------------------------
st.subheader("Targets")
st.markdown(
    "Set a target, or an industry benchmark you trust, for any KPI and see the gap. Targets are part of this "
    "page's link, so a colleague opening it sees the same ones."
)
targetable = [k for k in KPI_SPECS if report[k].value is not None]
if targetable:
    a, b, c, d = st.columns([3, 2, 1, 1], vertical_alignment="bottom")
    pick = a.selectbox(
        "KPI",
        targetable,
        format_func={k: KPI_SPECS[k].label for k in targetable}.get,  # no lambda (it would hold the page)
        key=h.K_PICK,
        index=targetable.index("churn_rate") if "churn_rate" in targetable else 0,
    )
    current = chosen.get(pick, report[pick].value)
    st.session_state.setdefault(h.value_key(pick), h.to_shown(pick, current))
    b.number_input(f"Target ({h.shown_unit(pick)})", key=h.value_key(pick), format="%.2f")
    c.button("Set target", type="primary", on_click=h.set_picked_target, key="ovt_set", width="stretch")
    d.button("Clear all", on_click=h.clear_targets, key="ovt_clear", width="stretch", disabled=not chosen)
    if chosen:
        st.dataframe(h.gap_table(report, chosen), hide_index=True, width="stretch")
        st.caption(
            "Gap = now − target, in the KPI's unit (percentage points for rates). 'Off target' counts the "
            "direction: for churn, CES, CAC and resolution time, lower is better."
        )
else:
    st.caption("No KPI has a value on this data yet, so there is nothing to set a target for.")
text = st.text_input(
    "Targets as text (this is what the link carries)",
    key=h.K_TARGETS,
    bind=BIND,
    placeholder="e.g. nps:30,churn_rate:0.02 (rates as fractions)",
    help="key:number pairs separated by commas; rates as fractions (0.02 = 2%).",
)
try:
    parse_targets(text, strict=True)
except DataError as exc:
    st.warning(plain(exc))

st.subheader("Explain a number")
explain_kpis(data, report)  # formula, inputs, period and the customers behind any card

next_step(
    "Name an owner for each KPI off target and set the target above, so the link you share carries it. Then open "
    "*Cohorts* to see at what age customers stop."
)
