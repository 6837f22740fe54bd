"""The layers stay visible: imports point one way, modules stay small, the edges stay thin.

Reads the source with ``ast`` (nothing is imported). Checked:
- no import cycle between project modules (imports inside functions count);
- at most ``MAX_LAZY_IMPORTS`` imports of project modules inside function bodies;
- the core of ``amc`` (everything but the edges ``amc.cli`` and ``amc.web``) never imports
  ``eval`` or ``workers``; only the edges import ``workers``;
- the bottom layer (``amc.domain``) imports nothing else of amc;
- no module over ``MAX_LINES`` lines, at most ``MAX_TOP_ENTRIES`` entries in ``amc/``;
- only ``amc.classify.llm.provider`` imports a provider SDK (litellm, openai, aiohttp).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("amc", "eval", "workers")
EDGES = ("amc.cli", "amc.web")
PROVIDER_SDKS = ("litellm", "openai", "aiohttp")
MAX_LAZY_IMPORTS = 10
MAX_LINES = 400
MAX_TOP_ENTRIES = 14


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    in_function: bool


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module a dotted name refers to (``pkg.mod.attr`` -> ``pkg.mod``)."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in MODULES:
            return ".".join(parts)
        parts.pop()
    return None


def _imports(module: str, path: Path) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    def walk(node: ast.AST, in_function: bool, type_only: bool) -> Iterator:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            checking = type_only or (
                isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test)
            )
            if isinstance(child, ast.Import | ast.ImportFrom) and not checking:
                yield child, inner
            yield from walk(child, inner, checking)

    yield from walk(ast.parse(path.read_text(encoding="utf-8")), False, False)


def _project_imports() -> list[Import]:
    found = []
    for module, path in MODULES.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node, in_function in _imports(module, path):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                subs = [f"{base}.{alias.name}" for alias in node.names]
                names = [n for n in subs if n in MODULES] or [base]
            for name in names:
                target = _resolve(name)
                if target is not None and target != module:
                    found.append(Import(module, target, node.lineno, in_function))
    return found


IMPORTS = _project_imports()


def _graph(imports: list[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for imp in imports:
        graph.setdefault(imp.source, set()).add(imp.target)
        graph.setdefault(imp.target, set())
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    return found


def _is_edge(module: str) -> bool:
    return any(module == e or module.startswith(e + ".") for e in EDGES)


def test_no_import_cycles() -> None:
    assert _cycles(_graph(IMPORTS)) == []


def test_imports_inside_functions_are_few() -> None:
    lazy = [f"{i.source}:{i.line} -> {i.target}" for i in IMPORTS if i.in_function]
    assert len(lazy) <= MAX_LAZY_IMPORTS, "\n".join(lazy)


def test_the_core_never_imports_eval_or_workers() -> None:
    wrong = [
        f"{i.source}:{i.line} -> {i.target}"
        for i in IMPORTS
        if i.source.startswith("amc")
        and not _is_edge(i.source)
        and i.target.split(".")[0] in ("eval", "workers")
    ]
    assert wrong == []


def test_only_the_edges_import_workers() -> None:
    wrong = [
        f"{i.source} -> {i.target}"
        for i in IMPORTS
        if i.target.startswith("workers") and not i.source.startswith("workers")
        and not _is_edge(i.source)
    ]  # fmt: skip
    assert wrong == []


def test_the_domain_layer_imports_nothing_else_of_amc() -> None:
    wrong = [
        f"{i.source} -> {i.target}"
        for i in IMPORTS
        if i.source.startswith("amc.domain") and not i.target.startswith("amc.domain")
    ]
    assert wrong == []


def test_only_the_provider_seam_imports_provider_sdks() -> None:
    wrong = []
    for module, path in MODULES.items():
        if module.startswith("amc.classify.llm.provider"):
            continue
        for node, _ in _imports(module, path):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            if any((n or "").split(".")[0] in PROVIDER_SDKS for n in names):
                wrong.append(f"{module}:{node.lineno}")
    assert wrong == []


def test_no_module_is_over_the_size_limit() -> None:
    sizes = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in MODULES.items()}
    assert {m: n for m, n in sizes.items() if n > MAX_LINES} == {}


def test_the_package_root_shows_the_stages() -> None:
    entries = [p.name for p in (ROOT / "amc").iterdir() if p.name != "__pycache__"]
    assert len(entries) <= MAX_TOP_ENTRIES, sorted(entries)
    for stage in ("domain", "ingest", "snippets", "classify", "jobs", "store", "cli", "web"):
        assert (ROOT / "amc" / stage / "__init__.py").is_file(), stage


def test_the_checks_can_fail() -> None:
    """A planted cycle (through an import inside a function) is found; the walker sees the
    project's lazy imports and resolves names to modules."""
    planted = [Import("a", "b", 1, False), Import("b", "c", 2, False), Import("c", "a", 3, True)]
    assert _cycles(_graph(planted)) == [["a", "b", "c"]]
    assert _cycles(_graph(planted[:2])) == []
    assert _resolve("amc.domain.models.Paper") == "amc.domain.models"
    assert any(i.in_function for i in IMPORTS)
