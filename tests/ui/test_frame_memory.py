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


def test_arrow_allocates_from_the_c_heap_in_the_app_unless_the_environment_says_otherwise():
    """The app's processes use the system allocator for Arrow (`ui.frame.use_system_allocator`): the
    heap `malloc_trim` empties for every thread, where mimalloc's `release_unused` returns only the
    calling thread's pages. An explicit ARROW_DEFAULT_MEMORY_POOL is kept."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    probe = "import ui.frame, pyarrow as pa; print(pa.default_memory_pool().backend_name)"

    def backend(code: str = probe, **env: str) -> str:
        environment = {k: v for k, v in os.environ.items() if k != frame.ARROW_POOL_ENV} | env
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    assert backend() == "system"
    assert backend(ARROW_DEFAULT_MEMORY_POOL="mimalloc") == "mimalloc"
    # pyarrow already in use before the app's first page: the system allocator from then on
    late = "import pyarrow as pa; pa.default_memory_pool(); " + probe
    assert backend(late) == "system"
