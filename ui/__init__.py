"""The only Streamlit-aware helpers: session state, cached analytics calls, the data picker, page frame."""
