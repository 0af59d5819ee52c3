"""The Data page's "Connect a database": connections named in the secrets, tables read into every page.

A DuckDB file (and a PostgreSQL server where tests/engine/conftest.py can start one) holding the
corpus's plain purchase log (112 purchases of 40 customers, 13,968.92 in total, by the generator's
truth) and a customers table; a server-side Parquet folder holding the same log. The session,
the sidebar and a share link carry the connection's name and the tables, never the URL or password.
"""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from tests.app.helpers import metrics
from tests.conftest import ROOT
from tests.engine.conftest import postgres_url  # noqa: F401 (a real server, or skipped with the reason)

CASE = ROOT / "tests" / "data" / "corpus" / "files" / "plain_csv" / "orders.csv"
TRUTH = json.loads((ROOT / "tests" / "data" / "corpus" / "expected.json").read_text())["plain_csv"]["expected"]


def orders() -> pd.DataFrame:
    frame = pd.read_csv(CASE, dtype={"customer_id": str, "order_id": str})
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return frame


def people() -> pd.DataFrame:
    ids = sorted(orders()["customer_id"].unique())
    return pd.DataFrame({"customer_id": ids, "plan": ["Gold" if i % 2 else "Basic" for i in range(len(ids))]})


@pytest.fixture()
def duckdb_file(tmp_path):
    path = tmp_path / "shop.duckdb"
    connection = duckdb.connect(str(path))
    connection.register("orders_frame", orders())
    connection.register("people_frame", people())
    connection.execute("CREATE TABLE purchases AS SELECT * FROM orders_frame")
    connection.execute("CREATE TABLE customers AS SELECT * FROM people_frame")
    connection.close()
    return path


def connect_and_read(at, connection: str, purchases: str, customers: str = "(none)"):
    at.selectbox(key="db_connection").set_value(connection).run()
    at.selectbox(key="db_purchases").set_value(purchases)
    at.selectbox(key="db_customers").set_value(customers)
    return at.button(key="db_read").click().run()


def app_with(secrets: dict, page: str = "pages/data.py"):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file("../../app.py", default_timeout=300)
    at.secrets["connections"] = secrets
    at.switch_page(page)
    return at.run()


def read_counts(at) -> list[str]:
    return [c.value for c in at.caption if " read = " in c.value]


def test_a_duckdb_file_connection_feeds_every_page(duckdb_file):
    at = app_with({"shop": {"url": f"duckdb:///{duckdb_file}"}})
    assert not at.exception
    assert at.selectbox(key="db_purchases").options == ["(none)", "customers", "purchases"]
    at = connect_and_read(at, "shop", "purchases", "customers")
    assert not at.exception and not at.error, [e.value for e in at.error]
    rows = TRUTH["rows_read"]
    assert f"{rows:,} read = {rows:,} used + 0 left out." in read_counts(at)
    shown = "\n".join(c.value for c in at.caption)
    assert (
        f"Counted inside the database first: {rows:,} rows, {rows:,} usable, {TRUTH['customers']:,} customers." in shown
    )
    assert str(duckdb_file) not in at.session_state["database_tables"].values()  # names only
    assert at.session_state["database_tables"] == {
        "connection": "shop",
        "purchases": "purchases",
        "customers": "customers",
    }

    at.switch_page("pages/home.py").run()
    assert not at.exception and not at.error
    assert metrics(at)  # the KPI cards, from the database's rows

    at.switch_page("pages/segments.py").run()
    assert not at.exception and not at.error


def test_a_parquet_folder_on_the_server(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    orders().to_parquet(folder / "orders_2024.parquet")
    at = app_with({"exports": {"folder": str(folder)}})
    at = connect_and_read(at, "exports", "orders_2024")
    assert not at.exception and not at.error, [e.value for e in at.error]
    rows = TRUTH["rows_read"]
    assert f"{rows:,} read = {rows:,} used + 0 left out." in read_counts(at)


def test_a_table_above_the_connection_limit_is_refused_before_it_is_read(duckdb_file):
    at = app_with({"shop": {"url": f"duckdb:///{duckdb_file}", "max_rows": 100}})
    at = connect_and_read(at, "shop", "purchases")
    assert any("has 112 rows, more than this server reads into the app (100)" in e.value for e in at.error)
    assert not at.exception


def test_without_connections_the_page_says_how_to_configure_one():
    at = app_with({})
    assert not at.exception
    assert any("No connection is configured on this server" in c.value for c in at.caption)


def test_postgresql_connection(postgres_url):  # noqa: F811 (the fixture imported above)
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as pg:
        pg.execute("DROP TABLE IF EXISTS app_purchases")
        pg.execute("CREATE TABLE app_purchases (customer_id text, order_date date, amount numeric, order_id text)")
        with pg.cursor().copy("COPY app_purchases FROM STDIN") as copy:
            for row in orders().itertuples(index=False):
                copy.write_row((row.customer_id, row.order_date.date(), row.amount, row.order_id))
    at = app_with({"warehouse": {"url": postgres_url, "password": "unused-by-trust-auth"}})  # passed apart
    at = connect_and_read(at, "warehouse", "app_purchases")
    assert not at.exception and not at.error, [e.value for e in at.error]
    rows = TRUTH["rows_read"]
    assert f"{rows:,} read = {rows:,} used + 0 left out." in read_counts(at)


def test_a_share_link_names_the_connection_and_tables_only(duckdb_file, tmp_path, monkeypatch):
    shares = tmp_path / "shares"
    monkeypatch.setenv("KEEPWISE_DATA_DIR", str(shares))
    secrets = {"shop": {"url": f"duckdb:///{duckdb_file}"}}
    at = connect_and_read(app_with(secrets), "shop", "purchases", "customers")
    at.switch_page("pages/share.py").run()
    assert any("Only the connection's name and the table names go into the link" in m.value for m in at.markdown)
    at.button(key="share_create").click().run()
    assert not at.exception
    share_id = at.code[0].value.removeprefix("?share=")
    stored = sorted(p.name for p in (shares / share_id).iterdir())
    assert stored == ["meta.json"]  # no table was copied
    meta = (shares / share_id / "meta.json").read_text()
    assert json.loads(meta)["database"] == {"connection": "shop", "purchases": "purchases", "customers": "customers"}
    assert "duckdb" not in meta and str(duckdb_file.parent) not in meta  # neither the address nor the path

    from streamlit.testing.v1 import AppTest

    receiver = AppTest.from_file("../../app.py", default_timeout=300)
    receiver.secrets["connections"] = secrets
    receiver.query_params["share"] = share_id
    receiver.run()
    assert not receiver.exception and not receiver.error
    receiver.switch_page("pages/data.py").run()
    rows = TRUTH["rows_read"]
    assert f"{rows:,} read = {rows:,} used + 0 left out." in read_counts(receiver)

    elsewhere = AppTest.from_file("../../app.py", default_timeout=300)  # a server without that connection
    elsewhere.query_params["share"] = share_id
    elsewhere.run()
    assert not elsewhere.exception
    shown = " ".join(e.value for e in [*elsewhere.error, *elsewhere.warning, *elsewhere.info])
    assert "No connection named 'shop' is configured on this server" in shown


def _shown_list(at) -> pd.DataFrame:
    for element in at.dataframe:
        value = element.value
        value = value.data if hasattr(value, "data") and not isinstance(value, pd.DataFrame) else value
        if isinstance(value, pd.DataFrame) and "Customer" in value.columns:
            return value.reset_index(drop=True)
    raise AssertionError("no customer list on the page")


def test_a_table_read_again_after_it_changed_never_pairs_old_figures_with_new_ids(tmp_path):
    """Review R5: cached results hold customer ids as positions into the dataset's ids (ui.cache), and a
    connection's data key is its names. Read again after the table changed (a new first customer: every
    other id one place on), the Action list paired the first read's figures with the new read's ids (rank 1,
    49.18 at stake, said c006 instead of c027). Codes now carry their ids' fingerprint: the list is the new
    read's, as a fresh session shows it."""
    import duckdb

    path = tmp_path / "shop.duckdb"
    frame = orders()
    con = duckdb.connect(str(path))
    con.register("f", frame)
    for name in ("purchases", "p2", "p3"):
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM f")
    con.close()
    secrets = {"shop": {"url": f"duckdb:///{path}"}}
    at = connect_and_read(app_with(secrets), "shop", "purchases")
    at.switch_page("pages/actions.py").run()
    assert not at.exception
    first = _shown_list(at)

    newcomer = frame.head(3).copy()
    newcomer["customer_id"] = "a000"  # first of all by id: every other customer's position moves one on
    newcomer["order_id"] = ["n1", "n2", "n3"]
    newcomer["order_date"] = frame["order_date"].min() - pd.Timedelta(days=1)
    con = duckdb.connect(str(path))
    con.register("r", pd.concat([frame, newcomer]).reset_index(drop=True))
    con.execute("DROP TABLE purchases")
    con.execute("CREATE TABLE purchases AS SELECT * FROM r")
    con.close()

    at.switch_page("pages/data.py").run()
    for other in ("p2", "p3", "purchases"):  # two other reads push the first out of the session's reads
        at = connect_and_read(at, "shop", other)
        assert not at.exception, at.exception
    at.switch_page("pages/actions.py").run()
    assert not at.exception
    again = _shown_list(at)

    fresh = connect_and_read(app_with(secrets), "shop", "purchases")
    fresh.switch_page("pages/actions.py").run()
    expected = _shown_list(fresh)
    pd.testing.assert_frame_equal(again, expected)
    assert not first.equals(expected)  # the change shows in the list (else this test proves nothing)
