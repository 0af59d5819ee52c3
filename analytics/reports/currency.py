"""How money is shown: a currency code (ISO 4217) turned into a symbol, amounts, axis titles, Excel formats.

The code comes from the data (``CustomerData.currency`` where the reader detected it) or from the
user's choice on the Data page; ``None`` means "not known", and amounts are then shown as plain
numbers with "(currency not set)" in titles, never with a guessed symbol.
"""

from __future__ import annotations

import math

#: Codes offered on the Data page, most common first (any other ISO code is shown as its code).
COMMON_CURRENCIES: tuple[str, ...] = (
    "EUR",
    "USD",
    "GBP",
    "CHF",
    "JPY",
    "CAD",
    "AUD",
    "SEK",
    "NOK",
    "DKK",
    "PLN",
    "CZK",
    "INR",
    "CNY",
    "BRL",
    "MXN",
    "ZAR",
)
#: Symbols written before the amount without a space ("€1,234"). Codes not listed are written as
#: "SEK 1,234" (the unambiguous form for currencies whose symbol is shared, like kr).
SYMBOLS: dict[str, str] = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "CNY": "CN¥", "BRL": "R$"}
#: Currencies without minor units in everyday use (amounts shown without decimals).
NO_DECIMALS = frozenset({"JPY", "KRW", "ISK", "CLP", "HUF"})
NOT_SET = "currency not set"


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


def format_money(value: float | None, code: str | None, *, decimals: int = 0, signed: bool = False) -> str:
    """An amount with its currency: '€179,493', '-$12.50', 'SEK 1,200', '179,493' (unknown), 'n/a' (missing).

    Parameters
    ----------
    value : float or None
        The amount (None or NaN gives 'n/a').
    code : str or None
        ISO 4217 code or None.
    decimals : int, default 0
        Digits after the point (0 for JPY-like currencies whatever is asked).
    signed : bool
        Always show the sign ('+€1,200'), for changes.

    Returns
    -------
    str
        The text.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    code = normalise_code(code)
    if code in NO_DECIMALS:
        decimals = 0
    number = f"{abs(value):,.{decimals}f}"
    negative = value < 0 and number.strip("0.,") != ""  # -0.004 shows as 0, not -0
    sign = "-" if negative else ("+" if signed else "")
    mark = symbol(code)
    if not mark:
        return f"{sign}{number}"
    if code in SYMBOLS:
        return f"{sign}{mark}{number}"
    return f"{sign}{mark} {number}"


def money_title(title: str, code: str | None) -> str:
    """Axis / column title with its unit: 'Lifetime value (EUR)', 'Lifetime value (currency not set)'.

    Parameters
    ----------
    title : str
        The title without unit.
    code : str or None
        ISO 4217 code.

    Returns
    -------
    str
        The title with its unit.
    """
    code = normalise_code(code)
    return f"{title} ({code or NOT_SET})"


def excel_money_format(code: str | None, *, decimals: int = 2) -> str:
    """An Excel number format for amounts in `code`: '"€"#,##0.00', '"SEK "#,##0.00', '#,##0.00'.

    Parameters
    ----------
    code : str or None
        ISO 4217 code.
    decimals : int, default 2
        Digits after the point.

    Returns
    -------
    str
        The number format.
    """
    code = normalise_code(code)
    if code in NO_DECIMALS:
        decimals = 0
    number = "#,##0" + ("." + "0" * decimals if decimals else "")
    mark = symbol(code)
    if not mark:
        return number
    prefix = mark if code in SYMBOLS else f"{mark} "
    return f'"{prefix}"{number};-"{prefix}"{number}'
