"""The server settings in .streamlit/config.toml that page speed depends on."""

from __future__ import annotations

import tomllib
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"


def test_the_server_does_not_watch_source_files():
    # With a watcher, Streamlit re-resolves the path of every imported module (~2,300) after each
    # page run: about 0.3 s of every rerun on a 2-core machine.
    server = tomllib.loads(CONFIG.read_text())["server"]
    assert server["fileWatcherType"] == "none"


def test_no_full_garbage_collection_after_every_run():
    # 0.6 s of each Segments rerun on the demo, far more with a large upload in memory
    assert tomllib.loads(CONFIG.read_text())["runner"]["postScriptGC"] is False
