"""The command line and the package root form no import cycle.

``cli`` once imported ``admin_cli`` and ``demo.cli``, which imported ``cli`` back (inside
functions) for its event-loop runner; then the demo and the workers imported ``cli.loop``. The
runner is ``switchboard.runloop`` now, and only ``__main__`` imports the command line. The
graph is read from the source with ``ast`` (``tests/support/imports.py``): every ``import``
counts, at module level or inside a function, except under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

from tests.support.imports import cycles, import_graph

ROOT_MODULES = {"switchboard", "switchboard.__main__", "switchboard.errors", "switchboard.extras",
                "switchboard.aio", "switchboard.aplus"}  # fmt: skip


def test_the_graph_sees_the_imports_of_the_command_line() -> None:
    graph = import_graph()
    assert "switchboard.runloop" in graph["switchboard.cli.admin_http"]
    assert "switchboard.runloop" in graph["switchboard.workers.cli"]
    assert "switchboard.demo.run" in graph["switchboard.cli.demo"]  # inside a function


def test_no_cycle_goes_through_the_command_line_or_the_package_root() -> None:
    involved = [
        sorted(component)
        for component in cycles(import_graph())
        if any(m.startswith("switchboard.cli") or m in ROOT_MODULES for m in component)
    ]
    assert involved == []


def test_the_shared_runner_depends_on_no_command() -> None:
    assert import_graph()["switchboard.runloop"] == {"switchboard.extras", "switchboard.gcpolicy"}


def test_only_the_entry_point_imports_the_command_line() -> None:
    graph = import_graph(type_checking=True)
    importers = {
        name
        for name, targets in graph.items()
        if not name.startswith("switchboard.cli")
        and any(t == "switchboard.cli" or t.startswith("switchboard.cli.") for t in targets)
    }
    assert importers == {"switchboard.__main__"}
