"""Protocol code never imports I/O (docs/architecture.md, "Conventions": sans-I/O cores)."""

import ast
from pathlib import Path

import switchboard.protocol

FORBIDDEN = {"asyncio", "socket", "ssl", "threading", "time", "sqlite3", "selectors"}
PACKAGE = Path(switchboard.protocol.__file__).parent


def test_protocol_modules_import_no_io() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 7
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_package_exports_resolve() -> None:
    for name in switchboard.protocol.__all__:
        assert getattr(switchboard.protocol, name) is not None, name
