"""Share links in the app: make a link to the current analysis, open `?share=<id>`, list, delete.

`analytics.store.share_store` keeps the snapshots; this module decides what goes into one (from the
session) and how a session opens one:

- Making a link snapshots the current dataset (a demo's key, or the cleaned upload), the URL's
  query parameters, the session's settings (`ui.state.settings_snapshot()`, every page's
  result-changing widgets) and the column mapping.
- Opening `?share=<id>` happens once, when a new session first asks for its data source
  (`start_session`, called by the frame, calls `open_link`): the settings go back into session state before any
  page draws a widget, and the source becomes `share:<id>` (or the demo's key). The link's data
  is then loaded per session by `ui.cache.shared_data`, so a session only ever sees another
  session's data by opening its link.
- A link that does not exist, has expired, or is not an id at all (`?share=../../etc/passwd`)
  gives the store's plain message on every page; nothing else is read.

Server settings (environment): KEEPWISE_DATA_DIR (default var/shares next to app.py),
KEEPWISE_SHARE_DAYS (30), KEEPWISE_SHARE_MAX_MB (500).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.data.datasets import DEFAULT_DEMO, DEMOS
from analytics.data.schema import DataError
from analytics.store.share_store import MB, ShareInfo, Snapshot
from ui import state
from ui.cache import current_data, share_store

SHARE_PAGE_PATH = "share"  # url path of pages/share.py (its file name), stripped to get the app's address
NOT_SETTINGS = {state.SHARE_PARAM, "embed", "embed_options"}  # URL keys a snapshot never carries
K_MADE = "share_links_made"  # list[ShareInfo]: links made in this session, newest last
PAGE_OF_PREFIX = {
    "kpi_": "Customer health",
    "coh_": "Cohorts",
    "seg_": "Segments",
    "ch_": "Churn",
    "clv_": "Lifetime value",
    "wi_": "What-if",
    "act_": "Action list",
    "camp_": "Control group (Churn planner, Action list, Campaign readout)",
    "cur_": "Data",
    "kind_": "Data",
}
#: What each setting is called on its page (the Share table shows these, not the internal keys).
SETTING_LABELS = {
    "wi_period": "Model steps in",
    "wi_lift": "Retention lift",
    "wi_mode": "Lift measured in",
    "wi_basis": "Lift applies to",
    "wi_margin": "Margin (% of revenue)",
    "wi_disc": "Discount rate (% a year)",
    "wi_years": "Horizon (years)",
    "wi_cac": "Acquisition cost per new customer",
    "wi_fixed": "Fixed costs per period",
    "wi_acq": "New customers",
    "wi_growth": "Spend growth with tenure (%)",
    "wi_ref": "Referrals per 100 retained",
    "wi_serve": "Lower cost to serve (%)",
    "kpi_period": "Period",
    "kpi_model": "Use the model's lifetime value",
    "kpi_trend": "Trend shown",
    "kpi_targets": "Targets",
    "coh_period": "Cohort period",
    "coh_max": "Cohorts shown",
    "coh_revenue": "Show revenue",
    "clv_unit": "Time unit of the models",
    "clv_horizon": "Horizon (months)",
    "clv_margin": "Margin (%)",
    "clv_discount": "Discount rate (% a year)",
    "clv_model": "Model",
    "clv_calibration_end": "Holdout starts",
    "ch_label_source": "Who counts as left",
    "ch_label_column": "Column that says who left",
    "ch_churn_value": "Value meaning 'left'",
    "ch_horizon_days": "Days without buying = left",
    "ch_model": "Risk model",
    "ch_survival_by": "Survival curves by",
    "ch_offer_cost": "Cost of an offer",
    "ch_save_rate": "Share saved by an offer (%)",
    "seg_period": "Stage moves since",
    "seg_measure": "Segment measure",
    "act_segment": "Segments listed",
    "act_min_value": "Minimum value",
    "camp_control_percent": "Control group (%)",
    "camp_seed": "Control group draw",
    "cur_code": "Currency",
    "kind_business": "Kind of business",
}


def setting_label(key: str) -> str:
    """The name a setting has on its page ('wi_acq' -> 'New customers'); unknown keys humanised."""
    if key in SETTING_LABELS:
        return SETTING_LABELS[key]
    rest = key.split("_", 1)[-1].replace("_", " ")
    return rest[:1].upper() + rest[1:]  # ui.state.SETTINGS_PREFIXES


# --- making a link ------------------------------------------------------------------------------


def current_snapshot() -> Snapshot:
    """The current view as a snapshot: dataset + URL parameters + settings + column mapping."""
    current = state.source()
    params = {k: st.query_params.get_all(k) for k in st.query_params.keys() if k not in NOT_SETTINGS}
    settings = state.settings_snapshot()
    if current.startswith("demo:"):
        key = current.split(":", 1)[1]
        return Snapshot(demo=key, params=params | {"dataset": [key]}, settings=settings)
    params.pop("dataset", None)
    if current.startswith(state.DB_PREFIX):  # names only: the tables are read again through the connection
        current_data()  # raises DataError with the user's message when the tables cannot be read
        return Snapshot(database=dict(state.database() or {}), params=params, settings=settings)
    data = current_data()  # raises DataError with the user's message when there is nothing to share
    if current.startswith(state.SHARE_PREFIX):  # sharing a shared link again: same data, fresh expiry
        names, mappings = tuple((state.shared_link() or {}).get("file_names", ())), {}
    else:
        names, mappings = tuple(f.name for f in state.uploads()), dict(state.mappings())
    return Snapshot(data=data, params=params, settings=settings, mappings=mappings, file_names=names)


def create_link() -> ShareInfo:
    """Store the current view; remember the link for this session's list. Raises DataError."""
    info = share_store().create(current_snapshot())
    st.session_state.setdefault(K_MADE, []).append(info)
    return info


def settings_table(settings: dict) -> pd.DataFrame:
    """The settings a link carries, one row each: page, the setting's name on that page, value as shown."""
    rows = []
    for key in sorted(settings):
        page = next((name for prefix, name in PAGE_OF_PREFIX.items() if key.startswith(prefix)), "")
        value = settings[key]
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        if value is None or shown == "":
            shown = "(none)"
        rows.append({"Page": page, "Setting": setting_label(key), "Value": shown})
    return pd.DataFrame(rows, columns=["Page", "Setting", "Value"])


def links_made() -> list[ShareInfo]:
    return list(st.session_state.get(K_MADE, []))


def delete_link(share_id: str) -> bool:
    """Delete a link for everyone (whoever has it may). True when it still existed."""
    st.session_state[K_MADE] = [i for i in links_made() if i.share_id != share_id]
    return share_store().delete(share_id)


def app_url() -> str:
    """The app's address as the browser sees it ('' where unknown, e.g. in AppTest)."""
    url = st.context.url or ""
    suffix = "/" + SHARE_PAGE_PATH
    return url[: -len(SHARE_PAGE_PATH)] if url.endswith(suffix) else url


def size_text(n_bytes: int) -> str:
    """'4 KB', '12.3 MB'."""
    return f"{n_bytes / 1024:,.0f} KB" if n_bytes < MB else f"{n_bytes / MB:,.1f} MB"


def link_url(share_id: str) -> str:
    return f"{app_url()}?{state.SHARE_PARAM}={share_id}"


# --- opening a link -----------------------------------------------------------------------------


def start_session() -> None:
    """Choose this session's data source on its first run; later runs change nothing.

    A share link in the URL (`?share=<id>`) opens that link (its dataset and settings); otherwise the
    URL's demo (`?dataset=`), else the default demo. Called by the frame (app.py and pages run
    without it) before anything reads `ui.state.source()`.
    """
    if state.source_chosen():
        return
    st.session_state[state.K_SOURCE] = f"demo:{state.demo_from_url() or DEFAULT_DEMO}"  # the URL stays as it is
    share_id = state.shared_id_from_url()
    if share_id is not None:
        open_link(share_id)  # the link's dataset becomes the source; its settings return


def open_link(share_id: str) -> None:
    """Make this new session show the link's view: its dataset as the source, its settings restored.

    Called once per session by `start_session`. An unusable link leaves the source at
    `share:<id>`, so every page shows the store's plain message (see `shared_data`).
    """
    st.session_state[state.K_SOURCE] = state.SHARE_PREFIX + share_id
    try:
        info = share_store().info(share_id)  # validates the id before any path is built
    except DataError as exc:  # kept: an expired link is deleted as it is found, so say "expired" only now
        state.set_shared_link({"id": share_id, "available": False, "problem": str(exc)})
        return
    state.set_shared_link(
        {
            "id": share_id,
            "available": True,
            "name": info.name,
            "demo": info.demo,
            "file_names": list(info.file_names),
            "created": f"{info.created:%d %b %Y}",
            "expires": f"{info.expires:%d %b %Y}",
        }
    )
    state.restore_settings(info.settings)
    if info.demo in DEMOS:
        state.set_source(f"demo:{info.demo}")  # demo data is everyone's: use the shared cache
    extra = {k: v for k, v in info.params.items() if k not in NOT_SETTINGS | {"dataset"}}
    if extra:
        st.query_params.update(extra)


def sidebar_label() -> str:
    opened = state.shared_link() or {}
    return f"Shared link: {opened['name']}" if opened.get("available") else "Shared link (not available)"


def sidebar_caption() -> str:
    opened = state.shared_link() or {}
    if not opened.get("available"):
        return "This link does not open an analysis. Pick a demo dataset, or ask the sender for a new link."
    return f"Opened from a share link; it works until {opened['expires']}. Anyone who has the link sees this data."
