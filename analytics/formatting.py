"""Numbers for people, written one way everywhere: amounts, shares and percentages.

Pages, the HTML report and the sentences of the library use these, so the same figure reads the
same wherever it appears. Anything that is not a finite number (None, NaN, infinity) reads "n/a".
"""

from __future__ import annotations

import math

NOT_AVAILABLE = "n/a"


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(float(x))


def money(x: float | None, *, whole_from: float = 1000.0, signed: bool = False) -> str:
    """An amount in the file's currency (no symbol): '12,345', '523.40', '+1,200'.

    Parameters
    ----------
    x : float or None
        The amount.
    whole_from : float
        Amounts of at least this size (in absolute value) are shown in whole units, smaller ones with
        two decimals; 0 shows every amount in whole units.
    signed : bool
        Show a '+' before positive amounts (changes).

    Returns
    -------
    str
        The text (NOT_AVAILABLE for None or a missing number).
    """
    if not _finite(x):
        return NOT_AVAILABLE
    value = float(x)  # type: ignore[arg-type]
    sign = "+" if signed else ""
    return f"{value:{sign},.0f}" if abs(value) >= whole_from else f"{value:{sign},.2f}"


def percent(share: float | None, *, decimals: int = 1, signed: bool = False) -> str:
    """A share (0..1) as a percentage: 0.123 -> '12.3%' (`signed`: '+12.3%').

    Parameters
    ----------
    share : float or None
        The share.
    decimals : int, default 1
        Decimals shown.
    signed : bool
        Show a '+' before positive shares.

    Returns
    -------
    str
        The text (NOT_AVAILABLE for None or a missing number).
    """
    if not _finite(share):
        return NOT_AVAILABLE
    sign = "+" if signed else ""
    return f"{float(share):{sign}.{decimals}%}"  # type: ignore[arg-type]


def percent_points(value: float | None, *, spec: str = "+.1f") -> str:
    """A number already in percent: 4.2 -> '+4.2%'.

    Parameters
    ----------
    value : float or None
        The percentage.
    spec : str, default '+.1f'
        The format of the number.

    Returns
    -------
    str
        The text (NOT_AVAILABLE for None or a missing number).
    """
    if not _finite(value):
        return NOT_AVAILABLE
    return f"{float(value):{spec}}%"  # type: ignore[arg-type]


__all__ = ["NOT_AVAILABLE", "money", "percent", "percent_points"]
