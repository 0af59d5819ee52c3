"""The app as a browser meets it: `streamlit run app.py` on a loopback port, answering before it is used.

One place for how the browser tests (tests/e2e/conftest.py) and the browser benchmarks
(benchmarks/load_sessions.py, benchmarks/bench_pages.py) start the server and Chromium.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
HEALTH_TIMEOUT_S = 60.0


def free_port(ports: Iterable[int] | None = None) -> int:
    """A loopback port nobody listens on: the first free one of `ports`, or any the system picks.

    Raises
    ------
    RuntimeError
        When every port of `ports` is taken.
    """
    if ports is None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port among {list(ports)}")


def start_app(port: int, *, env: Mapping[str, str] | None = None, args: Iterable[str] = ()) -> subprocess.Popen:
    """Start the app headless on 127.0.0.1:`port` and return once /_stcore/health answers "ok".

    Parameters
    ----------
    port : int
        The loopback port.
    env : mapping, optional
        Extra environment variables for the server (e.g. KEEPWISE_DATA_DIR).
    args : iterable of str
        Extra `streamlit run` options (e.g. "--server.disconnectedSessionTTL", "2").

    Raises
    ------
    RuntimeError
        When the server does not answer within HEALTH_TIMEOUT_S (it is killed first).
    """
    environment = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", **(env or {}))
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true", *args]
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + HEALTH_TIMEOUT_S
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"the app did not answer /_stcore/health within {HEALTH_TIMEOUT_S:g} s")
