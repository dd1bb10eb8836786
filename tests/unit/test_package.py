"""The package's faces: ``switchboard`` and every package ``__init__`` import lazily.

Importing a low layer must load nothing above it: each case imports one module in a fresh
interpreter and compares ``sys.modules`` before and after. (``import switchboard.imap.parser``
once loaded the threaded client and websockets through ``switchboard/__init__.py``.)
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import switchboard
from switchboard.errors import SwitchboardError

TIMEOUT_S = 60.0

# Third-party packages of the layers above the pure ones: none may be loaded by a pure import.
HEAVY = (
    "websockets", "cryptography", "rich", "prometheus_client", "asyncpg", "uvloop", "pymap",
    "aioapns", "twilio", "httpx", "aiosmtplib",
)  # fmt: skip

# module -> the Switchboard modules it may load: a name ending in "." allows that package and
# its modules, any other name allows that module alone. The package faces on the way
# (``switchboard``, ``switchboard.engine``…) load nothing themselves, so they are always allowed.
CASES = {
    "switchboard": ["switchboard"],
    "switchboard.errors": ["switchboard", "switchboard.errors"],
    "switchboard.imap.parser": ["switchboard", "switchboard.errors", "switchboard.imap."],
    "switchboard.protocol": ["switchboard", "switchboard.protocol"],
    "switchboard.protocol.frames": ["switchboard", "switchboard.errors", "switchboard.protocol."],
    # The store reads the shared model, and keeps its own JSON: never the engine, the wire
    # protocol, the IMAP client or the server.
    "switchboard.store.codec": [
        "switchboard", "switchboard.errors", "switchboard.store.", "switchboard.model",
        "switchboard.model.",
    ],
    "switchboard.model.store": ["switchboard", "switchboard.model", "switchboard.model."],
    # The one mail decoder reads the model and nothing else of ours.
    "switchboard.mail.render": [
        "switchboard", "switchboard.mail", "switchboard.mail.", "switchboard.model",
        "switchboard.model.",
    ],
    "switchboard.mail.summary": [
        "switchboard", "switchboard.mail", "switchboard.mail.", "switchboard.model",
        "switchboard.model.",
    ],
    "switchboard.jmap": ["switchboard", "switchboard.jmap"],
    "switchboard.jmap.request": ["switchboard", "switchboard.errors", "switchboard.jmap."],
    "switchboard.engine": ["switchboard", "switchboard.engine"],
    "switchboard.store": ["switchboard", "switchboard.store"],
    "switchboard.mail": ["switchboard", "switchboard.mail"],
    "switchboard.runloop": [
        "switchboard", "switchboard.errors", "switchboard.extras", "switchboard.gcpolicy",
        "switchboard.runloop",
    ],
    # The command line's old name of the runner loads no command.
    "switchboard.cli.loop": [
        "switchboard", "switchboard.errors", "switchboard.extras", "switchboard.gcpolicy",
        "switchboard.runloop", "switchboard.cli", "switchboard.cli.loop",
    ],
}  # fmt: skip

FACES = ["switchboard", "switchboard.protocol", "switchboard.engine", "switchboard.store",
         "switchboard.cli", "switchboard.workers"]  # fmt: skip


def loaded_by(module: str) -> list[str]:
    """The modules that ``import module`` adds to ``sys.modules`` in a fresh interpreter."""
    code = (
        "import json, sys; before = set(sys.modules); "
        f"import {module}; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, timeout=TIMEOUT_S, check=True,
    )  # fmt: skip
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def allowed(name: str, rules: list[str]) -> bool:
    return any(
        (name + ".").startswith(rule) if rule.endswith(".") else name == rule for rule in rules
    )


@pytest.mark.parametrize("module", sorted(CASES))
def test_importing_a_layer_loads_nothing_above_it(module: str) -> None:
    loaded = loaded_by(module)
    assert module in loaded
    ours = [name for name in loaded if name.partition(".")[0] == "switchboard"]
    assert [name for name in ours if not allowed(name, CASES[module])] == []
    assert [name for name in loaded if name.partition(".")[0] in HEAVY] == []


@pytest.mark.parametrize(
    "module", ["switchboard.imap.parser", "switchboard.mail", "switchboard.protocol"]
)
def test_a_pure_layer_loads_neither_websockets_nor_the_client(module: str) -> None:
    # The issue's own check, as a user would type it: ``python -c "import …"``.
    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in sys.modules "
        "if m.split('.')[0] == 'websockets' or m.startswith('switchboard.client')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT_S,
        check=True,
    )  # fmt: skip
    assert result.stdout.strip() == "[]"


def test_the_root_face_still_gives_the_client_on_first_use() -> None:
    loaded = loaded_by("switchboard")
    assert "websockets" not in loaded
    code = "import sys, switchboard; switchboard.Client; print('websockets' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT_S,
        check=True,
    )  # fmt: skip
    assert result.stdout.strip() == "True"


@pytest.mark.parametrize("face", FACES)
def test_every_exported_name_resolves_and_is_listed(face: str) -> None:
    package = importlib.import_module(face)
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no_such_name"):
        package.no_such_name  # noqa: B018


def test_the_faces_give_the_defining_modules_objects() -> None:
    from switchboard.client.threaded import Client
    from switchboard.protocol.frames import decode_frame
    from switchboard.store.sqlite import SqliteStore

    assert switchboard.Client is Client
    assert importlib.import_module("switchboard.protocol").decode_frame is decode_frame
    assert importlib.import_module("switchboard.store").SqliteStore is SqliteStore
    from switchboard import Promise, errors_in  # from-imports go through __getattr__ too

    assert callable(errors_in) and Promise.__name__ == "Promise"


def test_version_and_base_error() -> None:
    assert switchboard.__version__
    assert switchboard.SwitchboardError is SwitchboardError
    err = SwitchboardError("boom", type="serverError")
    assert err.type == "serverError"
    assert str(err) == "boom"
