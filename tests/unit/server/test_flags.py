"""Tests for server.flags: a `serve` flag per setting, from one table, fed to load_settings."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import pytest

from switchboard.server.config import ConfigError, ServerSettings, load_settings
from switchboard.server.flags import (
    NOT_FLAGS,
    SETTING_GROUPS,
    add_setting_flags,
    flag_overrides,
)


def parse(*argv: str) -> ServerSettings:
    parser = argparse.ArgumentParser()
    add_setting_flags(parser)
    return load_settings(environ={}, overrides=flag_overrides(parser.parse_args(argv)))


def test_the_table_describes_every_setting_once() -> None:
    documented = [doc.name for _, docs in SETTING_GROUPS for doc in docs]
    assert len(documented) == len(set(documented))
    fields = {f.name for f in dataclasses.fields(ServerSettings)}
    assert set(documented) | set(NOT_FLAGS) == fields


def test_flags_override_every_kind_of_setting() -> None:
    settings = parse(
        "--port", "9000", "--token", "a", "--token", "b", "--imap-allow-plain",
        "--no-imap-verify-tls", "--max-batch", "5", "--imap-idle-refresh-s", "120",
        "--store", "postgresql://db/sb", "--imap-ca-file", "~/ca.pem",
    )  # fmt: skip
    assert settings.port == 9000
    assert settings.tokens == ("a", "b")
    assert settings.imap_allow_plain is True
    assert settings.imap_verify_tls is False
    assert settings.max_batch == 5
    assert settings.imap_idle_refresh_s == 120.0
    assert settings.store_url == "postgresql://db/sb"
    assert settings.imap_ca_file is not None and "~" not in str(settings.imap_ca_file)


def test_flags_not_given_leave_the_environment_alone() -> None:
    parser = argparse.ArgumentParser()
    add_setting_flags(parser)
    overrides = flag_overrides(parser.parse_args([]))
    assert set(overrides.values()) == {None}
    settings = load_settings(environ={"SWITCHBOARD_MAX_BATCH": "7"}, overrides=overrides)
    assert settings.max_batch == 7


@pytest.mark.parametrize(("argv", "message"), [
    (["--max-batch", "0"], "max_batch"),
    (["--rate-limit-per-s", "fast"], "rate_limit_per_s"),
    (["--log-level", "LOUD"], "log_level"),
])  # fmt: skip
def test_bad_flag_values_name_the_setting(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(*argv)


def test_the_readme_documents_every_setting_and_which_are_not_flags() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    for field in dataclasses.fields(ServerSettings):
        assert f"`{field.name}`" in section, field.name
    # "Two are not flags: `secret_key` (…) and `oauth_providers` (…)."
    not_flags = " ".join(section.split()).split("Two are not flags:", 1)[1].split(".", 1)[0]
    assert len(NOT_FLAGS) == 2
    assert {name for name in re.findall(r"`(\w+)`", not_flags) if "_" in name} == set(NOT_FLAGS)
