"""The runner's fetch decision, state file and options (the loop itself: tests/integration)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from switchboard.protocol.replies import NewMessagePush, PushSummary
from switchboard.workers.runner import (
    DEFAULT_URL,
    add_common_options,
    properties_to_fetch,
    read_state,
    worker_options,
    write_state,
)


@pytest.mark.parametrize(("properties", "with_summary", "without"), [
    (("from", "subject"), [], ["from", "subject"]),  # the SMS: no getMessages at all
    (("from", "subject", "preview"), ["preview"], ["from", "subject", "preview"]),  # APNs
    (("subject", "from", "to"), ["to"], ["subject", "from", "to"]),  # the listener
    (("raw",), ["raw"], ["raw"]),  # relay, attachments
    ((), [], []),  # a handler that reads nothing beyond the push
])
def test_only_what_the_summary_lacks_is_fetched(
    properties: tuple[str, ...], with_summary: list[str], without: list[str],
) -> None:
    summarised = NewMessagePush("INBOX!1?2", summary=PushSummary(subject=None, sender=None))
    assert properties_to_fetch(summarised, properties) == with_summary
    # No summary (an old server): everything the handler reads is fetched.
    assert properties_to_fetch(NewMessagePush("INBOX!1?2"), properties) == without


def test_state_file_round_trip_and_absence(tmp_path: Path) -> None:
    path = tmp_path / "worker.state"
    assert read_state(path) is None
    write_state(path, 42)
    assert read_state(path) == 42
    write_state(path, None)
    assert read_state(path) is None
    assert [p.name for p in tmp_path.iterdir()] == ["worker.state"]  # no temporary left over


@pytest.mark.parametrize("content", [b"not json", b"[1]", b'{"lastEventId": "7"}',
                                     b'{"lastEventId": true}', b" " * 5000])
def test_a_foreign_state_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "worker.state"
    path.write_bytes(content)
    with pytest.raises(ValueError):
        read_state(path)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_common_options(parser)
    return parser.parse_args(argv)


def test_defaults_watch_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWITCHBOARD_TOKEN", raising=False)
    options = worker_options(parse([]))
    assert options == {"url": DEFAULT_URL, "token": None, "group": None, "state_file": None,
                       "accounts": [], "mailboxes": ("INBOX",)}


def test_secrets_from_files_and_environment(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("tok\n")
    (tmp_path / "password").write_text("pw with spaces \n")
    options = worker_options(parse([
        "--token-file", str(tmp_path / "token"), "--group", "apns", "--host", "imap.example",
        "--user", "bob", "--password-file", str(tmp_path / "password"),
        "--mailbox", "INBOX", "--mailbox", "Sent", "--state-file", "s.json",
    ]))
    assert options["token"] == "tok"
    assert options["group"] == "apns"
    assert options["state_file"] == Path("s.json")
    assert options["mailboxes"] == ("INBOX", "Sent")
    assert options["accounts"] == [{"host": "imap.example", "port": 993, "auth": {
        "type": "plain", "username": "bob", "password": "pw with spaces "}}]
    monkeypatch.setenv("SWITCHBOARD_TOKEN", "from-env")
    monkeypatch.setenv("SWITCHBOARD_IMAP_PASSWORD", "env-pw")
    options = worker_options(parse(["--host", "h", "--account", "amy", "--port", "1993"]))
    assert options["token"] == "from-env"
    assert options["accounts"][0]["auth"]["password"] == "env-pw"
    assert options["accounts"][0]["port"] == 1993


def test_host_without_credentials_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWITCHBOARD_IMAP_PASSWORD", raising=False)
    with pytest.raises(ValueError, match="--user"):
        worker_options(parse(["--host", "h", "--user", "bob"]))
