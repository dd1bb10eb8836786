"""The command line and the package root form no import cycle.

``cli`` once imported ``admin_cli`` and ``demo.cli``, which imported ``cli`` back (inside
functions) for its event-loop runner. The graph here is read from the source with ``ast``: every
``import`` counts, at module level or inside a function, except under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import switchboard

SRC = Path(switchboard.__file__).resolve().parent.parent
ROOT_MODULES = {"switchboard", "switchboard.__main__", "switchboard.errors", "switchboard.extras",
                "switchboard.aio", "switchboard.aplus"}  # fmt: skip


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(tree: ast.AST, name: str, is_package: bool, modules: set[str]) -> Iterator[str]:
    """The Switchboard modules ``tree`` imports, skipping ``if TYPE_CHECKING:`` blocks."""
    package = name if is_package else name.rpartition(".")[0]
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield full if full in modules else base
        stack.extend(ast.iter_child_nodes(node))


def import_graph() -> dict[str, set[str]]:
    files = {module_name(path): path for path in (SRC / "switchboard").rglob("*.py")}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = imported(tree, name, path.name == "__init__.py", modules)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
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
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_imports_of_the_command_line() -> None:
    graph = import_graph()
    assert "switchboard.cli.loop" in graph["switchboard.cli.admin_http"]
    assert "switchboard.cli.loop" in graph["switchboard.workers.cli"]
    assert "switchboard.demo.run" in graph["switchboard.cli.demo"]  # inside a function


def test_no_cycle_goes_through_the_command_line_or_the_package_root() -> None:
    involved = [
        sorted(component)
        for component in cycles(import_graph())
        if any(m.startswith("switchboard.cli") or m in ROOT_MODULES for m in component)
    ]
    assert involved == []


def test_the_shared_runner_depends_on_no_command() -> None:
    assert import_graph()["switchboard.cli.loop"] == {"switchboard.extras"}
