"""Share links in the app (AppTest): make, open in another session, settings, expiry, delete, bad ids,
two sessions that must not see each other's data, the store-full message, optional sign-in.

Sessions open straight on the page they need (a link lands on Home, with the link's small data),
so no test pays for fitting models on the 6,000-customer demo.
"""

from __future__ import annotations

import ast
import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.data.ingest import load_files
from analytics.store.share_store import FolderShareStore, Snapshot, new_share_id
from tests.app.helpers import TIMEOUT, open_page
from ui import state

ROOT = Path(__file__).resolve().parents[2]
NOT_FOUND = "This share link does not open an analysis"


def shop_csv() -> bytes:
    """30 customers, Jan-Jun 2024: customer i buys in months 1..(i % 6 + 1) for 10 + i; one refund.

    106 rows read = 105 purchases used + 1 refund left out.
    """
    lines = ["client;date;amount"]
    for i in range(1, 31):
        for month in range(1, i % 6 + 2):
            lines.append(f"c{i:02d};05.{month:02d}.2024;{10 + i},00")
    lines.append("c01;06.01.2024;-11,00")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(autouse=True)
def share_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "shares"
    monkeypatch.setenv("KEEPWISE_DATA_DIR", str(folder))
    monkeypatch.delenv("KEEPWISE_SHARE_DAYS", raising=False)
    monkeypatch.delenv("KEEPWISE_SHARE_MAX_MB", raising=False)
    return folder


def session(share: str | None = None, page: str | None = None) -> AppTest:
    """A new browser session: on `?share=<share>` (landing on Home) or, without a link, on `page`."""
    return open_page(page, None if share is None else {"share": share})


def upload(at: AppTest) -> AppTest:
    at.switch_page("pages/data.py").run()
    at.file_uploader[0].set_value(("shop.csv", shop_csv(), "text/csv")).run()
    assert at.session_state[state.K_SOURCE] == state.UPLOAD
    return at


def make_link(at: AppTest) -> str:
    at.switch_page("pages/share.py").run()
    at.button(key="share_create").click().run()
    assert not at.exception
    link = at.code[0].value
    assert link.startswith("?share=")  # AppTest has no browser address; the app prefixes it when it has one
    return link.removeprefix("?share=")


def data_page_counts(at: AppTest) -> list[str]:
    at.switch_page("pages/data.py").run()
    assert not at.exception
    return [m.value for m in at.metric]


def messages(at: AppTest) -> str:
    return " ".join(e.value for e in [*at.warning, *at.info, *at.error])


def test_unknown_and_traversal_ids_get_the_friendly_page(share_dir):
    for bad in ["../../etc/passwd", new_share_id(), "%2e%2e%2f", "x" * 200]:
        at = session(bad)
        assert not at.exception
        assert NOT_FOUND in messages(at) and at.title[0].value == "Keepwise"  # Home, where links land
        assert at.sidebar.selectbox[0].value == f"share:{bad}"
        assert "does not open an analysis" in at.sidebar.caption[0].value
        assert not share_dir.exists()  # nothing was created, let alone read outside the store
    at.switch_page("pages/share.py").run()
    assert not at.exception and NOT_FOUND in messages(at)


def test_upload_share_and_open_in_another_session(share_dir):
    a = upload(session(page="pages/data.py"))
    sender = data_page_counts(a)
    assert sender[:3] == ["106", "105", "1"]  # rows read, used, left out
    share_id = make_link(a)
    assert [p.name for p in share_dir.iterdir() if p.is_dir()] == [share_id]  # besides the store's .lock file
    assert any(m.value.startswith("**Dataset: shop.csv.** The link stores the cleaned data") for m in a.markdown)

    b = session(share_id)
    assert not b.exception
    assert b.session_state[state.K_SOURCE] == f"share:{share_id}"
    assert b.sidebar.selectbox[0].options[0] == "Shared link: shop.csv"
    assert data_page_counts(b) == sender
    description = [c.value for c in b.caption if c.value.startswith("Opened from a share link made on")]
    assert len(description) == 1 and "(files: shop.csv)" in description[0]


def test_settings_travel_with_the_link(share_dir):
    a = upload(session(page="pages/data.py"))
    a.switch_page("pages/overview.py").run()
    a.radio(key="kpi_period").set_value("quarter").run()
    a.toggle(key="kpi_model").set_value(False).run()
    sender = [(m.label, m.value) for m in a.metric]
    assert not a.exception and sender
    share_id = make_link(a)
    table = a.dataframe[0].value
    chosen = dict(zip(table["Setting"], table["Value"]))
    assert (chosen["Period"], chosen["Use the model's lifetime value"]) == ("quarter", "False")
    assert set(table["Page"]) <= {"Customer health", "Data"}  # the Data page's currency and business kind too
    assert not any(s.startswith(("kpi_", "wi_", "cur_", "kind_")) for s in table["Setting"])  # no internal keys

    b = session(share_id)
    assert b.session_state["kpi_period"] == "quarter" and b.session_state["kpi_model"] is False
    b.switch_page("pages/overview.py").run()
    assert not b.exception
    assert b.radio(key="kpi_period").value == "quarter"
    assert [(m.label, m.value) for m in b.metric] == sender
    assert not b.warning  # restoring settings does not trip Streamlit's "default and session state" warning


def test_expired_link_says_so(share_dir):
    data = load_files([("shop.csv", shop_csv())])
    made_40_days_ago = FolderShareStore(share_dir, clock=lambda: datetime.now(UTC) - timedelta(days=40))
    share_id = made_40_days_ago.create(Snapshot(data=data, file_names=("shop.csv",))).share_id
    at = session(share_id)
    assert not at.exception
    assert "This share link has expired" in messages(at) and "links work for 30 days" in messages(at)
    assert not (share_dir / share_id).exists()  # purged as it was found expired
    again = session(share_id)
    assert NOT_FOUND in messages(again)


def test_links_listed_and_deleted_by_maker_and_by_receiver(share_dir):
    a = upload(session(page="pages/data.py"))
    first, second = make_link(a), make_link(a)
    assert a.button(key=f"share_delete_{first}").label == "Delete"
    a.button(key=f"share_delete_{first}").click().run()
    assert not a.exception
    assert f"share_delete_{first}" not in [b.key for b in a.button]
    assert sorted(p.name for p in share_dir.iterdir() if p.is_dir()) == [second]
    assert NOT_FOUND in messages(session(first))

    b = session(second)
    b.switch_page("pages/share.py").run()
    b.button(key="share_delete_opened").click().run()
    assert "Deleted: the link no longer opens anything" in b.success[0].value
    assert data_page_counts(b)[:3] == ["106", "105", "1"]  # this tab keeps its copy
    assert NOT_FOUND in messages(session(second))
    assert [p for p in share_dir.iterdir() if p.is_dir()] == []  # only the store's .lock file is left


def test_two_sessions_never_see_each_others_data(share_dir):
    a = upload(session(page="pages/data.py"))
    b = session(page="pages/data.py")
    assert not b.exception
    assert b.sidebar.selectbox[0].value == "demo:subscription"
    assert data_page_counts(b)[:3] == ["79,797", "79,454", "343"]  # the demo, not A's upload
    assert "uploaded_files" not in b.session_state
    assert [o for o in b.sidebar.selectbox[0].options if "upload" in o.lower()] == []
    assert data_page_counts(a)[:3] == ["106", "105", "1"]  # and A still has its own file
    share_id = make_link(a)
    assert data_page_counts(b)[:3] == ["79,797", "79,454", "343"]  # a link exists, but B never opened it
    assert data_page_counts(session(share_id))[:3] == ["106", "105", "1"]  # only the link brings A's data


def test_demo_link_carries_the_name_and_settings_only(share_dir):
    a = session(page="pages/data.py")
    a.sidebar.selectbox[0].select("demo:cdnow_sample").run()
    a.session_state["wi_lift"] = 7.0
    share_id = make_link(a)
    assert sorted(p.name for p in (share_dir / share_id).iterdir()) == ["meta.json"]
    b = session(share_id)
    assert b.session_state[state.K_SOURCE] == "demo:cdnow_sample"
    assert b.session_state["wi_lift"] == 7.0
    assert b.query_params["dataset"] == "cdnow_sample" and "share" not in b.query_params


def test_full_store_refuses_with_the_cap_named(share_dir, monkeypatch):
    monkeypatch.setenv("KEEPWISE_SHARE_MAX_MB", "0.002")  # 2 KB: less than one small snapshot
    a = upload(session(page="pages/data.py"))
    a.switch_page("pages/share.py").run()
    a.button(key="share_create").click().run()
    assert not a.exception
    assert "The share store is full: 0 MB of its 0.002 MB are used" in messages(a)
    assert not any(p.is_dir() and not p.name.startswith(".") for p in share_dir.glob("*"))


def test_no_streamlit_resource_cache_anywhere_in_the_app():
    """st.cache_resource is shared by every session and never copied: no place for per-user data."""
    sources = [ROOT / "app.py", *(ROOT / "ui").glob("*.py"), *(ROOT / "pages").glob("*.py")]
    assert len(sources) > 5
    used = [
        p.name
        for p in sources
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.Attribute) and node.attr == "cache_resource"
    ]
    assert used == []


def test_sign_in_required_when_auth_is_configured():
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "keepwise",
        "client_secret": "s",
        "server_metadata_url": "https://id.example/.well-known/openid-configuration",
    }
    at.user = {"is_logged_in": False}
    at.query_params["share"] = new_share_id()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert at.title[0].value == "Keepwise" and not at.metric and not at.sidebar.selectbox
    if importlib.util.find_spec("authlib") is None:
        assert "lacks the Authlib package" in at.error[0].value and not at.button
    else:
        assert [b.label for b in at.button] == ["Sign in"]
        assert "open the link again afterwards" in at.info[0].value

    at.user = {"is_logged_in": True, "name": "Ada Lovelace", "email": "ada@example.com"}
    at.run()
    assert not at.exception
    assert "Signed in as Ada Lovelace." in [c.value for c in at.sidebar.caption]
    assert NOT_FOUND in messages(at) and at.title[0].value == "Data"  # past the gate: the page itself runs


def test_without_auth_the_app_is_open():
    at = session(page="pages/share.py")
    assert not at.exception
    assert [b for b in at.button if "Sign" in b.label] == []
    assert at.sidebar.selectbox[0].label == "Dataset"
