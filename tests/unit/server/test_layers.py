"""The server does not speak IMAP: no module of ``switchboard.server`` imports ``switchboard.imap``.

Every IMAP conversation belongs to the engine (its watchers and its reader); the server asks in
the model's terms (``switchboard.model.mail``) and gets the engine's errors. Read from the source
(``tests/support/imports.py``, ast), so an import inside a function or under ``TYPE_CHECKING``
counts too, in ``server/jmap/`` as well.
"""

from __future__ import annotations

from tests.support.imports import import_graph

SERVER = "switchboard.server"


def test_the_graph_sees_what_the_server_imports_of_the_engine() -> None:
    graph = import_graph(type_checking=True)
    assert "switchboard.engine.errors" in graph["switchboard.server.handlers"]
    assert "switchboard.mail.render" in graph["switchboard.server.mailops"]


def test_no_server_module_imports_the_imap_client() -> None:
    graph = import_graph(type_checking=True)
    server = {name: targets for name, targets in graph.items() if name.startswith(SERVER)}
    assert len(server) > 20
    leaks = {
        name: sorted(t for t in targets if (t + ".").startswith("switchboard.imap."))
        for name, targets in server.items()
    }
    assert {name: found for name, found in leaks.items() if found} == {}
