"""Notification text, truncation, secrets and account maps."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.protocol.replies import PushSummary
from switchboard.workers.base import (
    ConfigError,
    load_account_map,
    notification_text,
    read_secret,
    targets_for,
    truncate,
)
from switchboard.workers.mail import NewMail


def test_notification_text() -> None:
    fetched = NewMail("a", "m", properties={
        "from": [{"name": "", "email": "ann@x.org"}], "subject": "raw", "subjectDecoded": "Hi"})
    assert notification_text(fetched) == "ann@x.org – Hi"
    pushed = NewMail("a", "m", summary=PushSummary("Lunch?", "Ann Example <ann@x.org>"))
    assert notification_text(pushed, "-") == "Ann Example - Lunch?"
    assert notification_text(NewMail("a", "m")) == "(unknown sender) – (no subject)"


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
