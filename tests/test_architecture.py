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


def _pins(name: str) -> dict[str, str]:
    """``{normalised package name: version}`` of the ``name==version`` lines of a requirements file."""
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s\\;]+)", line.strip())
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


def test_lock_matches_the_pinned_requirements():
    """Every pin of requirements*.txt is in requirements.lock at the same version, with hashes.

    A pin changed without regenerating the lock fails here, with the command to run.
    """
    lock_text = (ROOT / "requirements.lock").read_text()
    command = lock_text.splitlines()[1].lstrip("# ").strip()
    lock = _pins("requirements.lock")
    wanted = _pins("requirements.txt") | _pins("requirements-dev.txt")
    stale = {name: version for name, version in wanted.items() if lock.get(name) != version}
    assert stale == {}, f"requirements.lock is stale; regenerate it with: {command}"
    entries = re.findall(r"^\S+==\S+ \\\n(?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+", lock_text, re.M)
    assert len(entries) == len(lock), "every locked package carries its sha256 hashes"
