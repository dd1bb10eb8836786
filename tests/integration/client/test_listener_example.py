"""examples/original/listener.py: its command line, and the listener against the scripted peer."""

import email
import importlib.util
import json
import queue
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.ws_peer import WsPeer

WAIT_S = 5.0
SCRIPT = Path(__file__).resolve().parents[3] / "examples" / "original" / "listener.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("listener_example", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_help_lists_the_options() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True,
                            text=True, timeout=30, check=False)
    assert result.returncode == 0
    for option in ("--url", "--host", "--port", "--user", "--password", "--token",
                   "SWITCHBOARD_IMAP_PASSWORD"):
        assert option in result.stdout


def test_password_is_required_from_option_or_env() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--user", "bob"], capture_output=True,
                            text=True, timeout=30, check=False,
                            env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "SWITCHBOARD_IMAP_PASSWORD" in result.stderr


def test_password_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    example = load_example()
    monkeypatch.setenv("SWITCHBOARD_IMAP_PASSWORD", "from-env")
    args = example.parse_args(["--user", "bob", "--port", "1993"])
    assert (args.password, args.port, args.user) == ("from-env", 1993, "bob")


def test_listener_sets_up_in_one_frame_and_prints_new_mail(peer: WsPeer) -> None:
    example = load_example()
    lines: queue.Queue[str] = queue.Queue()
    connspec = {"host": "imap.example.com", "port": 993,
                "auth": {"type": "plain", "username": "leo@example.com", "password": "secret"}}
    listener = example.Listener(peer.url(), connspec, write=lines.put)
    listener.connect()
    push = [["newMessage", {"mailboxId": "INBOX!1", "messageId": "INBOX!1?5",
                            "account": "leo@example.com"}]]
    listener.send_cmds(("_push", {"frames": [push]})).get(WAIT_S)
    assert lines.get(timeout=WAIT_S) == "Subject: appended 0"
    assert lines.get(timeout=WAIT_S) == "From: Latency Probe <probe@example.com>"
    assert lines.get(timeout=WAIT_S) == "To: user1@localhost"
    listener.close()
    listener.run_forever()
    assert json.loads(peer.frames[0]) == [
        ["connect", connspec, 0],
        ["watchMailboxes", {"account": "leo@example.com", "list": ["INBOX"]}, 1],
        ["watchAll", {}, 2],
    ]


def test_missing_from_prints_none() -> None:
    example = load_example()
    lines: list[str] = []
    listener = example.Listener("ws://127.0.0.1:1/workers", {}, write=lines.append)
    listener.received_new(email.message_from_string("Subject: hi\r\n\r\nbody\r\n"))
    assert lines == ["Subject: hi", "From: (none)", "To: (none)", ""]
