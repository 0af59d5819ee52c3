"""Share: make a link to this analysis, list and delete the links made here, and say what a link holds."""

import streamlit as st

from analytics.data.schema import DataError
from ui import cache, share, state
from ui.auth import sign_in_configured
from ui.cache import current_data
from ui.frame import friendly_errors, header, next_step
from ui.text import plain

header(
    "Share this analysis",
    "Make a link that opens this dataset with the settings you chose on every page, for the colleague you "
    "send it to. No account or upload is needed on their side.",
)

settings = None
with friendly_errors("Share links"):
    settings = cache.store_settings()
if settings is None:
    st.stop()
days = f"{settings.days:g} days"

opened = state.shared_link()
if opened:
    if opened.get("available"):
        st.info(
            f"This session was opened from a share link to **{opened['name']}**, made on {opened['created']}; "
            f"it works until {opened['expires']}."
        )
        if st.button("Delete this link for everyone", key="share_delete_opened", icon=":material/delete:"):
            share.delete_link(opened["id"])
            state.set_shared_link(opened | {"available": False})
            st.success("Deleted: the link no longer opens anything. This tab keeps its copy until you close it.")
    else:
        st.warning(opened.get("problem") or "The link this session was opened with no longer opens anything.")

st.subheader("Make a link")
data = None
try:
    data = current_data()
except DataError as exc:
    st.warning(plain(exc))

if data is not None:
    source = state.source()
    if source.startswith("demo:"):
        st.markdown(
            f"**Dataset: {plain(data.name)}**, a demo. Only its name goes into the link: whoever opens it loads the "
            "same demo data."
        )
    elif source.startswith(state.DB_PREFIX):
        st.markdown(
            f"**Dataset: {plain(data.name)}**, read through a connection this server names. Only the connection's "
            "name and the table names go into the link (no data, no address, no password): whoever opens it reads "
            "the tables again through this server, so they see the database as it is then."
        )
    else:
        tables = []
        if data.has_transactions:
            tables.append(f"{len(data.transactions):,} purchases")
        if data.has_customers:
            tables.append(f"{len(data.customers):,} customer rows")
        st.markdown(
            f"**Dataset: {plain(data.name)}.** The link stores the cleaned data every page uses ({', '.join(tables)} of "
            f"{data.n_customers:,} customers), the report of how each file was read and cleaned, and the column "
            "mapping. It does not store your original file, nor the rows that cleaning left out."
        )
    chosen = share.settings_table(state.settings_snapshot())
    if chosen.empty:
        st.markdown("**Settings:** none changed yet, so the link opens every page at its defaults.")
    else:
        st.markdown("**Settings** the link restores (every page you changed something on):")
        st.dataframe(chosen, hide_index=True)
    if st.button("Create the link", type="primary", key="share_create", icon=":material/link:"):
        with friendly_errors("Share link"):
            made = share.create_link()
            st.success(f"Link ready. It works until {made.expires:%d %b %Y}; copy it with the button at its right.")
            st.code(share.link_url(made.share_id), language=None)

made_here = share.links_made()
st.subheader("Links made in this session")
if not made_here:
    st.caption("None yet. Links you make appear here so you can copy or delete them; the list ends with this tab.")
for info in reversed(made_here):
    files = ", ".join(info.file_names)
    files = f" ({files})" if files and files != info.name else ""
    left, right = st.columns([5, 1], vertical_alignment="center")
    with left:
        st.markdown(
            f"**{plain(info.name)}**{plain(files)}: made {info.created:%d %b %Y %H:%M} UTC, works until "
            f"{info.expires:%d %b %Y}, {share.size_text(info.size_bytes)}."
        )
        st.code(share.link_url(info.share_id), language=None)
    if right.button("Delete", key=f"share_delete_{info.share_id}", icon=":material/delete:"):
        share.delete_link(info.share_id)
        st.rerun()

st.subheader("What a link holds, and what it does not")
st.markdown(
    f"""
- **Holds:** the dataset (a demo's name, or your cleaned tables with the cleaning report and file names),
  the settings of every page you changed, and the column mapping. Opening it shows the same numbers you see.
- **Does not hold:** your original files, the rows cleaning left out, data from other uploads, your other
  browser tabs, or anything about you.
- **Who can open it:** anyone who has the link{" and can sign in to this app" if sign_in_configured() else ""}.
  The id is 32 random characters (192 bits), so it cannot be guessed; treat the link like the data itself.
- **How long:** {days} from when it was made, or until someone with the link deletes it. A deleted or expired
  link shows a plain "link not found" message. A tab that already opened it keeps its copy until closed.
- **Where:** on this app's server. The server keeps at most {settings.max_mb:g} MB of shared analyses
  ({share.size_text(cache.share_store().used_bytes())} now); when full, delete links you no longer need.
"""
)

next_step(
    "Send the link to the person who decides, with one sentence on what to look at (for example the what-if "
    "lift you set), and delete it here once the decision is made."
)
