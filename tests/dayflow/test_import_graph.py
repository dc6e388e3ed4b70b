"""No import cycles between the project's own modules.

The graph is read from the source with `ast`, so it sees every import, including those inside
functions (a cycle held apart only by a function-level import is still a cycle: it breaks as
soon as someone moves the import up, and it hides which layer depends on which). Imports under
`if TYPE_CHECKING:` are left out: they never run. `from x import y` counts `x.y` when `y` is a
module. Importing a module runs its packages' `__init__` too, so those count as well. The
provider registry imports each provider on first use, by name (`import_module`), and the OAuth
backends each service's `oauth.py`: those imports are added from the registry, so a provider
that imported the models (which import the registry) would show as the cycle it is.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from importlib.util import find_spec
from pathlib import Path

from integrations.providers import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
APPS = ("dayflow", "integrations", "sync", "webhooks", "audit", "notifications")

Graph = Mapping[str, set[str]]


# --- reading the graph -------------------------------------------------------------------
def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    """Every module of the apps, without migrations and tests."""
    found = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "migrations" in parts or "tests" in parts or path.name.startswith("test"):
                continue
            found[module_name(path)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(nodes: Iterable[ast.AST]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except the bodies of `if TYPE_CHECKING:`."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node):
            yield from _import_nodes(node.orelse)
        else:
            yield from _import_nodes(ast.iter_child_nodes(node))


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imported_names(source: str, importer: str, is_package: bool) -> Iterator[str]:
    """The dotted names one module imports (modules, or `module.attribute` for `from`)."""
    for node in _import_nodes([ast.parse(source)]):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        else:
            module = _absolute(node, importer, is_package)
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def _with_packages(name: str, known: set[str]) -> set[str]:
    """The project modules that importing `name` runs: it (when a module) and its packages."""
    parts = name.split(".")
    return {m for i in range(1, len(parts) + 1) if (m := ".".join(parts[:i])) in known}


def imported_by_name() -> dict[str, set[str]]:
    """The imports `import_module` makes: the registry's providers, their OAuth backends and
    their webhook hooks."""
    providers = {path.partition(":")[0] for path in REGISTRY.values()}
    packages = {m.rpartition(".")[0] for m in providers if m.endswith(".provider")}

    def present(module: str) -> set[str]:
        return {f"{p}.{module}" for p in packages if find_spec(f"{p}.{module}")}

    return {
        "integrations.providers": providers,
        "integrations.oauth.backends": present("oauth"),
        "integrations.providers.hooks": present("webhook"),
    }


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    by_name = imported_by_name()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        imported = [*imported_names(path.read_text(), name, is_package), *by_name.get(name, ())]
        for target in imported:
            targets |= _with_packages(target, known)
        # A module's own packages are already running when it runs: not an edge.
        graph[name] = targets - _with_packages(name, known)
    return graph


# --- finding cycles ----------------------------------------------------------------------
def strongly_connected(graph: Graph) -> list[set[str]]:
    """Tarjan's strongly connected components with more than one module (or a self-import)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def cycle_path(graph: Graph, component: set[str]) -> list[str]:
    """One cycle through the component's first module, as a path that ends where it began."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph.get(node, ())):
            if target == start:
                return [*paths[node], start]
            if target in component and target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"{sorted(component)} is not a cycle")


def cycles(graph: Graph) -> list[list[str]]:
    return [cycle_path(graph, component) for component in strongly_connected(graph)]


# --- the tests ---------------------------------------------------------------------------
def test_the_project_has_no_import_cycles():
    found = [" -> ".join(cycle) for cycle in cycles(import_graph())]

    assert found == [], "import cycles:\n" + "\n".join(found)


def test_the_finder_reports_a_cycle_with_its_path():
    # given a -> b -> c -> a, and d importing into the cycle without being part of it
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert cycles(graph) == [["a", "b", "c", "a"]]


def test_the_finder_passes_a_graph_without_cycles_and_catches_a_self_import():
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
    assert cycles({"a": {"a"}}) == [["a", "a"]]


def test_the_registry_s_lazy_imports_are_in_the_graph():
    graph = import_graph()

    assert "integrations.providers.caldav" in graph["integrations.providers"]
    assert "integrations.providers.notion.oauth" in graph["integrations.oauth.backends"]


def test_imports_inside_functions_count_and_type_checking_ones_do_not():
    # given a module with a function-level import, a submodule import and a typing-only one
    source = (
        "from typing import TYPE_CHECKING\n"
        "from integrations.providers import caldav\n"
        "if TYPE_CHECKING:\n"
        "    from sync.engine import Engine\n"
        "def later():\n"
        "    from integrations import tokens\n"
        "    from . import sibling\n"
    )
    names = set(imported_names(source, "webhooks.views", is_package=False))
    known = {"integrations", "integrations.providers", "integrations.providers.caldav"}
    known |= {"integrations.tokens", "sync.engine", "webhooks.sibling"}
    reached = set().union(*(_with_packages(n, known) for n in names))

    assert reached == known - {"sync.engine"}
