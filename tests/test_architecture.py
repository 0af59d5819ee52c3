"""House rules that keep the codebase a library plus thin pages."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

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


# --- Import graph -------------------------------------------------------------------------------------


def project_modules(*packages: str) -> dict[str, Path]:
    """``{dotted module name: path}`` of every module under the given top-level packages."""
    modules = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` blocks (they never run)."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def import_graph(*packages: str) -> dict[str, set[str]]:
    """Which project module imports which, from the source: every ``import`` anywhere in a module
    (function-level "late" imports included, ``if TYPE_CHECKING:`` blocks excluded), relative imports
    resolved, ``from package import module`` counted as importing that module."""
    modules = project_modules(*packages)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_only(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
                ]
            for target in targets:
                while target and target not in modules:  # `import a.b.c` of a non-module attribute
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as ``[a, b, ..., a]``, or ``[]`` when the graph is acyclic (depth-first search)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return []


def test_find_cycle_finds_a_late_import_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_import_graph_sees_function_level_and_relative_imports(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg import b  # late import\n")
    (package / "b.py").write_text(
        "from . import a\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.c\n"
    )
    (package / "c.py").write_text("import pkg.a\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert import_graph("pkg") == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}, "pkg.c": {"pkg.a"}}


def test_analytics_has_no_import_cycle():
    graph = import_graph("analytics")
    assert len(graph) > 30  # every module was found
    assert find_cycle(graph) == []


UI_LAYERS = ["ui.state", "ui.cache", "ui.share", "ui.sidebar", "ui.frame"]  # each may import only those before it


def test_project_has_no_import_cycle():
    """analytics/ and ui/ together: no module imports one that (indirectly) imports it back."""
    assert find_cycle(import_graph("analytics", "ui")) == []


def test_ui_dependencies_run_one_way():
    """state <- cache <- share <- sidebar <- frame: a layer imports only the layers before it."""
    graph = import_graph("ui")
    upward = {
        (module, target)
        for rank, module in enumerate(UI_LAYERS)
        for target in graph[module]
        if target in UI_LAYERS and UI_LAYERS.index(target) > rank
    }
    assert upward == set()


# --- The public API and its docstrings --------------------------------------------------------------


def test_public_api_lists_every_export_and_each_resolves():
    import analytics

    assert analytics.__all__ == sorted(analytics._EXPORTS)
    for name, module in analytics._EXPORTS.items():
        value = getattr(analytics, name)
        if callable(value):
            assert value.__module__ == module, name  # defined there, not re-exported from elsewhere


def test_import_analytics_is_cheap():
    """`import analytics` loads no pandas, numpy or model library: names load on first use."""
    code = (
        "import sys, analytics; print(sorted(m for m in ('pandas', 'numpy', 'scipy', 'lifetimes') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _is_property(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(ast.unparse(d).split(".")[-1] in ("property", "setter", "cached_property") for d in node.decorator_list)


def _function_problems(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """What a numpydoc docstring of this function lacks: the docstring, its Parameters section (when it
    takes arguments besides self/cls) or its Returns/Yields section (when annotated to return a value)."""
    doc = ast.get_docstring(node) or ""
    if not doc.strip():
        return ["no docstring"]
    arguments = [a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)]
    arguments += [a.arg for a in (node.args.vararg, node.args.kwarg) if a is not None]
    problems = []
    if set(arguments) - {"self", "cls"} and not re.search(r"^Parameters\n-{3,}", doc, re.M):
        problems.append("no Parameters section")
    returns = node.returns is not None and ast.unparse(node.returns) not in ("None", "NoReturn", "Never")
    if returns and not re.search(r"^(Returns|Yields)\n-{3,}", doc, re.M):
        problems.append("no Returns section")
    return problems


def _class_problems(node: ast.ClassDef) -> list[str]:
    """A class needs a docstring; one built from arguments (dataclass fields or an __init__) documents
    them in a Parameters or Attributes section."""
    doc = ast.get_docstring(node) or ""
    if not doc.strip():
        return ["no docstring"]
    dataclass = any("dataclass" in ast.unparse(d) for d in node.decorator_list)
    fields = dataclass and any(isinstance(stmt, ast.AnnAssign) for stmt in node.body)
    init = any(
        isinstance(stmt, ast.FunctionDef)
        and stmt.name == "__init__"
        and len(stmt.args.args) + len(stmt.args.kwonlyargs) > 1
        for stmt in node.body
    )
    if (fields or init) and not re.search(r"^(Parameters|Attributes)\n-{3,}", doc, re.M):
        return ["no Parameters/Attributes section"]
    return []


def docstring_problems(path: Path) -> dict[str, list[str]]:
    """``{public name: problems}`` for the public functions, classes and methods of one module."""
    problems: dict[str, list[str]] = {}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            if found := _function_problems(node):
                problems[node.name] = found
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            if found := _class_problems(node):
                problems[node.name] = found
            for method in node.body:
                if (
                    isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and not method.name.startswith("_")
                    and not _is_property(method)
                    and (found := _function_problems(method))
                ):
                    problems[f"{node.name}.{method.name}"] = found
    return problems


def test_docstring_check_finds_what_is_missing(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        '''
def good(x: int) -> int:
    """Double.

    Parameters
    ----------
    x : a number.

    Returns
    -------
    int
    """

def bare(x):
    pass

def no_returns(x) -> float:
    """Half.

    Parameters
    ----------
    x : a number.
    """

def _private(x):
    pass

class Thing:
    """A thing."""

    def __init__(self, size):
        self.size = size

    def grow(self) -> None:
        """Grow."""

    @property
    def area(self) -> float:
        return self.size**2
'''
    )
    assert docstring_problems(module) == {
        "bare": ["no docstring"],
        "no_returns": ["no Returns section"],
        "Thing": ["no Parameters/Attributes section"],
    }


def test_every_public_function_and_class_of_analytics_has_a_numpydoc_docstring():
    """Every public function, class and method of analytics/ (the library a notebook uses)."""
    missing = {
        f"{module}.{name}": problem
        for module, path in project_modules("analytics").items()
        if path.name != "__main__.py"
        for name, problem in docstring_problems(path).items()
    }
    assert missing == {}, "public functions/classes need a numpydoc docstring (Parameters/Returns/Attributes)"
