"""The layer contract (docs/architecture.md): an import only ever points down, peers at
one layer stay apart, and no import circle exists anywhere in app/ or hardware/.

Every import counts, also one inside a function: a lazy import is still a dependency
(it is how circles hide)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGES = ("app", "hardware")

LAYERS: list[tuple[int, str, tuple[str, ...]]] = [
    (0, "hardware", ("hardware",)),
    (1, "analytics", ("app.analytics",)),
    (2, "store", ("app.store", "app.records", "app.paths", "app.version", "app.technical_log")),
    (3, "batch", ("app.batch",)),
    (4, "service", ("app.service", "app.demo")),
    (5, "review", ("app.review",)),
    (6, "reports", ("app.reports",)),
    (7, "ui", ("app.ui",)),
    (8, "entry", ("app.__main__", "app.console", "app.gui", "app.first_paint")),
    (8, "entry", ("app.install_check",)),
]
"""Lowest first: (layer, group, module prefixes). A module may import its own group and
any lower layer. Entry points: __main__, the console, the GUI and every *_cli module."""


def layer_of(module: str) -> tuple[int, str]:
    """(layer, group) of a module."""
    if module.startswith("app.") and module.endswith("_cli"):
        return 8, "entry"
    best: tuple[int, str, str] | None = None
    for level, group, prefixes in LAYERS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > len(best[2])
            ):
                best = (level, group, prefix)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best[0], best[1]


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports(path: Path, module: str, known: dict[str, Path]) -> set[str]:
    """The project modules ``module`` imports (an ``from x import y`` of a submodule
    counts as the submodule)."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(p, m, known) for m, p in known.items()}


def test_every_import_points_down_and_peers_stay_apart():
    wrong = []
    for module, targets in graph().items():
        if module in PACKAGES:
            continue  # the packages' own __init__ (a docstring)
        level, group = layer_of(module)
        for target in targets - set(PACKAGES):
            target_level, target_group = layer_of(target)
            if target_level > level or (target_level == level and target_group != group):
                wrong.append(f"{module} (layer {level}) imports {target} (layer {target_level})")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_anywhere():
    edges = {m: {t for t in ts if t not in ("app", "hardware")} for m, ts in graph().items()}
    # a package's __init__ importing its own modules is how Python packages work, not a circle
    for module in edges:
        edges[module] = {t for t in edges[module] if not module.startswith(t + ".")}
    found = cycles(edges)
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_checks_catch_a_planted_circle_and_an_upward_import():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer_of("app.store.audit")[0] < layer_of("app.ui.shell")[0]
    assert layer_of("app.users_cli") == (8, "entry")
    assert layer_of("app.records") == layer_of("app.store.audit")


# ------------------------------------------------------------------ SQL lives in the store
SQL_WORDS = r"\b(?:SELECT|INSERT|UPDATE|DELETE)\b"

SQL_OUTSIDE_STORE: dict[str, str] = {}
"""Modules outside app/store still holding a statement, each with why; remove an entry
when its statement moves (a stale entry fails the test)."""


def sql_strings(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal (docstrings aside) holding a statement word;
    an f-string's literal parts count."""
    import re

    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and re.search(SQL_WORDS, node.value)
    ]


def test_no_sql_statement_outside_the_store():
    found: dict[str, list[str]] = {}
    for path in modules().values():
        name = path.relative_to(ROOT).as_posix()
        if name.startswith("app/store/"):
            continue
        hits = sql_strings(path.read_text())
        if hits:
            found[name] = [f"{name}:{line}: {text[:60]!r}" for line, text in hits]
    wrong = [hit for name, hits in found.items() if name not in SQL_OUTSIDE_STORE for hit in hits]
    assert not wrong, "SQL outside app/store (add a store function):\n" + "\n".join(wrong)
    stale = sorted(set(SQL_OUTSIDE_STORE) - set(found))
    assert not stale, f"no SQL left in {stale}: remove them from SQL_OUTSIDE_STORE"


def test_the_sql_check_sees_a_planted_statement_and_skips_docstrings():
    planted = '"""SELECT in a docstring is prose."""\nq = f"SELECT {c} FROM runs"\nx = "Select"\n'
    assert sql_strings(planted) == [(2, "SELECT ")]
