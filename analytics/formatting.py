"""Numbers for people, written one way everywhere: amounts, shares and percentages.

Pages, the HTML report and the sentences of the library use these, so the same figure reads the
same wherever it appears. Anything that is not a finite number (None, NaN, infinity) reads "n/a".
"""

from __future__ import annotations

import math

NOT_AVAILABLE = "n/a"


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(float(x))


#: Symbols written before the amount without a space ("€1,234"). Codes not listed are written as
#: "SEK 1,234" (the unambiguous form for currencies whose symbol is shared, like kr).
SYMBOLS: dict[str, str] = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "CNY": "CN¥", "BRL": "R$"}
#: Currencies without minor units in everyday use (amounts shown without decimals).
NO_DECIMALS = frozenset({"JPY", "KRW", "ISK", "CLP", "HUF"})


def normalise_code(code: str | None) -> str | None:
    """'eur ' -> 'EUR'; None or anything that is not three letters -> None.

    Parameters
    ----------
    code : str or None
        A currency code as written.

    Returns
    -------
    str or None
        The ISO 4217 code.
    """
    if not isinstance(code, str):
        return None
    code = code.strip().upper()
    return code if len(code) == 3 and code.isalpha() else None


def symbol(code: str | None) -> str:
    """'€' for EUR, 'SEK' for SEK, '' when unknown.

    Parameters
    ----------
    code : str or None
        ISO 4217 code.

    Returns
    -------
    str
        The symbol to write before amounts.
    """
    code = normalise_code(code)
    return "" if code is None else SYMBOLS.get(code, code)


def money(
    x: float | None,
    currency: str | None = None,
    *,
    decimals: int | None = None,
    whole_from: float = 1000.0,
    signed: bool = False,
) -> str:
    """An amount with its currency, the one money format of the project: '€179,493', '-$12.50',
    'SEK 1,200', '523.40' (currency unknown), '+€1,200' (`signed`), 'n/a' (missing).

    Parameters
    ----------
    x : float or None
        The amount.
    currency : str, optional
        ISO 4217 code (None or unknown: the number alone, never a guessed symbol).
    decimals : int, optional
        Digits after the point; None: whole units from `whole_from` up (in absolute value), two
        decimals below. Currencies without minor units (JPY, ...) always show whole units.
    whole_from : float
        The threshold of the automatic decimals (0: always whole units).
    signed : bool
        Show a '+' before positive amounts (changes).

    Returns
    -------
    str
        The text (NOT_AVAILABLE for None or a number that is not finite).
    """
    if not _finite(x):
        return NOT_AVAILABLE
    value = float(x)  # type: ignore[arg-type]
    code = normalise_code(currency)
    if decimals is None:
        decimals = 0 if abs(value) >= whole_from else 2
    if code in NO_DECIMALS:
        decimals = 0
    number = f"{abs(value):,.{decimals}f}"
    negative = value < 0 and number.strip("0.,") != ""  # -0.004 shows as 0, not -0
    sign = "-" if negative else ("+" if signed else "")
    mark = symbol(code)
    if not mark:
        return f"{sign}{number}"
    return f"{sign}{mark}{number}" if code in SYMBOLS else f"{sign}{mark} {number}"


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


__all__ = ["NOT_AVAILABLE", "NO_DECIMALS", "SYMBOLS", "money", "normalise_code", "percent", "percent_points", "symbol"]
