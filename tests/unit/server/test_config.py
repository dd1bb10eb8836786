"""Tests for server.config: the cluster settings and the engine settings (defined once)."""

from __future__ import annotations

import dataclasses

import pytest

from switchboard.engine.settings import EngineSettings
from switchboard.server.config import ENGINE_SETTINGS, ConfigError, ServerSettings, load_settings


def test_cluster_settings_come_from_the_environment_and_the_command_line() -> None:
    settings = load_settings(
        environ={"SWITCHBOARD_STORE_URL": "postgresql://db/sb", "SWITCHBOARD_LEASE_TTL_S": "5"},
        overrides={"node_id": "node-a"},
    )
    assert settings.store_url == "postgresql://db/sb"
    assert settings.node_id == "node-a" == settings.resolved_node_id()
    assert settings.lease_ttl_s == 5.0


def test_defaults_keep_sqlite_and_make_up_a_node_name() -> None:
    settings = ServerSettings()
    assert settings.store_url is None
    assert settings.lease_ttl_s == 30.0
    first, second = settings.resolved_node_id(), settings.resolved_node_id()
    assert first != second  # a random suffix: two nodes on one host do not collide
    assert first.rsplit("-", 1)[0] == second.rsplit("-", 1)[0]


def test_the_store_url_is_not_in_the_repr() -> None:
    settings = ServerSettings(store_url="postgresql://sb:hunter2@db/sb")
    assert "hunter2" not in repr(settings)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"store_url": "mysql://db/sb"}, "store_url"),
        ({"node_id": "two words"}, "node_id"),
        ({"node_id": ""}, "node_id"),
        ({"lease_ttl_s": 0}, "lease_ttl_s"),
    ],
)
def test_bad_cluster_settings_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={}, overrides=overrides)


def test_imap_engine_settings_come_from_the_environment() -> None:
    settings = load_settings(
        environ={
            "SWITCHBOARD_IMAP_CONNECT_RATE_PER_S": "400",
            "SWITCHBOARD_IMAP_IDLE_REFRESH_S": "180",
            "SWITCHBOARD_IMAP_COMMAND_IDLE_CLOSE_S": "5",
        }
    )
    engine = settings.engine_settings()
    assert engine.connect_rate_per_s == 400.0
    assert engine.idle_refresh_s == 180.0
    assert engine.command_idle_close_s == 5.0
    assert engine.connect_rate_per_host_per_s == ServerSettings().imap_connect_rate_per_host_per_s


def test_imap_engine_settings_out_of_range_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="idle_refresh_s must be positive"):
        load_settings(environ={"SWITCHBOARD_IMAP_IDLE_REFRESH_S": "0"})


def test_liveness_and_backoff_settings_come_from_the_environment() -> None:
    settings = load_settings(
        environ={
            "SWITCHBOARD_IMAP_PROBE_QUIET_S": "20",
            "SWITCHBOARD_IMAP_LIVENESS_GRACE_S": "5",
            "SWITCHBOARD_IMAP_BACKOFF_INITIAL_S": "0.5",
            "SWITCHBOARD_IMAP_BACKOFF_CAP_S": "30",
            "SWITCHBOARD_IMAP_AUTH_BACKOFF_INITIAL_S": "2",
            "SWITCHBOARD_IMAP_AUTH_BACKOFF_CAP_S": "120",
        }
    )
    engine = settings.engine_settings()
    assert (engine.probe_quiet_s, engine.liveness_grace_s) == (20.0, 5.0)
    assert (engine.backoff_initial_s, engine.backoff_cap_s) == (0.5, 30.0)
    assert (engine.auth_backoff_initial_s, engine.auth_backoff_cap_s) == (2.0, 120.0)
    with pytest.raises(ConfigError, match="probe_quiet_s must be positive"):
        load_settings(environ={"SWITCHBOARD_IMAP_PROBE_QUIET_S": "0"})


def test_the_default_settings_notice_a_dead_connection_within_60_s() -> None:
    engine = ServerSettings().engine_settings()
    assert engine == EngineSettings()  # serve's defaults are the engine's own
    assert engine.idle_refresh_s == 600.0  # the probe does not shorten IDLE's own refresh
    assert engine.dead_connection_bound_s <= 60.0


def test_each_engine_setting_is_defined_once_in_the_engine() -> None:
    engine_fields = {f.name: f for f in dataclasses.fields(EngineSettings)}
    server_fields = {f.name: f for f in dataclasses.fields(ServerSettings)}
    for name, engine_name in ENGINE_SETTINGS.items():
        assert server_fields[name].default == engine_fields[engine_name].default, name
    # Every imap_ setting that is not about TLS or the CA is an engine setting in the table.
    engine_like = {
        n for n in server_fields if n.startswith("imap_") and n.endswith(("_s", "_per_s"))
    }
    assert engine_like == set(ENGINE_SETTINGS)


def test_every_engine_setting_reaches_the_engine() -> None:
    values = {name: 7.0 + i for i, name in enumerate(ENGINE_SETTINGS)}
    engine = ServerSettings(**values).engine_settings()
    for name, engine_name in ENGINE_SETTINGS.items():
        assert getattr(engine, engine_name) == values[name], name
