"""How money is labelled: currency codes offered, axis titles, Excel formats (amounts: `analytics.formatting.money`).

The code comes from the data (``CustomerData.currency`` where the reader detected it) or from the
user's choice on the Data page; ``None`` means "not known", and amounts are then shown as plain
numbers with "(currency not set)" in titles, never with a guessed symbol.
"""

from __future__ import annotations

from analytics.formatting import NO_DECIMALS, SYMBOLS, normalise_code, symbol

__all__ = [
    "COMMON_CURRENCIES",
    "NO_DECIMALS",
    "NOT_SET",
    "SYMBOLS",
    "excel_money_format",
    "money_title",
    "normalise_code",
    "symbol",
]

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
NOT_SET = "currency not set"


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
