"""The business kind every page uses: detected from the data, or the user's choice (Data page)."""

from __future__ import annotations

from analytics.business.kind import BusinessKind, detect_business_kind, list_assumptions
from analytics.data.schema import CustomerData, DataError
from ui import state
from ui.cache import per_dataset

#: Session setting (kept across pages and carried by share links): None = detect.
K_BUSINESS_KIND = "kind_business"


def override() -> str | None:
    return state.setting(K_BUSINESS_KIND, None)


@per_dataset()
def _detected(data: CustomerData, chosen: str | None) -> BusinessKind:
    return detect_business_kind(data, chosen)


def business_kind(data: CustomerData) -> BusinessKind:
    """The kind the pages use; falls back to the detection when the choice does not fit this data."""
    try:
        return _detected(data, override())
    except DataError:
        return _detected(data, None)


@per_dataset()
def assumptions(data: CustomerData, chosen: str | None) -> list:
    return list_assumptions(data, detect_business_kind(data, chosen))
