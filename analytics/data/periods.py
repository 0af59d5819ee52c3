"""One vocabulary for periods: codes, names, lengths, and the calendar-period helpers.

Every part of the library speaks of time in the same codes:

====  =======  =====================  ==========================================
code  name     length                 used by
====  =======  =====================  ==========================================
D     day      1 day                  purchase models (`time_unit`)
W     week     7 days; 52 a year      purchase models, what-if
M     month    365.25 / 12 days       purchase models, what-if, KPIs, cohorts
Q     quarter  3 months               what-if, KPIs, cohorts
Y     year     365.25 days            what-if, KPIs, cohorts
====  =======  =====================  ==========================================

Calendar figures (KPIs, cohorts, lifecycle) name their period in words (`"month"`, `"quarter"`,
`"year"`) because those words appear in the app and the report; `PERIOD_CODES` maps a word to its
code, and the code is also the pandas frequency of the calendar period.

A month is 365.25 / 12 days wherever days become months (tenure, lifetimes, the CLV horizon). For
the what-if model a week is 1/52 of a year (12/52 of a month), so 52 weekly periods make a year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.data.schema import DataError

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0

PERIOD_NAMES: dict[str, str] = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}
"""Singular English name of each period code."""
PERIOD_CODES: dict[str, str] = {name: code for code, name in PERIOD_NAMES.items()}
"""Period code of each name ('month' -> 'M')."""

PERIODS_PER_YEAR: dict[str, float] = {"W": 52.0, "M": 12.0, "Q": 4.0, "Y": 1.0}
"""How many periods make a year (what-if periods)."""
MONTHS_PER_PERIOD: dict[str, float] = {"W": 12.0 / 52.0, "M": 1.0, "Q": 3.0, "Y": 12.0}
"""Months in one period (what-if and calendar periods)."""
DAYS_PER_PERIOD: dict[str, float] = {"D": 1.0, "W": 7.0, "M": DAYS_PER_MONTH}
"""Days in one model time unit (purchase models)."""

MODEL_TIME_UNITS: tuple[str, ...] = ("D", "W", "M")
"""Time units of the purchase models (BTYD parameters depend on it)."""
WHATIF_PERIODS: tuple[str, ...] = ("W", "M", "Q", "Y")
"""Periods of the what-if model."""
CALENDAR_PERIODS: tuple[str, ...] = ("month", "quarter", "year")
"""Calendar periods of the KPIs, cohorts and lifecycle, by name."""


def check_period(period: str) -> str:
    """Return the calendar period name if it is one of month / quarter / year.

    Parameters
    ----------
    period : str
        The period asked for.

    Returns
    -------
    str
        The same name.

    Raises
    ------
    DataError
        For any other value, with the valid choices.
    """
    if period not in CALENDAR_PERIODS:
        raise DataError(f"Unknown period '{period}': choose month, quarter or year.")
    return period


def period_ordinals(dates: pd.Series, period: str) -> np.ndarray:
    """Integer index of the calendar period each date falls in (consecutive periods differ by 1).

    Parameters
    ----------
    dates : pd.Series
        Dates.
    period : {'month', 'quarter', 'year'}
        The calendar period.

    Returns
    -------
    np.ndarray
        int64 period ordinals, one per date.
    """
    freq = PERIOD_CODES[check_period(period)]
    # asi8 (the period ordinals) is public pandas API that pandas-stubs do not declare.
    return pd.PeriodIndex(pd.to_datetime(dates), freq=freq).asi8.copy()  # type: ignore[attr-defined]


def period_from_ordinal(ordinal: int, period: str) -> pd.Period:
    """The calendar period with this integer index.

    Parameters
    ----------
    ordinal : int
        A `period_ordinals` value.
    period : {'month', 'quarter', 'year'}
        The calendar period.

    Returns
    -------
    pd.Period
        The period.
    """
    return pd.Period(ordinal=int(ordinal), freq=PERIOD_CODES[check_period(period)])


def last_complete_period(as_of: pd.Timestamp, period: str) -> pd.Period:
    """The last period ending on or before `as_of` (the period of `as_of` if it is its last day).

    Parameters
    ----------
    as_of : pd.Timestamp
        The data's last day.
    period : {'month', 'quarter', 'year'}
        The calendar period.

    Returns
    -------
    pd.Period
        The last complete period.
    """
    current = pd.Timestamp(as_of).to_period(PERIOD_CODES[check_period(period)])
    if pd.Timestamp(as_of).normalize() >= current.end_time.normalize():
        return current
    return current - 1


__all__ = [
    "CALENDAR_PERIODS",
    "DAYS_PER_MONTH",
    "DAYS_PER_PERIOD",
    "DAYS_PER_YEAR",
    "MODEL_TIME_UNITS",
    "MONTHS_PER_PERIOD",
    "PERIODS_PER_YEAR",
    "PERIOD_CODES",
    "PERIOD_NAMES",
    "WHATIF_PERIODS",
    "check_period",
    "last_complete_period",
    "period_from_ordinal",
    "period_ordinals",
]
