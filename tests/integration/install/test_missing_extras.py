"""Every entry point works with the optional modules hidden, and asking for one is one line.

The real proof is scripts/check-installs (run by ./scripts/test before pytest), which installs
the package into throwaway virtualenvs without the extras. These tests give the same answers
in seconds inside the test venv, by hiding the extras' modules from the import system in a
child process (``sys.modules[name] = None`` makes ``import name`` fail as if it were absent).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from switchboard.extras import EXTRA_OF

TIMEOUT_S = 60.0
HIDE_EXTRAS = f"import sys; sys.modules.update(dict.fromkeys({sorted(EXTRA_OF)!r}));"


def run_without_extras(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", HIDE_EXTRAS + code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_entry_points_import_without_any_extra() -> None:
    modules = [
        "switchboard",
        "switchboard.aio",
        "switchboard.cli",
        "switchboard.client",
        "switchboard.server.app",
        "switchboard.imap.parser",
        "switchboard.workers.cli",
        "switchboard.workers.listener",
        "switchboard.workers.attachments",
        "switchboard.demo.run",
    ]
    result = run_without_extras(
        f"import importlib; [importlib.import_module(m) for m in {modules!r}]; "
        "from switchboard.cli import main; sys.exit(main(['--help']))"
    )
    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout


def test_store_url_without_asyncpg_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    argv = ["serve", "--store", "postgresql://sb:sekrit@127.0.0.1:1/sb", "--data-dir", str(data)]
    result = run_without_extras(f"from switchboard.cli import main; sys.exit(main({argv!r}))")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "switchboard: error: the PostgreSQL store (--store postgresql://…) needs asyncpg: "
        "pip install 'switchboard-python[postgres]' into this environment "
        "(from a checkout: pip install '.[postgres]')"
    ]
    assert not data.exists()


def test_demo_without_pymap_is_one_line() -> None:
    result = run_without_extras(
        "from switchboard.cli import main; sys.exit(main(['demo', '--duration', '5']))"
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "switchboard: error: the demo's embedded IMAP server needs pymap: "
        "pip install 'switchboard-python[demo]' into this environment "
        "(from a checkout: pip install '.[demo]')"
    ]


@pytest.mark.parametrize(
    ("main", "argv", "feature", "module"),
    [
        ("webhook_main", ["--webhook-url", "http://127.0.0.1:9/"], "the webhook worker", "httpx"),
        ("relay_main", ["--rcpt-to", "a@example.com"], "the SMTP relay worker", "aiosmtplib"),
        ("apns_main", ["--topic", "app.x", "--pushtoken", "ab"], "the APNs worker", "aioapns"),
        ("twilio_main", ["--from", "+15550100", "--to", "+15550101"], "the Twilio SMS worker",
         "twilio"),
    ],
)
def test_worker_without_its_sdk_is_one_line(
    main: str, argv: list[str], feature: str, module: str
) -> None:
    result = run_without_extras(
        f"from switchboard.workers.cli import {main}; sys.exit({main}({argv!r}))"
    )
    assert result.returncode == 1
    prog = result.stderr.partition(":")[0]
    assert result.stderr.splitlines() == [
        f"{prog}: error: {feature} needs {module}: "
        "pip install 'switchboard-python[workers]' into this environment "
        "(from a checkout: pip install '.[workers]')"
    ]


def test_worker_help_works_without_its_sdk() -> None:
    result = run_without_extras(
        "from switchboard.workers.cli import apns_main; sys.exit(apns_main(['--help']))"
    )
    assert result.returncode == 0, result.stderr
    assert "--topic" in result.stdout
