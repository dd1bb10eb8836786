"""Switchboard's import graph, read from the source with ``ast``, and its cycles.

Every ``import`` counts, at module level or inside a function. Imports under
``if TYPE_CHECKING:`` count only when asked for (``type_checking=True``): a cycle through them
does not fail at run time, but it is still two modules that each need the other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import switchboard

SRC = Path(switchboard.__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    """``switchboard.server.app`` for ``src/switchboard/server/app.py``."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(
    tree: ast.AST, name: str, is_package: bool, modules: set[str], *, type_checking: bool = False
) -> Iterator[str]:
    """The modules ``tree`` (module ``name``) imports; ``if TYPE_CHECKING:`` blocks on request."""
    package = name if is_package else name.rpartition(".")[0]
    stack = [tree]
    while stack:
        node = stack.pop()
        if (
            not type_checking
            and isinstance(node, ast.If)
            and "TYPE_CHECKING" in ast.unparse(node.test)
        ):
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


def import_graph(*, type_checking: bool = False) -> dict[str, set[str]]:
    """Every Switchboard module -> the Switchboard modules it imports."""
    files = {module_name(path): path for path in (SRC / "switchboard").rglob("*.py")}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = imported(
            tree, name, path.name == "__init__.py", modules, type_checking=type_checking
        )
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


def restricted(graph: dict[str, set[str]], prefix: str) -> dict[str, set[str]]:
    """The part of ``graph`` among the modules whose names start with ``prefix``."""
    return {
        name: {t for t in targets if t.startswith(prefix)}
        for name, targets in graph.items()
        if name.startswith(prefix)
    }
