"""House rules that keep the codebase a library plus thin pages."""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_analytics_never_imports_streamlit():
    offenders = [p.name for p in (ROOT / "analytics").rglob("*.py") if "streamlit" in imported_modules(p)]
    assert offenders == []


def test_every_page_file_is_registered_in_app_py():
    app = (ROOT / "app.py").read_text(encoding="utf-8")
    registered = set(re.findall(r'st\.Page\("(pages/[a-z_]+\.py)"', app))
    on_disk = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    assert on_disk == registered


def test_no_cache_resource_anywhere():
    """Per-user data must never sit in st.cache_resource (shared by every session)."""
    call = re.compile(r"(@st\.cache_resource|st\.cache_resource\()")
    for folder in ("pages", "ui", "analytics"):
        for path in (ROOT / folder).rglob("*.py"):
            assert not call.search(path.read_text(encoding="utf-8")), path.name


def test_requirements_are_pinned():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "-r")):
                assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][0-9A-Za-z.]*", line), line
