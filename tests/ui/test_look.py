"""ui.look: charts that fit their space."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.reports.charts.health import stake_concentration_chart
from ui import look


def test_the_stake_curve_leaves_its_plot_room_under_its_title():
    """Streamlit fits the whole chart (title, axes, plot) into its height: at 200 px a two-line title
    and the axes left the Action list's curve about 10 px tall (screenshot at 1440x900)."""
    spec = look.fit(stake_concentration_chart(pd.Series(np.linspace(100.0, 1.0, 500)))).to_dict()
    title_lines = spec["title"] if isinstance(spec["title"], list) else [spec["title"]]
    axes = 60  # x labels and x title
    assert spec["height"] - axes - 20 * len(title_lines) >= 150
