"""Home: what the app does, and the guided story through the pages for a workshop."""

import streamlit as st

from ui.frame import header, next_step, require_data

header(
    "Keepwise",
    "Customer-centric companies count customers kept and what they are worth, not units sold. "
    "Keepwise reads your own customer data and shows who stays, who leaves, what each customer "
    "is worth, and what keeping a few more of them would earn.",
)
data = require_data()

a, b, c, d = st.columns(4)
a.metric("Customers", f"{data.n_customers:,}")
if data.has_transactions:
    tx = data.transactions
    b.metric("Purchases", f"{len(tx):,}")
    c.metric("Revenue", f"{tx['amount'].sum():,.0f}", help="Sum of the amounts used, in the file's currency.")
    d.metric("Period", f"{tx['order_date'].min():%b %Y} - {tx['order_date'].max():%b %Y}")
elif data.has_customers:
    b.metric("Data runs to", f"{data.observation_end:%d %b %Y}")

st.subheader("The story, one step at a time")
st.markdown("Each step is one click; the pages use the dataset picked in the sidebar.")
st.page_link("pages/data.py", label="1. Data: what was read, and every row left out", icon=":material/upload_file:")

next_step("Start with the Data page if this is your own file; otherwise follow the steps in order.")
