"""Session fixtures: a real PostgreSQL server and a local Spark session, each skipped with its reason.

PostgreSQL: Debian's server binaries (/usr/lib/postgresql/<version>/bin, package `postgresql`);
a throw-away cluster is created with initdb in a temporary directory and started on a free local
port (as the `postgres` system user when the tests run as root, since the server refuses root).
Spark: pyspark in local mode, one session for the whole run, needs Java (17 on this machine).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_bin() -> Path | None:
    if os.environ.get("KEEPWISE_PG_BIN"):
        return Path(os.environ["KEEPWISE_PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """postgresql://keepwise@127.0.0.1:<port>/postgres on a fresh cluster, stopped at the end."""
    if os.environ.get("KEEPWISE_PG_URL"):  # a server started by .ci/run
        yield os.environ["KEEPWISE_PG_URL"]
        return
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    as_root = os.geteuid() == 0
    runner: list[str] = []
    if as_root:
        if shutil.which("runuser") is None:
            pytest.skip("running as root and runuser is missing: cannot start PostgreSQL as another user")
        runner = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="keepwise-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if as_root:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    run = lambda *args: subprocess.run([*runner, *args], check=True, capture_output=True, text=True)  # noqa: E731
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "keepwise", "--no-sync")
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {exc.stderr.strip()[:300]}")
    try:
        yield f"postgresql://keepwise@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*runner, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession (1 core, no UI) for every Spark test."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        pytest.skip("pyspark is not installed (pip install -r requirements-dev.txt)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Java is not installed: Spark needs a JVM (Debian: openjdk-17-jre-headless)")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("keepwise-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
