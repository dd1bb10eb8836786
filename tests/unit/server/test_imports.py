"""The server's modules form no import cycle, and the server knows nothing of the cluster.

``server.app`` once held a ``ServerContext`` every part received, and the handlers, the HTTP
routes and the session imported it back (under ``TYPE_CHECKING``); ``app`` imported the cluster
and with it asyncpg. Here the graph counts ``TYPE_CHECKING`` imports too: a cycle through them
fails no import, but it still ties two modules to each other.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.imports import cycles, import_graph, restricted

SERVER = "switchboard.server"


def test_the_graph_sees_the_server_imports() -> None:
    graph = restricted(import_graph(type_checking=True), SERVER + ".")
    assert "switchboard.server.sessioncore" in graph["switchboard.server.session"]
    assert "switchboard.server.wiring" in graph["switchboard.server.app"]
    assert "switchboard.server.placement" in graph["switchboard.server.accounts"]


def test_no_cycle_among_the_server_modules() -> None:
    graph = restricted(import_graph(type_checking=True), SERVER)
    assert [sorted(component) for component in cycles(graph)] == []


def test_the_server_never_imports_the_cluster() -> None:
    graph = import_graph(type_checking=True)
    leaks = {
        name: sorted(t for t in targets if t.startswith("switchboard.cluster"))
        for name, targets in graph.items()
        if name.startswith(SERVER)
    }
    assert {name: found for name, found in leaks.items() if found} == {}


def test_only_the_entry_points_build_a_server() -> None:
    graph = import_graph(type_checking=True)
    importers = {name for name, targets in graph.items() if "switchboard.server.app" in targets}
    # The command line's composition root and the demo's runtime; no part of the server.
    assert importers == {"switchboard.cli.serve", "switchboard.demo.run"}


def loaded_by(module: str) -> list[str]:
    """The modules ``import module`` adds to ``sys.modules`` in a fresh interpreter."""
    code = (
        "import json, sys; before = set(sys.modules); "
        f"import {module}; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def test_the_server_loads_neither_the_cluster_nor_asyncpg() -> None:
    loaded = loaded_by("switchboard.server.app")
    assert "switchboard.server.session" in loaded  # the check sees what app loads
    assert [m for m in loaded if m.startswith(("switchboard.cluster", "asyncpg"))] == []


def test_the_session_core_does_no_io() -> None:
    loaded = loaded_by("switchboard.server.sessioncore")
    io = ("asyncio", "socket", "ssl", "selectors", "threading", "sqlite3", "websockets")
    assert [m for m in loaded if m.split(".")[0] in io] == []
    pure = ("switchboard.protocol", "switchboard.model", "switchboard.errors")
    switchboard_modules = [m for m in loaded if m.startswith("switchboard.")]
    assert [m for m in switchboard_modules if not m.startswith(pure)] == [
        "switchboard.server",
        "switchboard.server.sessioncore",
    ]
