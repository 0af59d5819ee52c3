"""What-if page helpers: cached defaults, slider values <-> settings, saved scenarios.

Every setting that changes the result is a widget bound to the URL (`bind="query-params"`) under
one of the `K_*` keys below, so a shared link reopens the same sliders. Saved scenarios live in
this browser session only (`K_SCENARIOS`), per dataset.

Measuring the defaults (retention, revenue, new customers, spend growth) reads the whole purchase
log; it is cached per dataset and period (`whatif_defaults`). A slider move only runs
`run_scenario` (milliseconds): it never re-measures and never fits a model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from analytics.assumptions import ANNUAL_DISCOUNT_RATE, MARGIN_RATE
from analytics.business.economics import (
    MAX_RETENTION,
    MIN_YEARLY_RETENTION,
    SOURCE_DISCOUNTING,
    LoyaltyEffects,
    RetentionLift,
    WhatIfResult,
    apply_lift,
    whatif,
)
from analytics.business.kind import PURCHASE_LOG
from analytics.business.whatif_inputs import DefaultValue, WhatIfSettings, build_assumptions, defaults_from_data
from analytics.data.periods import PERIOD_NAMES, PERIODS_PER_YEAR
from analytics.data.schema import CustomerData
from analytics.jsonready import json_number
from analytics.models.clv import ClvSettings
from ui.cache import per_dataset
from ui.kind import business_kind
from ui.models import clv_analysis, clv_settings

# URL keys (short, page-prefixed). Values are what the widgets show (percent as 5.0, not 0.05).
K_PERIOD = "wi_period"
K_LIFT = "wi_lift"
K_MODE = "wi_mode"
K_BASIS = "wi_basis"
K_MARGIN = "wi_margin"
K_DISCOUNT = "wi_disc"
K_YEARS = "wi_years"
K_CAC = "wi_cac"
K_FIXED = "wi_fixed"
K_ACQUISITION = "wi_acq"
K_GROWTH = "wi_growth"
K_REFERRALS = "wi_ref"
K_SERVE = "wi_serve"
#: The widget keys that make up one scenario (all live in the URL).
SCENARIO_KEYS: tuple[str, ...] = (
    K_LIFT,
    K_MODE,
    K_BASIS,
    K_MARGIN,
    K_DISCOUNT,
    K_YEARS,
    K_CAC,
    K_FIXED,
    K_ACQUISITION,
    K_GROWTH,
    K_REFERRALS,
    K_SERVE,
)
#: Session-only store of saved scenarios: {"<data_key>|<period>": {name: SavedScenario}}. Not 'wi_':
#: that prefix marks settings, which ui.state keeps across pages and puts into share snapshots.
K_SCENARIOS = "whatif_scenarios"
K_NAME = "whatif_name"  # the scenario-name box
K_PICK = "whatif_pick"  # which saved scenario to load

PERIOD_CHOICES: tuple[str, ...] = ("M", "Q", "Y")
# Radio labels are what the URL carries (?wi_mode=relative+%25), so they are short and never change.
PERIOD_LABELS = {"M": "month", "Q": "quarter", "Y": "year"}
MODE_LABELS = {"points": "percentage points", "relative": "relative %"}
BASIS_LABELS = {"year": "yearly retention", "period": "retention per period"}
ACQUISITION_LABELS = {"constant": "a steady number each period", "replace": "replace everyone who leaves"}

DEFAULT_LIFT = 5.0
DEFAULT_YEARS = 5
DEFAULT_MARGIN_PCT = round(100 * MARGIN_RATE)  # margin slider default, % of revenue (an assumption)
DEFAULT_DISCOUNT_PCT = round(100 * ANNUAL_DISCOUNT_RATE, 1)  # discount slider default, % a year
LABELS = {
    "retention_rate": "Retention per {unit}",
    "repeat_rate": "Repeat rate per {unit} (not retention)",
    "revenue_per_customer": "Revenue per active customer per {unit}",
    "new_customers": "New customers per {unit}",
    "starting_customers": "Starting customers (what-if)",
    "spend_growth": "Spend growth with tenure",
    "margin_rate": "Margin",
    "acquisition_cost": "Acquisition cost per new customer",
    "fixed_costs": "Fixed costs per {unit}",
}


@per_dataset(max_entries=16)
def measured_defaults(data: CustomerData, period: str, kind: str, clv: ClvSettings) -> dict[str, DefaultValue]:
    """The what-if inputs measured from the data (`defaults_from_data`), a purchase log's from the
    shared lifetime-value fit (`ui.models.clv_analysis`); raises DataError when that fit fails."""
    fitted = clv_analysis(data, clv) if kind == PURCHASE_LOG and data.has_transactions else None
    return defaults_from_data(data, period, business_kind=kind, clv_settings=clv, clv=fitted)


def whatif_defaults(data: CustomerData, period: str) -> dict[str, DefaultValue]:
    """What-if inputs measured from the data for `period` (cached per dataset; raises DataError).

    A purchase log's retention, starting customers and revenue come from the Lifetime value page's
    fitted purchase model (same settings, same cached fit), so both pages value the same customers.
    """
    return measured_defaults(data, period, business_kind(data).kind, clv_settings())


# --------------------------------------------------------------------------------------------
# Slider ranges that depend on the data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MoneyRange:
    """A money slider: 0..`high` in steps of `step`, starting at `value` (currency)."""

    high: float
    step: float
    value: float

    @property
    def format(self) -> str:
        """printf format for the slider: whole numbers once steps are 1 or more."""
        return "%.0f" if self.step >= 1 else "%.2f"


def _nice_ceiling(x: float) -> float:
    """Smallest of 1, 2, 2.5, 5 x 10**k that is >= x (x > 0)."""
    power = 10.0 ** math.floor(math.log10(x))
    return next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= x * (1 - 1e-12))


def money_range(default: float, at_least: float) -> MoneyRange:
    """Slider range for a money input: up to three times `default` (at least `at_least`), ~1,000 steps."""
    high = _nice_ceiling(max(3.0 * default, at_least, 1.0))
    step = 10.0 ** (math.floor(math.log10(high)) - 3)
    step = float(f"{step:.10g}")
    return MoneyRange(high=high, step=step, value=float(round(round(default / step) * step, 10)))


def acquisition_range(defaults: dict[str, DefaultValue]) -> MoneyRange:
    return money_range(defaults["acquisition_cost"].value, 10.0)


def fixed_cost_range(defaults: dict[str, DefaultValue]) -> MoneyRange:
    """0 up to about one period's revenue of today's customers (fixed costs start at 0)."""
    revenue = defaults["starting_customers"].value * defaults["revenue_per_customer"].value
    r = money_range(revenue / 3.0, 100.0)
    return MoneyRange(high=r.high, step=r.step, value=0.0)


def measured_growth_percent(defaults: dict[str, DefaultValue]) -> float | None:
    """The measured spend growth, percent per period of tenure rounded to the slider's step, or None."""
    growth = defaults["spend_growth"]
    return round(100.0 * growth.value, 2) if growth.measured else None


# --------------------------------------------------------------------------------------------
# Slider values -> settings -> result
# --------------------------------------------------------------------------------------------


def settings_from_values(values: dict[str, Any], period: str) -> WhatIfSettings:
    """Frozen settings from the widget values (percent sliders divided by 100, years to periods).

    A margin slider at its default gives `margin_rate=None` (not chosen), so the what-if labels the
    margin as assumed: a slider cannot tell "never moved" from "moved back to 30%".
    """
    margin = float(values[K_MARGIN])
    margin_rate = None if margin == DEFAULT_MARGIN_PCT else margin / 100.0
    return WhatIfSettings(
        lift=float(values[K_LIFT]),
        lift_mode=values[K_MODE],
        lift_basis=values[K_BASIS],
        period=period,
        margin_rate=margin_rate,
        discount_rate_annual=float(values[K_DISCOUNT]) / 100.0,
        horizon_periods=int(round(float(values[K_YEARS]) * PERIODS_PER_YEAR[period])),
        acquisition_cost=float(values[K_CAC]),
        fixed_costs=float(values[K_FIXED]),
        acquisition=values[K_ACQUISITION],
        loyalty=LoyaltyEffects(
            spend_growth=float(values[K_GROWTH]) / 100.0,
            referrals=float(values[K_REFERRALS]) / 100.0,
            cost_reduction=float(values[K_SERVE]) / 100.0,
        ),
    )


def run_scenario(defaults: dict[str, DefaultValue], settings: WhatIfSettings) -> WhatIfResult:
    """The what-if for these settings on the measured defaults (pure and fast: no measuring, no fitting)."""
    base, _ = build_assumptions(defaults, settings)
    return whatif(base, settings.loyalty, settings.retention_lift, settings.horizon)


def basis_sentence(retention: float, lift: float, mode: str, period: str) -> str:
    """What the lift means on each basis, with this business's numbers (for the basis switch)."""
    unit = PERIOD_NAMES[period]
    n = PERIODS_PER_YEAR[period]
    amount = f"{lift:g} {MODE_LABELS[mode]}"
    if period == "Y":
        return "With a period of a year, yearly retention and retention per period are the same thing."
    if retention**n < MIN_YEARLY_RETENTION:
        lifted = apply_lift(retention, RetentionLift(lift, mode, "period"), period=period)
        return (
            f"Only {retention**n:.2%} of customers buy in every {unit} of a year: they skip {unit}s rather than leave "
            f"for good, so both readings lift the {unit}'s retention: {retention:.1%} → {lifted:.1%} for {amount}."
        )
    parts = []
    for basis in ("year", "period"):
        lifted = apply_lift(retention, RetentionLift(lift, mode, basis), period=period)
        cap = f" (stopped at {MAX_RETENTION:.1%}: nobody would ever leave)" if lifted >= MAX_RETENTION else ""
        parts.append(
            f"on **{BASIS_LABELS[basis]}** it takes {retention:.1%} → {lifted:.1%} a {unit}{cap}, i.e. "
            f"{retention**n:.1%} → {lifted**n:.1%} kept over a year"
        )
    return (
        f"A lift of {amount} {parts[0]}; {parts[1]}. Bain's 25–95% is quoted for yearly retention, hence the default."
    )


# --------------------------------------------------------------------------------------------
# Saved scenarios (this session only)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedScenario:
    """A named scenario: the widget values (to reload them) and its headline results."""

    name: str
    period: str
    values: dict[str, Any]
    row: dict[str, Any]


def scenario_row(name: str, settings: WhatIfSettings, result: WhatIfResult) -> dict[str, Any]:
    """One line of the comparison table (plain numbers; money in the file's currency)."""
    unit = PERIOD_NAMES[settings.period]
    lift = f"+{settings.lift:g} {'points' if settings.lift_mode == 'points' else '%'} of "
    lift += "yearly retention" if result.lift_basis_used == "year" else f"retention per {unit}"
    return {
        "Scenario": name,
        "Lift": lift,
        f"Retention per {unit}": f"{result.retention_base:.1%} → {result.retention_lifted:.1%}",
        "Margin %": round(100 * settings.effective_margin_rate, 1),
        "Horizon (years)": round(settings.horizon / PERIODS_PER_YEAR[settings.period], 2),
        "Acquisition cost": settings.acquisition_cost,
        f"Fixed costs per {unit}": settings.fixed_costs,
        "Loyalty effects": loyalty_text(settings.loyalty, unit),
        "Profit change %": json_number(result.profit_change_pct),
        "Extra profit": json_number(result.profit_change),
        "CLV change %": json_number(result.clv_change_pct),
    }


def _signed_pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1f}%"


ROW_FORMATS = {
    "Margin %": lambda x: f"{x:g}%",
    "Horizon (years)": lambda x: f"{x:g}",
    "Acquisition cost": lambda x: f"{x:,.2f}",
    "Profit change %": _signed_pct,
    "Extra profit": lambda x: "n/a" if x is None else f"{x:+,.0f}",
    "CLV change %": _signed_pct,
}


def comparison_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Scenarios side by side: one column per scenario, one row per setting or result (as text)."""
    columns = {}
    for row in rows:
        columns[row["Scenario"]] = {
            k: ROW_FORMATS.get(k, lambda x: f"{x:,.0f}" if isinstance(x, (int, float)) else str(x))(v)
            for k, v in row.items()
            if k != "Scenario"
        }
    return pd.DataFrame(columns).rename_axis("").reset_index()


def loyalty_text(loyalty: LoyaltyEffects, unit: str) -> str:
    parts = [
        f"spend {100 * loyalty.spend_growth:+.2f}%/{unit}" if loyalty.spend_growth else "",
        f"referrals {100 * loyalty.referrals:.2f}%/{unit}" if loyalty.referrals else "",
        f"cost to serve −{100 * loyalty.cost_reduction:.2f}%/{unit}" if loyalty.cost_reduction else "",
    ]
    return ", ".join(p for p in parts if p) or "none"


def saved_scenarios(data_key: str, period: str) -> dict[str, SavedScenario]:
    """Scenarios saved in this session for this dataset and period, in saving order.

    Kept per period because the measured inputs (and the sliders' meaning) change with it.
    """
    return st.session_state.setdefault(K_SCENARIOS, {}).setdefault(f"{data_key}|{period}", {})


def save_scenario(data_key: str, scenario: SavedScenario) -> None:
    """Save (or overwrite) a scenario under its name."""
    saved_scenarios(data_key, scenario.period)[scenario.name] = scenario


def load_scenario(data_key: str, period: str, name: str) -> None:
    """Widget callback: put a saved scenario's values back into the sliders (and so the URL)."""
    scenario = saved_scenarios(data_key, period).get(name)
    if scenario is not None:
        for key, value in scenario.values.items():
            st.session_state[key] = value


def delete_scenarios(data_key: str, period: str) -> None:
    """Widget callback: forget the scenarios saved for this dataset and period."""
    saved_scenarios(data_key, period).clear()


# --------------------------------------------------------------------------------------------
# Where each default came from
# --------------------------------------------------------------------------------------------


def set_widget(key: str, value: Any) -> None:
    """Widget callback: set another widget's value (e.g. the measured spend growth)."""
    st.session_state[key] = value


def default_value_text(name: str, value: float, period: str) -> str:
    """One default with its unit, for the 'where each number comes from' table."""
    unit = PERIOD_NAMES[period]
    texts = {
        "retention_rate": lambda v: f"{v:.1%} a {unit} ({v ** PERIODS_PER_YEAR[period]:.1%} a year)",
        "repeat_rate": lambda v: f"{v:.1%} of a {unit}'s buyers buy again the next {unit} (not retention)",
        "revenue_per_customer": lambda v: f"{v:,.2f} a {unit}",
        "new_customers": lambda v: f"{v:,.0f} a {unit}",
        "starting_customers": lambda v: f"{v:,.0f}",
        "spend_growth": lambda v: f"{100 * v:+.2f}% of first-{unit} spend per {unit} of tenure",
        "margin_rate": lambda v: f"{v:.0%} of revenue",
        "acquisition_cost": lambda v: f"{v:,.2f} per new customer",
        "fixed_costs": lambda v: f"{v:,.0f} a {unit}",
    }
    return texts[name](value)


def provenance(name: str, default: DefaultValue) -> str:
    """'Measured', or what the user should do about an assumption."""
    if default.measured:
        return "Measured"
    if name == "spend_growth":
        return "Not measured: starts at 0"
    return "Assumed — set your own"


def defaults_table(defaults: dict[str, DefaultValue], period: str) -> pd.DataFrame:
    """Input, value with unit, measured or assumed, and how (one row per default)."""
    unit = PERIOD_NAMES[period]
    rows = [
        {
            "Input": LABELS[name].format(unit=unit),
            "Value": default_value_text(name, d.value, period),
            "From": provenance(name, d),
            "How": d.source.split(": ", 1)[-1]
            if d.source.startswith(("Measured: ", "Assumed — set your own: "))
            else d.source,
        }
        for name, d in ((n, defaults[n]) for n in LABELS if n in defaults)
    ]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Sentences under the charts
# --------------------------------------------------------------------------------------------


def customers_sentence(result: WhatIfResult, years: float, unit: str) -> str:
    """What the customers chart says, in one sentence (growing, held, or shrinking base)."""
    if result.base.acquisition == "replace":
        return (
            "You replace everyone who leaves, so the base holds its size in both scenarios (the lines overlap): "
            "the lift pays off as acquisition spend saved, not as more customers."
        )
    end_base, end_lift = result.frame_base["customers"].iloc[-1], result.frame_lifted["customers"].iloc[-1]
    if end_base < result.base.starting_customers:
        kept_base, kept_lift = result.frame_base["customers"].sum(), result.frame_lifted["customers"].sum()
        more = f"{100 * (kept_lift / kept_base - 1):+.0f}%" if kept_base > 0 else "more"
        return (
            f"With {result.base.new_customers:,.0f} new customers a {unit} the base shrinks in both scenarios; the "
            f"lift keeps {more} customer-{unit}s over {years:g} years ({kept_lift:,.0f} instead of {kept_base:,.0f})."
        )
    change = f" ({100 * (end_lift / end_base - 1):+.0f}%)" if end_base > 0 else ""
    return (
        f"With the lift you would have {end_lift:,.0f} customers after {years:g} years instead of {end_base:,.0f}"
        f"{change}: every customer kept is one you do not have to win again."
    )


def waterfall_sentence(waterfall: pd.DataFrame) -> str:
    """Name the biggest source of the extra profit and what the discounting bar means."""
    parts = waterfall[waterfall["source"] != SOURCE_DISCOUNTING]
    if parts.empty or not parts["amount"].abs().max() > 0:
        return "No extra profit: the lift is zero or changes nothing over this horizon."
    top = parts.loc[parts["amount"].abs().idxmax()]
    undiscounted = parts["amount"].sum()
    share = top["amount"] / undiscounted if undiscounted > 0 else float("nan")
    lead = (
        f"All of the extra profit comes from “{top['source'].lower()}”"
        if share > 0.995
        else f"The largest part of the extra profit comes from “{top['source'].lower()}” ({share:.0%} before discounting)"
    )
    return f"{lead}. The discounting bar is how much less that profit is worth today because it arrives later."
