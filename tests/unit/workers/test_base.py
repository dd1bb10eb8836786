"""NewMail from runner events, summaries, truncation, secrets and account maps."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.workers.base import (
    ConfigError,
    NewMail,
    Summary,
    load_account_map,
    new_mail_from,
    notification_text,
    read_secret,
    targets_for,
    truncate,
)
from switchboard.workers.runner import WorkerEvent


def test_new_mail_from_a_runner_event() -> None:
    event = WorkerEvent(event_id=5, account="bob", mailbox_id="INBOX!1", message_id="INBOX!1?3",
                        group=None, args={}, message={"subject": "s"})
    assert new_mail_from(event) == NewMail("bob", "INBOX!1?3", 5, "INBOX!1", {"subject": "s"})
    assert new_mail_from({"messageId": "m", "eventId": 1}).key == "sb-1"
    assert NewMail("a", "m").key == "sb-a-m"
    with pytest.raises(ValueError):
        new_mail_from({"account": "x"})


def test_summary_and_notification_text() -> None:
    summary = Summary.of(NewMail("a", "m", properties={
        "from": [{"name": "", "email": "ann@x.org"}], "subject": "raw", "subjectDecoded": "Hi",
        "size": True, "date": 3}))
    assert (summary.subject, summary.size, summary.date) == ("Hi", None, None)
    assert notification_text(summary) == "ann@x.org – Hi"


def test_truncate() -> None:
    assert truncate("short", 10) == "short"
    assert truncate("hello wonderful world", 18) == "hello wonderful…"
    assert truncate("x" * 20, 10) == "x" * 9 + "…"
    with pytest.raises(ValueError):
        truncate("abc", 0)


def test_read_secret_prefers_file_then_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           ) -> None:
    secret = tmp_path / "s"
    secret.write_text("from-file\n")
    monkeypatch.setenv("SB_TEST_SECRET", "from-env")
    assert read_secret("v", env="SB_TEST_SECRET", file=secret) == "from-file"
    assert read_secret("v", env="SB_TEST_SECRET") == "from-env"
    monkeypatch.delenv("SB_TEST_SECRET")
    assert read_secret("v", env="SB_TEST_SECRET") == "v"
    assert read_secret(env="SB_TEST_SECRET", required=False) is None
    with pytest.raises(ConfigError, match=r"\$SB_TEST_SECRET"):
        read_secret(env="SB_TEST_SECRET")
    with pytest.raises(ConfigError):
        read_secret(file=tmp_path / "missing")


def test_account_maps_json_and_toml(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('{"bob": ["a", "b"], "*": "c"}')
    (tmp_path / "m.toml").write_text('bob = ["a", "b"]\n"*" = "c"\n')
    for name in ("m.json", "m.toml"):
        mapping = load_account_map(tmp_path / name)
        assert mapping == {"bob": ("a", "b"), "*": ("c",)}
        assert targets_for(mapping, "bob") == ("a", "b")
        assert targets_for(mapping, "other") == ("c",)
    assert targets_for({}, "x") == ()
    (tmp_path / "bad.json").write_text('{"bob": 3}')
    (tmp_path / "worse.json").write_text("[1]")
    (tmp_path / "broken.json").write_text("{")
    for name in ("bad.json", "worse.json", "broken.json", "missing.json"):
        with pytest.raises(ConfigError):
            load_account_map(tmp_path / name)
