"""What a page's run leaves behind is freed when a long run ends, not at Python's next full collection."""

from __future__ import annotations

import gc
import types
import weakref

import numpy as np

from ui import background, frame

PAGE = """
import numpy as np

table = np.ones(1_000_000)  # a page's top-level result (an analysis, a ranked list)


def helper():  # a function defined by the page: its globals are the page's module, a cycle
    return table
"""


def run_page_as_streamlit_does() -> weakref.ref:
    """Execute PAGE in a fresh module, as `StreamlitPage.run` does; a weak reference to the table it kept."""
    module = types.ModuleType("__main__")
    exec(compile(PAGE, "page.py", "exec"), module.__dict__)
    return weakref.ref(module.__dict__["table"])


def test_a_long_run_frees_the_objects_its_page_module_kept(monkeypatch):
    monkeypatch.setattr(background, "release_heap", lambda: None)
    gc.collect()
    gc.disable()  # only the collection release_memory runs may free the page's cycle
    try:
        table = run_page_as_streamlit_does()
        assert table() is not None  # the page's module is unreachable, but its cycle keeps its table
        frame.release_memory()
        assert table() is None
    finally:
        gc.enable()


def test_the_page_table_stays_alive_without_the_collection():
    """The reason for the collection: reference counting alone does not free a page's globals."""
    gc.collect()
    gc.disable()
    try:
        table = run_page_as_streamlit_does()
        assert isinstance(table(), np.ndarray)
    finally:
        gc.enable()
        gc.collect()
