"""The server does not speak IMAP: no module of ``switchboard.server`` imports ``switchboard.imap``.

Every IMAP conversation belongs to the engine (its watchers and its reader); the server asks in
the model's terms and gets the engine's errors. Read from the source (ast), so an import inside
a function or under ``TYPE_CHECKING`` counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import switchboard.server

SERVER = Path(switchboard.server.__file__).parent


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_scan_sees_imports() -> None:
    assert "switchboard.engine.errors" in imports_of(SERVER / "handlers.py")


def test_no_server_module_imports_the_imap_client() -> None:
    modules = sorted(SERVER.glob("*.py"))
    assert len(modules) > 10
    offenders = {
        path.name: sorted(
            name for name in imports_of(path)
            if name == "switchboard.imap" or name.startswith("switchboard.imap.")
        )
        for path in modules
    }  # fmt: skip
    assert {name: found for name, found in offenders.items() if found} == {}
