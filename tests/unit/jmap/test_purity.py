"""The JMAP layer is sans-I/O and stands alone: no I/O modules, no other Switchboard layers."""

import ast
import subprocess
import sys
from pathlib import Path

import switchboard.jmap

FORBIDDEN = {"asyncio", "socket", "ssl", "threading", "time", "sqlite3", "selectors", "http",
             "urllib.request", "websockets", "requests"}  # fmt: skip
ALLOWED_SWITCHBOARD = {"switchboard.errors"}
PACKAGE = Path(switchboard.jmap.__file__).parent


def test_modules_import_no_io_and_no_other_layer() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 16
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
                assert name not in FORBIDDEN, f"{path.name} imports {name}"
                if name.startswith("switchboard."):
                    assert name.startswith("switchboard.jmap") or name in ALLOWED_SWITCHBOARD, (
                        f"{path.name} imports {name}"
                    )


def test_importing_the_layer_loads_no_io_library() -> None:
    # switchboard/__init__.py loads the client (and websockets); this checks that the jmap
    # modules themselves add nothing of the kind on top.
    code = (
        "import sys; before = set(sys.modules);"
        "import switchboard.jmap.dispatch, switchboard.jmap.websocket, switchboard.jmap.session,"
        " switchboard.jmap.state, switchboard.jmap.arguments, switchboard.jmap.ids;"
        "added = set(sys.modules) - before;"
        "print(sorted(m for m in added if not m.startswith('switchboard.jmap')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import switchboard; " + code],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    added = ast.literal_eval(out)
    assert not [m for m in added if m.split(".")[0] in FORBIDDEN], added
