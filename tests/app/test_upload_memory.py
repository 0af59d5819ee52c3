"""An upload is held once per session: a small outline for the Data page and one dataset (its bytes: tests/app/test_upload_spill.py)."""

from __future__ import annotations

from tests.app.helpers import script_result, upload_session

ROWS = 40
CSV = ("customer,date,amount\n" + "".join(f"C{i % 7},2024-03-{1 + i % 28:02d},{i}.50\n" for i in range(ROWS))).encode()


def _held() -> None:
    import streamlit as st

    from ui import cache, state

    file = state.uploads()[0]
    outline = cache.read_upload(file.sha256, file.name, file)
    data = cache.current_data()
    st.session_state["expected"] = {
        "outline_rows": len(outline.raw.frame),
        "outline_columns": list(outline.raw.frame.columns),
        "rows_read": data.reports[0].rows_read,
        "same_object": cache.current_data() is data,
        "kept": st.session_state[cache.K_DATA_NOW][1] is data,
    }


def test_the_session_keeps_the_outline_of_an_upload_and_one_live_dataset():
    held = script_result(_held, session=upload_session("log.csv", CSV))
    assert held == {
        "outline_rows": 5,
        "outline_columns": ["customer", "date", "amount"],
        "rows_read": ROWS,
        "same_object": True,
        "kept": True,
    }


def _rfm_held_once() -> None:
    import streamlit as st

    from analytics.business import segments
    from ui import cache
    from ui.segments import rfm

    data = cache.current_data()
    table = rfm(data)
    st.session_state["expected"] = {
        "rows": len(table),
        "memo_empty": segments._LAST_RFM.get(data.transactions, (len(data.transactions), data.observation_end)) is None,
        "cached": rfm(data).equals(table),
    }


def test_a_result_the_session_cache_keeps_is_not_kept_by_the_librarys_memo_too():
    held = script_result(_rfm_held_once, session=upload_session("log.csv", CSV))
    assert held == {"rows": 7, "memo_empty": True, "cached": True}


def _clv_as_held() -> None:
    import streamlit as st

    from analytics.models.clv import analyse_clv
    from ui import cache, models

    data = cache.current_data()
    held = models.clv_analysis(data, models.clv_settings())
    fitted = analyse_clv(data.transactions, models.clv_settings())
    fitted_models = [fitted.purchase_model, fitted.spend_model, *fitted.comparison.models.values()]
    held_models = [held.purchase_model, held.spend_model, *held.comparison.models.values()]
    st.session_state["expected"] = {
        "fitter_data": [m.fitter_.data is None for m in held_models],
        "fitted_data": [m.fitter_.data is not None for m in fitted_models],
        "params": [m.params_ for m in held_models] == [m.params_ for m in fitted_models],
        "customers": held.customers.equals(fitted.customers),
        "metrics": held.comparison.metrics.equals(fitted.comparison.metrics),
    }


def test_the_session_keeps_the_lifetime_value_models_without_the_fitters_copy_of_their_data():
    held = script_result(_clv_as_held, query={"dataset": "cdnow_sample"})
    assert held == {
        "fitter_data": [True] * 5,
        "fitted_data": [True] * 5,
        "params": True,
        "customers": True,
        "metrics": True,
    }


def _holdout_views_without_held_days() -> None:
    import streamlit as st

    from analytics.models.clv import analyse_clv
    from analytics.models.holdout import conditional_expectations, cumulative_tracking
    from ui import cache, clv, models

    data = cache.current_data()
    held = models.clv_analysis(data, models.clv_settings())
    fitted = analyse_clv(data.transactions, models.clv_settings())
    expectations, tracking = clv.holdout_views(data, models.clv_settings())
    st.session_state["expected"] = {
        "held_days": held.comparison.split.days,
        "fitted_days": len(fitted.comparison.split.days.day),
        "expectations": expectations.equals(conditional_expectations(fitted.comparison)),
        "tracking": tracking.equals(cumulative_tracking(fitted.comparison)),
        "tracking_rows": len(tracking),
    }


def test_the_session_keeps_the_lifetime_value_split_without_its_purchase_days_and_the_views_are_the_same():
    held = script_result(_holdout_views_without_held_days, query={"dataset": "cdnow_sample"})
    assert held["held_days"] is None  # 36 MiB of the 91 MiB pickle at 300,000 customers
    assert held["fitted_days"] > 0 and held["tracking_rows"] > 0
    assert held["expectations"] and held["tracking"]  # rebuilt from the customer-day table: identical views


def _one_copy_per_run() -> None:
    import streamlit as st

    from ui import background, cache
    from ui.segments import rfm

    data = cache.current_data()
    background.run_started()
    first, again = rfm(data), rfm(data)
    background.run_ended()
    later = rfm(data)
    st.session_state["expected"] = {
        "same_in_the_run": again is first,
        "fresh_after_it": later is not first,
        "equal": later.equals(first),
    }


def test_a_page_run_gets_one_copy_of_a_cached_result_however_often_it_asks():
    held = script_result(_one_copy_per_run, session=upload_session("log.csv", CSV))
    assert held == {"same_in_the_run": True, "fresh_after_it": True, "equal": True}


def _job_queued_before_an_upload(csv: bytes) -> None:
    import streamlit as st

    from ui import background, cache, state
    from ui.segments import rfm

    queued = []
    submit = background.submit

    def submit_later(key, label, fn, *args, _prefetch=False, _dataset=None, **kwargs):  # submit's own options
        queued.append((fn, args, kwargs))

    background.submit = submit_later
    try:
        demo = cache.current_data()
        # the demo's results are shared by the whole server: an earlier test in this process may have
        # computed its RFM already, and then nothing would be queued (CI on 5766a2b: IndexError below)
        cache._READY_DEMO.clear()
        rfm.start(demo)  # queued for the demo...
    finally:
        background.submit = submit
    state.add_uploads([state.UploadedBytes.of("log.csv", csv)])  # ...and the user uploads before it runs
    state.set_source(state.UPLOAD)
    fn, args, kwargs = queued[0]
    fn(*args, **kwargs)
    st.session_state["expected"] = {
        "upload": len(rfm(cache.current_data())),
        "demo_is_larger": len(demo.customers) > 7,
    }


def test_a_fit_queued_for_one_dataset_is_never_stored_as_the_next_ones():
    held = script_result(_job_queued_before_an_upload, CSV)
    assert held == {"upload": 7, "demo_is_larger": True}


def _page_run_calling_the_library() -> None:
    import streamlit as st

    from analytics.business import segments
    from ui import cache, frame

    data = cache.current_data()
    frame.frame_started()
    segments.rfm_table(data.transactions, as_of=data.observation_end)  # as ranked_actions does
    frame.frame_finished()
    key = (len(data.transactions), data.observation_end)
    st.session_state["expected"] = {"memo_empty": segments._LAST_RFM.get(data.transactions, key) is None}


def test_a_page_run_leaves_no_library_memo_of_the_sessions_data():
    held = script_result(_page_run_calling_the_library, session=upload_session("log.csv", CSV))
    assert held == {"memo_empty": True}


def _work_leaves_no_cycles(quiet_s: float) -> None:
    import gc
    import time
    import weakref

    import numpy as np
    import streamlit as st

    from ui import cache

    freed: list[weakref.ref] = []

    @cache.per_dataset()
    def fit_like(data):
        scratch = {"array": np.ones(100_000)}  # a fit's scratch, in a reference cycle
        scratch["itself"] = scratch
        freed.append(weakref.ref(scratch["array"]))
        return len(data.transactions)

    before, cache.QUIET_S = cache.QUIET_S, quiet_s
    gc.collect()
    gc.disable()  # only the collection release_when_quiet runs may free the cycle
    try:
        rows = fit_like(cache.current_data())
        soon = freed[0]() is None
        time.sleep(quiet_s + 1.0)
        st.session_state["expected"] = {"rows": rows, "freed_at_once": soon, "freed_when_quiet": freed[0]() is None}
    finally:
        gc.enable()
        cache.QUIET_S = before


def test_a_cached_computation_frees_its_reference_cycles_once_the_server_is_quiet():
    held = script_result(_work_leaves_no_cycles, 0.5, session=upload_session("log.csv", CSV))
    assert held == {"rows": ROWS, "freed_at_once": False, "freed_when_quiet": True}
