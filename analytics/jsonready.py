"""The one JSON sanitiser: plain Python that `json.dumps` writes without surprises.

Used by the headless report, its section adapters, saved scenarios and the share store, so a number
that cannot be written (NaN, infinity) is `null` everywhere and a date is always ISO `YYYY-MM-DD`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def json_number(value: float | None) -> float | None:
    """A finite float, or None for None, NaN and infinity.

    Parameters
    ----------
    value : float or None
        A number.

    Returns
    -------
    float or None
        JSON has no NaN or infinity.
    """
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def to_json_ready(value: Any) -> Any:
    """Plain Python for json.dumps: numpy scalars to int/float/bool, NaN/inf to None, dates to ISO.

    Dicts (keys become strings), lists and tuples (both become lists) are converted recursively;
    anything else is returned as it is.

    Parameters
    ----------
    value : object
        Any report value.

    Returns
    -------
    object
        The same structure with JSON-native values.
    """
    if isinstance(value, dict):
        return {str(k): to_json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_ready(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (pd.Timestamp,)):
        return None if pd.isna(value) else value.strftime("%Y-%m-%d")
    if isinstance(value, np.bool_):
        return bool(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return value


__all__ = ["json_number", "to_json_ready"]
