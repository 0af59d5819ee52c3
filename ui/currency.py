"""The currency every money figure is shown in: the user's choice on the Data page, else the detected one.

The choice is a setting (`K_CURRENCY`, prefix 'cur_'): it outlives page switches, travels in a share
link's snapshot, and rides in the address bar as `?cur_code=EUR` (the sidebar writes it there, like
the demo's name), so a copied page link shows the same currency.
"""

from __future__ import annotations

import streamlit as st

from analytics.data.schema import CustomerData
from analytics.formatting import money as format_money
from analytics.reports import currency as fmt
from ui.cache import current_data

K_CURRENCY = "cur_code"  # "" or missing = use the detected currency
AUTO = ""


def detected(data: CustomerData | None) -> str | None:
    """The currency the reader found in the file (None: nothing found, or no detection yet)."""
    return fmt.normalise_code(getattr(data, "currency", None)) if data is not None else None


def chosen() -> str | None:
    """The code picked on the Data page or in the link (None: follow the detected one)."""
    return fmt.normalise_code(st.session_state.get(K_CURRENCY) or None)


def current(data: CustomerData | None = None) -> str | None:
    """The code to show money in: the user's choice, else the data's detected currency, else None."""
    return chosen() or detected(data)


def code_now() -> str | None:
    """The code in force for the dataset the pages show now (None outside a page run or when unknown)."""
    code = chosen()
    if code:
        return code
    try:
        return detected(current_data())
    except Exception:  # no dataset yet (the page shows its own message) or no Streamlit run
        return None


def money(
    value: float | None,
    data: CustomerData | None = None,
    *,
    decimals: int | None = 0,
    whole_from: float = 1000.0,
    signed: bool = False,
) -> str:
    """An amount in the currency in force (`analytics.formatting.money`; decimals None: whole units
    from `whole_from` up, two decimals below). Without `data`, the dataset the page shows now."""
    code = current(data) if data is not None else code_now()
    return format_money(value, code, decimals=decimals, whole_from=whole_from, signed=signed)


def title(text: str, data: CustomerData | None = None) -> str:
    """'Lifetime value (EUR)' for an axis or a column."""
    return fmt.money_title(text, current(data))


def from_url() -> None:
    """Take `?cur_code=` from a link the session was opened with (invalid codes are reported by ui.links)."""
    code = fmt.normalise_code(st.query_params.get(K_CURRENCY))
    if code and K_CURRENCY not in st.session_state:
        st.session_state[K_CURRENCY] = code


def keep_in_url() -> None:
    """Write the chosen code into the address bar (the sidebar calls this on every run)."""
    code = chosen()
    if code:
        st.query_params[K_CURRENCY] = code
    elif K_CURRENCY in st.query_params:
        del st.query_params[K_CURRENCY]


def picker(data: CustomerData) -> str | None:
    """The Data page's currency choice; returns the code in force."""
    found = detected(data)
    auto_label = f"As detected in the file ({found})" if found else "Not set (plain numbers)"
    options = [AUTO, *fmt.COMMON_CURRENCIES]
    extra = chosen()
    if extra and extra not in options:
        options.append(extra)
    st.selectbox(
        "Currency of the amounts",
        options,
        format_func=lambda c: auto_label if c == AUTO else f"{c} ({fmt.symbol(c)})" if fmt.symbol(c) != c else c,
        key=K_CURRENCY,
        help="Every money figure, chart axis and export is labelled with it. The file's amounts are not converted.",
    )
    return current(data)
