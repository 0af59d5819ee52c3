"""Data page: upload files, correct the column mapping, and see every row the app used or left out."""

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from analytics.business.kind import KINDS
from analytics.data import schema as s
from analytics.data.columns import ColumnMapping, roles_for
from analytics.data.datasets import DEFAULT_DEMO
from analytics.data.schema import CustomerData, DataError
from ui import connections, currency, state
from ui.cache import current_data, read_upload, upload_sheets
from ui.frame import header, next_step
from ui.kind import K_BUSINESS_KIND, assumptions, business_kind
from ui.text import plain, safe_table

ROLE_LABELS = {
    s.CUSTOMER_ID: "Customer id",
    s.ORDER_DATE: "Purchase date",
    s.AMOUNT: "Amount",
    s.ORDER_ID: "Order / invoice id",
    s.QUANTITY: "Quantity",
    s.PRODUCT: "Product",
    s.CHANNEL: "Channel",
    s.SIGNUP_DATE: "Signup date",
    s.CHURNED: "Churned (yes/no)",
    s.CHURN_DATE: "Churn date",
    s.TENURE_MONTHS: "Tenure (months)",
    s.PLAN: "Plan / contract",
    s.MONTHLY_CHARGE: "Monthly charge",
    s.REGION: "Region",
    s.NPS: "NPS answer (0-10)",
    s.CSAT: "CSAT answer (1-5)",
    s.CES: "CES answer (1-7)",
    s.TICKETS: "Support tickets",
    s.RESOLUTION_HOURS: "Resolution time (hours)",
    s.ESCALATIONS: "Escalations",
    s.FIRST_CONTACT_RESOLUTION: "First-contact resolution",
    s.COMPLAINTS: "Complaints",
    s.ACQUISITION_COST: "Acquisition cost",
}
KIND_LABELS = {s.TRANSACTIONS: "Purchases (one row per purchase)", s.CUSTOMERS: "Customers (one row per customer)"}
NONE = "(none)"
BY_CONTENT = "Decide from the content"

header(
    "Data",
    "Upload your own customer data or use a demo dataset. This page shows how each file was read, "
    "which column plays which part, and every row that was left out and why.",
)

K_UPLOADER_ROUND = "uploader_round"  # int: bumped on each upload, so a fresh, empty uploader is shown
K_UPLOAD_NOTE = "upload_note"  # str: what the last upload left out (files of identical bytes), shown once


def size_label(size: int) -> str:
    return f"{size / 1e6:,.1f} MB" if size >= 100_000 else f"{max(size / 1e3, 0.1):,.1f} kB"


def upload_box() -> DeltaGenerator:
    """The uploader, and above it a slot for the files in use (filled by `files_in_use` once they are read).

    An upload is spilled to this server's disk (`ui.state.UploadedBytes`) and Streamlit's own copy
    dropped at once; the uploader then starts afresh under a new key (the old one would keep
    Streamlit's copy for the session). Local names only: a page's top-level names outlive its run.
    """
    with st.expander("Upload your files", expanded=state.source() == state.UPLOAD or not state.uploads()):
        st.markdown(
            "Give a **purchase log** (one row per purchase: customer id, date, amount), a **customers "
            "table** (one row per customer: id plus plan, signup, churn, survey answers, support figures), "
            "or both. CSV (any separator, decimal comma fine), Excel .xlsx or Parquet."
        )
        listing = st.container()
        files = st.file_uploader(
            "Add or replace files" if state.uploads() else "Files",
            type=["csv", "txt", "tsv", "xlsx", "parquet", "gz", "zip"],
            accept_multiple_files=True,
            key=f"uploader-{st.session_state.get(K_UPLOADER_ROUND, 0)}",
            help="A file with the same name as one in use replaces it; any other file is added to them.",
        )
        if files:
            left_out = state.add_uploads([state.UploadedBytes.from_widget(f, release=True) for f in files])
            del files
            if left_out:
                st.session_state[K_UPLOAD_NOTE] = " ".join(
                    f"'{plain(dropped)}' has the same content as '{plain(used)}': it is used once."
                    for dropped, used in left_out
                )
            st.session_state[K_UPLOADER_ROUND] = st.session_state.get(K_UPLOADER_ROUND, 0) + 1
            state.set_source(state.UPLOAD)
            st.rerun()
        st.caption(
            "Your files are kept on this server for your session only, and deleted when you remove them or "
            "a few minutes after the session ends; the page's address carries demo names, never your files. To show your data "
            "to a colleague, make a link on the Share page (it holds the cleaned tables)."
        )
    return listing


def files_in_use(listing: DeltaGenerator) -> dict[str, DeltaGenerator]:
    """The uploaded files the session uses (name and size), each with a button to remove it.

    Drawn before anything reads the files, so that a file the page cannot read can still be removed;
    returns a slot per file (by sha256) for its line, which `rows_read` fills in once the files are read.
    """
    lines: dict[str, DeltaGenerator] = {}
    if not state.uploads():
        return lines
    with listing:
        st.markdown("**Files in use**" if state.source() == state.UPLOAD else "**Files uploaded** (not in use now)")
        note = st.session_state.pop(K_UPLOAD_NOTE, None)
        if note:
            st.info(note, icon=":material/content_copy:")
        for file in state.uploads():
            left, right = st.columns([5, 1], vertical_alignment="center")
            lines[file.sha256] = left.empty()
            lines[file.sha256].markdown(file_line(file, None))
            if right.button("Remove", key=f"remove-{file.sha256[:12]}", icon=":material/close:"):
                state.remove_upload(file.sha256)
                if not state.uploads() and state.source() == state.UPLOAD:
                    state.set_source(f"demo:{state.demo_from_url() or DEFAULT_DEMO}")
                st.rerun()
    return lines


def file_line(file: state.UploadedBytes, rows: int | None) -> str:
    """One file in use: its name, size and, once read, the rows read."""
    return f":material/description: **{plain(file.name)}** · {size_label(file.size)}" + (
        f" · {rows:,} rows read" if rows is not None else ""
    )


def rows_read(lines: dict[str, DeltaGenerator], data: CustomerData) -> None:
    """Each file's line in the list of files in use, with the rows read from it."""
    read = {r.source: r.rows_read for r in data.reports}
    for file in state.uploads():
        if file.sha256 in lines and file.name in read:
            lines[file.sha256].markdown(file_line(file, read[file.name]))


listing = upload_box()
file_lines = files_in_use(listing)


configured = connections.connections()
with st.expander(
    "Connect a database",
    expanded=state.source().startswith(state.DB_PREFIX),
    icon=":material/database:",
):
    if not configured:
        st.caption(
            "No connection is configured on this server. Whoever runs it can name a DuckDB file, a PostgreSQL "
            "database or a folder of Parquet files (for data above the upload limit) in .streamlit/secrets.toml; "
            "see the README, 'Connect a database'."
        )
    else:
        st.markdown(
            "Read the tables of a database this server is connected to. You pick the connection by its name: the "
            "credentials stay on the server, and a share link names only the connection and the tables."
        )
        chosen = state.database() or {}
        names = list(configured)
        name = st.selectbox(
            "Connection",
            names,
            index=names.index(chosen["connection"]) if chosen.get("connection") in names else 0,
            format_func={n: f"{n} ({configured[n].kind})" for n in names}.get,  # no lambda: see ui.churn.labelled
            key="db_connection",
        )
        try:
            offered = connections.tables_of(name)
        except DataError as exc:
            st.error(plain(exc))
            offered = []
        if offered:
            options = [NONE, *offered]

            def position(table: str | None) -> int:
                return options.index(table) if table in options else 0

            same = chosen.get("connection") == name
            left, right = st.columns(2)
            purchases = left.selectbox(
                "Purchase table (one row per purchase)",
                options,
                index=position(chosen.get("purchases") if same else None),
                key="db_purchases",
            )
            customers = right.selectbox(
                "Customers table (one row per customer)",
                options,
                index=position(chosen.get("customers") if same else None),
                key="db_customers",
            )
            if st.button("Read these tables", type="primary", icon=":material/database:", key="db_read"):
                if purchases == NONE and customers == NONE:
                    st.error("Pick a purchase table, a customers table, or both.")
                else:
                    state.set_database(
                        name, None if purchases == NONE else purchases, None if customers == NONE else customers
                    )
                    st.rerun()


def sheet_picker(file: state.UploadedBytes) -> None:
    """For a workbook with several sheets: which sheet holds the data (default: decided by content).

    Shown before the file is read, so a sheet that cannot be used can still be swapped for another.
    """
    sheets = upload_sheets(file.sha256, file.name, file)
    if len(sheets) < 2:
        return
    options = [BY_CONTENT, *sheets]
    current = state.sheets().get(file.sha256, BY_CONTENT)
    picked = st.selectbox(
        f"Sheet of {plain(file.name)} that holds the data",
        options,
        index=options.index(current) if current in options else 0,
        key=f"{file.sha256[:12]}-sheet",
        help="By default the sheet whose columns say who the customer is (and that the app recognises most), "
        "then the one with the most data. Picking another sheet guesses its column mapping anew.",
    )
    if picked != current:
        state.set_sheet(file.sha256, None if picked == BY_CONTENT else picked)
        st.rerun()


def mapping_editor(file: state.UploadedBytes) -> None:
    """Let the user correct the guessed sheet, table type, column roles and date order for one file."""
    try:
        sheet_picker(file)
        table = read_upload(file.sha256, file.name, file, state.sheets().get(file.sha256))
    except DataError as exc:
        st.error(plain(exc))
        return
    chosen = state.mappings().get(file.sha256)
    mapping = ColumnMapping.from_dict(chosen) if chosen else table.mapping
    columns = [NONE] + list(table.raw.frame.columns)
    with st.form(f"mapping-{file.sha256[:12]}"):
        st.markdown(f"**{plain(file.name)}**: " + plain(" ".join(table.raw.notes)))
        kind = st.radio(
            "This file holds",
            list(KIND_LABELS),
            index=list(KIND_LABELS).index(mapping.kind),
            format_func=KIND_LABELS.get,
            horizontal=True,
        )
        roles = {}
        grid = st.columns(3)
        for i, role in enumerate(roles_for(kind)):
            current = mapping.roles.get(role, NONE)
            with grid[i % 3]:
                picked = st.selectbox(
                    ROLE_LABELS[role],
                    columns,
                    index=columns.index(current) if current in columns else 0,
                    key=f"{file.sha256[:12]}-{role}",
                )
            if picked != NONE:
                roles[role] = picked
        order = st.radio(
            "Dates like 03/04/2024 mean",
            ["Decide from the data", "Day first (3 April)", "Month first (March 4)"],
            index={None: 0, True: 1, False: 2}[mapping.day_first],
            horizontal=True,
        )
        tenure_unit = st.radio(
            "The tenure column counts",
            ["Decide from the header and range", "months", "years", "days"],
            index=["Decide from the header and range", "months", "years", "days"].index(
                mapping.tenure_unit or "Decide from the header and range"
            ),
            horizontal=True,
            help="A bank's 'Tenure' of 0-10 is years; a telecom's 0-72 is months. Read without a unit in the "
            "header, whole numbers up to 15 are taken as years.",
        )
        drop_duplicates = st.checkbox(
            "Drop rows that repeat an earlier row exactly",
            value=mapping.drop_exact_duplicates,
            help="A purchase log without an order id keeps them: the same customer buying the same amount twice "
            "on one day is common. Tick this when they are copies. With an order id they are always dropped.",
        )
        if st.form_submit_button("Apply this mapping"):
            picked_columns = list(roles.values())
            if len(set(picked_columns)) < len(picked_columns):
                st.error("One column is picked for two roles. Give each role its own column.")
                return
            day_first = {"Decide from the data": None, "Day first (3 April)": True, "Month first (March 4)": False}[
                order
            ]
            state.set_mapping(
                file.sha256,
                ColumnMapping(
                    kind=kind,
                    roles=roles,
                    day_first=day_first,
                    unit_price=mapping.unit_price,
                    drop_exact_duplicates=drop_duplicates,
                    tenure_unit=None if tenure_unit.startswith("Decide") else tenure_unit,
                ),
            )
            st.rerun()
    st.dataframe(safe_table(table.raw.frame.head(5)), hide_index=True)


def mapping_editors() -> None:
    """A column mapping per uploaded file (the loop's names stay local: a page's top-level names outlive its run)."""
    if state.uploads():
        with st.expander("Column mapping of your files", expanded=state.source() == state.UPLOAD):
            st.caption("The app guessed each column's role from its name and content. Correct it here if needed.")
            for file in state.uploads():
                mapping_editor(file)


mapping_editors()

try:
    data = current_data()
except DataError as exc:
    st.error(plain(exc))
    st.stop()
if state.source() == state.UPLOAD:
    rows_read(file_lines, data)

st.subheader(plain(data.name))
if data.description:
    st.caption(data.description)

left, _ = st.columns([1, 2])
with left:
    code = currency.picker(data)
st.caption(
    f"Money is shown in {code}: every amount, chart axis and export is labelled with it."
    if code
    else "No currency was found in the file: amounts are shown as plain numbers until you pick one."
)

for warning in data.warnings:
    st.warning(plain(warning))

for report in data.reports:
    kind = "Purchases" if report.table == s.TRANSACTIONS else "Customers"
    st.markdown(f"#### {kind}: {plain(report.source)}")
    a, b, c = st.columns(3)
    a.metric("Rows read", f"{report.rows_read:,}", help="Data rows in the file (the header not counted).")
    b.metric("Rows used", f"{report.rows_used:,}", help="Rows every page analyses.")
    c.metric("Rows left out", f"{report.rows_excluded:,}", help="Counted by reason below.")
    st.caption(f"{report.rows_read:,} read = {report.rows_used:,} used + {report.rows_excluded:,} left out.")
    if report.excluded:
        st.table(
            pd.DataFrame(
                {
                    "Reason": [plain(e.reason) for e in report.excluded],
                    "Rows": [e.rows for e in report.excluded],
                    "Example rows in the file": [", ".join(map(str, e.examples)) for e in report.excluded],
                }
            ).set_index("Reason"),
        )
    else:
        st.success("No row was left out.")
    mapped = safe_table(
        pd.DataFrame(
            {"Role": [ROLE_LABELS.get(r, r) for r in report.columns], "Your column": list(report.columns.values())}
        )
    )
    left, right = st.columns([1, 2])
    left.dataframe(mapped, hide_index=True)
    with right:
        for note in report.notes:
            st.markdown(f"- {plain(note)}")

a, b = st.columns(2)
a.metric("Customers", f"{data.n_customers:,}")
try:
    b.metric(
        "Data runs to",
        f"{data.observation_end:%d %b %Y}",
        help="The latest date in the data; models treat it as today.",
    )
except DataError as exc:  # a customers table without any date column
    b.info(plain(exc))
st.markdown("#### What the analysis assumed")
kind = business_kind(data)
choice = st.selectbox(
    "Read this data as",
    [None, *KINDS],
    format_func={None: f"Detected: {KINDS[kind.detected]}", **KINDS}.get,  # holds its labels, not the page's names
    key=K_BUSINESS_KIND,
    help="Decides what retention, churn, 'active' and customer value mean on every page: recorded leaving "
    "for a subscription, a purchase model's estimate for a purchase log.",
)
st.caption(f"**{kind.label}**: {plain(kind.reason)}.")
with st.container(border=True):
    st.dataframe(
        pd.DataFrame(
            [
                {"Assumption": a.name, "Value": a.value, "Why": a.why, "Change it": a.change}
                for a in assumptions(data, kind.kind if kind.chosen else None)
            ]
        ),
        hide_index=True,
    )

if data.has_transactions:
    with st.expander("Cleaned purchases (first 200 rows)"):
        st.dataframe(safe_table(data.transactions.head(200)), hide_index=True)
if data.has_customers:
    with st.expander("Cleaned customers (first 200 rows)"):
        st.dataframe(safe_table(data.customers.head(200)), hide_index=True)

next_step(
    "If a count above looks wrong, fix the column mapping before reading any other page: every "
    "figure in the app is computed from the rows used here."
)

# Last, once the page is drawn: the models, personas, what-if and churn angles start fitting in the
# background while the user reads it, so the other pages find them ready (the model modules load
# here, not before the counts above).
from ui.prefetch import prefetch  # noqa: E402

prefetch(data)
