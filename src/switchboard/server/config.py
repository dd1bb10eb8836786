"""Server settings: one frozen object from defaults < TOML file < environment < command line.

Every setting has the same name in all three sources: ``port`` is ``--port`` on the command line,
``SWITCHBOARD_PORT`` in the environment and ``port = 8080`` in the TOML file (the flags, and the
two settings that have none, are in ``server.flags``). Lists (``tokens``) are comma-separated in
the environment. Nothing here reads the environment by itself: the caller
passes ``os.environ`` (or a dict in tests), so no module hides global state.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from switchboard.engine.settings import EngineSettings
from switchboard.errors import SwitchboardError

__all__ = [
    "DATABASE_FILE",
    "ENGINE_SETTINGS",
    "ENV_PREFIX",
    "ConfigError",
    "OAuthProvider",
    "ServerSettings",
    "default_data_dir",
    "default_node_id",
    "is_loopback_host",
    "load_settings",
]

ENV_PREFIX = "SWITCHBOARD_"

DATABASE_FILE = "switchboard.db"
"""The SQLite store's file name in ``data_dir``."""


# The engine's own defaults: each engine setting's default is defined once, in EngineSettings.
_ENGINE: Final = EngineSettings()

ENGINE_SETTINGS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "imap_connect_rate_per_s": "connect_rate_per_s",
        "imap_connect_rate_per_host_per_s": "connect_rate_per_host_per_s",
        "imap_idle_refresh_s": "idle_refresh_s",
        "imap_probe_quiet_s": "probe_quiet_s",
        "imap_liveness_grace_s": "liveness_grace_s",
        "imap_command_idle_close_s": "command_idle_close_s",
        "imap_backoff_initial_s": "backoff_initial_s",
        "imap_backoff_cap_s": "backoff_cap_s",
        "imap_auth_backoff_initial_s": "auth_backoff_initial_s",
        "imap_auth_backoff_cap_s": "auth_backoff_cap_s",
    }
)
"""The server settings that are engine settings: server name -> :class:`EngineSettings` field."""


class ConfigError(SwitchboardError):
    """A setting is missing, malformed or unsafe; the message names the setting."""


@dataclass(frozen=True, slots=True)
class OAuthProvider:
    """A token endpoint for XOAUTH2 refresh tokens (docs/protocol.md, "Commands"): ``google``."""

    name: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything ``switchboard serve`` can be told. Durations in seconds, sizes in bytes."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = field(default_factory=lambda: default_data_dir())
    log_level: str = "INFO"
    tokens: tuple[str, ...] = field(default=(), repr=False)
    # TLS on the listener (PEM files): wss:// and https:// on the one port. Both or neither.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Where a JMAP Basic login of an account not yet known is tried (HOST or HOST:PORT, implicit
    # TLS, 993 by default); None: Basic works only for accounts already connected.
    jmap_imap_server: str | None = None
    # The Fernet key for credentials at rest; None: a key file in data_dir (created 0600).
    secret_key: str | None = field(default=None, repr=False)
    # TLS towards IMAP servers: an extra CA file to trust (self-signed test servers), and an
    # escape hatch for deployments that must reach servers with broken certificates.
    imap_ca_file: Path | None = None
    imap_verify_tls: bool = True
    # Plain-text IMAP is allowed to loopback only, unless this is set (e.g. a private network).
    imap_allow_plain: bool = False
    # The IMAP engine's pacing and liveness (EngineSettings, whose defaults these are): new
    # connections per second overall and per IMAP host (so 10,000 accounts reconnect without
    # flooding a provider), how often IDLE is re-issued, after how much silence an IDLE is probed
    # (DONE + IDLE) and how long a probe may go unanswered before the connection counts as dead
    # (together: a dead connection is noticed within 55 s), how long an account's command
    # connection (getMessages & co.) stays open unused, and the reconnect delays after network
    # failures and after refused logins. ENGINE_SETTINGS maps each to its engine field.
    imap_connect_rate_per_s: float = _ENGINE.connect_rate_per_s
    imap_connect_rate_per_host_per_s: float = _ENGINE.connect_rate_per_host_per_s
    imap_idle_refresh_s: float = _ENGINE.idle_refresh_s
    imap_probe_quiet_s: float = _ENGINE.probe_quiet_s
    imap_liveness_grace_s: float = _ENGINE.liveness_grace_s
    imap_command_idle_close_s: float = _ENGINE.command_idle_close_s
    imap_backoff_initial_s: float = _ENGINE.backoff_initial_s
    imap_backoff_cap_s: float = _ENGINE.backoff_cap_s
    imap_auth_backoff_initial_s: float = _ENGINE.auth_backoff_initial_s
    imap_auth_backoff_cap_s: float = _ENGINE.auth_backoff_cap_s
    max_frame_bytes: int = 1_048_576
    max_batch: int = 1000
    max_pending_frames: int = 10_000
    # Per-connection command rate limit (token bucket): sustained rate and burst, in commands.
    rate_limit_per_s: float = 50.0
    rate_limit_burst: int = 200
    # Worker groups (issue 6): how long a member may hold an event before it goes to another
    # member, and how many unacknowledged events one member may hold.
    group_visibility_timeout_s: float = 60.0
    group_max_in_flight: int = 1000
    oauth_providers: Mapping[str, OAuthProvider] = field(default_factory=dict)
    # Several nodes (issue 8, docs/scaling.md): a postgresql:// URL puts the store in PostgreSQL
    # and makes this process a cluster node; None keeps the embedded SQLite store in data_dir.
    # repr=False: the URL may carry a password.
    store_url: str | None = field(default=None, repr=False)
    # This node's name in the cluster; None: the host name plus a short random suffix.
    node_id: str | None = None
    # How long an account lease (and a node's heartbeat) lasts without renewal: a dead node's
    # accounts move to the others within this time.
    lease_ttl_s: float = 30.0

    def engine_settings(self) -> EngineSettings:
        """The engine's settings these server settings call for.

        Raises:
            ConfigError: a pacing or liveness value out of range.
        """
        values = {engine: getattr(self, name) for name, engine in ENGINE_SETTINGS.items()}
        try:
            return EngineSettings(**values)
        except ValueError as exc:
            raise ConfigError(f"IMAP engine settings: {exc}") from None

    def check(self) -> None:
        """Refuse settings that are unsafe or impossible.

        Raises:
            ConfigError: a bad port, a limit out of range, and the like (the loopback rule is
                :meth:`check_listen`, once the store's tokens are known).
        """
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be 0..65535, not {self.port}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("tls_cert and tls_key go together: give both, or neither")
        if self.jmap_imap_server is not None:
            self.jmap_imap_address()  # raises ConfigError for a malformed HOST[:PORT]
        self.engine_settings()  # raises ConfigError for an out-of-range pacing value
        if self.max_frame_bytes < 1024:
            raise ConfigError("max_frame_bytes must be at least 1024")
        if self.max_batch < 1 or self.max_pending_frames < 1:
            raise ConfigError("max_batch and max_pending_frames must be at least 1")
        if self.rate_limit_per_s <= 0 or self.rate_limit_burst < 1:
            raise ConfigError("rate_limit_per_s must be > 0 and rate_limit_burst at least 1")
        if self.group_visibility_timeout_s <= 0 or self.group_max_in_flight < 1:
            raise ConfigError(
                "group_visibility_timeout_s must be > 0 and group_max_in_flight at least 1"
            )
        if self.store_url is not None and not self.store_url.startswith(_PG_SCHEMES):
            raise ConfigError("store_url must be a postgresql:// URL (leave it unset for SQLite)")
        if self.node_id is not None and (
            not self.node_id
            or not self.node_id.isprintable()
            or any(c.isspace() for c in self.node_id)
        ):
            raise ConfigError(
                f"node_id must be a non-empty name without spaces, not {self.node_id!r}"
            )
        if self.lease_ttl_s <= 0:
            raise ConfigError("lease_ttl_s must be > 0")

    def jmap_imap_address(self) -> tuple[str, int] | None:
        """``jmap_imap_server`` as ``(host, port)``, or ``None`` when it is not set.

        Raises:
            ConfigError: not ``HOST`` or ``HOST:PORT`` (``[v6 address]:PORT`` for IPv6).
        """
        value = self.jmap_imap_server
        if value is None:
            return None
        host, port_text = value.strip(), "993"
        if host.startswith("["):
            inner, bracket, rest = host[1:].partition("]")
            if not bracket or (rest and not rest.startswith(":")):
                raise ConfigError(f"jmap_imap_server must be HOST or HOST:PORT, not {value!r}")
            host, port_text = inner, rest[1:] or port_text
        elif host.count(":") == 1:
            host, port_text = host.split(":")
        port = int(port_text) if port_text.isdigit() else 0
        if not host or any(c.isspace() for c in host) or not 0 < port <= 65535:
            raise ConfigError(f"jmap_imap_server must be HOST or HOST:PORT, not {value!r}")
        return host, port

    def resolved_node_id(self) -> str:
        """``node_id``, or the host name plus a short random suffix when it is not set."""
        return self.node_id if self.node_id is not None else default_node_id()

    def check_listen(self, *, store_has_tokens: bool) -> None:
        """Refuse to listen beyond loopback when no token of any kind is configured.

        Called once the store is open: tokens created with ``switchboard tokens create``
        count as configured, as do static ``tokens``.

        Raises:
            ConfigError: a non-loopback host and neither static nor stored tokens.
        """
        if not is_loopback_host(self.host) and not self.tokens and not store_has_tokens:
            raise ConfigError(
                f"refusing to listen on {self.host!r} without auth tokens: anyone who can reach "
                "it could read every connected mailbox. Create one with `switchboard tokens "
                "create`, set --token (or SWITCHBOARD_TOKENS), or listen on 127.0.0.1"
            )


_PG_SCHEMES = ("postgresql://", "postgres://")


def default_node_id() -> str:
    """A node name unique enough for a cluster: ``<host name>-<6 random hex digits>``."""
    return f"{socket.gethostname()}-{secrets.token_hex(3)}"


def default_data_dir() -> Path:
    """The per-user data directory: ``$XDG_DATA_HOME/switchboard`` (``~/.local/share/...``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "switchboard"


def is_loopback_host(host: str) -> bool:
    """Whether binding ``host`` keeps the server reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_FIELDS = {f.name: f for f in dataclasses.fields(ServerSettings)}


def load_settings(
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ServerSettings:
    """Merge defaults, the TOML file, the environment and command-line overrides, in that order.

    ``overrides`` holds only the options given on the command line (``None`` values are
    ignored). The result is checked with :meth:`ServerSettings.check`.

    Raises:
        ConfigError: an unknown key, a value of the wrong type, an unreadable file, or unsafe
            settings.
    """
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(_read_toml(config_file))
    env = environ if environ is not None else {}
    if config_file is None and env.get(ENV_PREFIX + "CONFIG"):
        values.update(_read_toml(Path(env[ENV_PREFIX + "CONFIG"])))
    for name in _FIELDS:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None and name != "oauth_providers":
            values[name] = raw
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    settings = ServerSettings(**{name: _coerce(name, value) for name, value in values.items()})
    settings.check()
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)}")
    return data


def _coerce(name: str, value: Any) -> Any:
    """Turn a value from TOML, the environment (str) or argparse into the field's type."""
    if name not in _FIELDS:
        raise ConfigError(f"unknown setting {name!r}")
    default = ServerSettings()
    expected = type(getattr(default, name))
    try:
        if name == "oauth_providers":
            return _coerce_providers(value)
        if name == "tokens":
            if isinstance(value, str):
                value = [t.strip() for t in value.split(",")]
            return tuple(t for t in value if t)
        if name in ("data_dir", "imap_ca_file", "tls_cert", "tls_key"):
            return Path(value).expanduser()
        if name == "secret_key":
            return str(value)
        if expected is bool:
            return _to_bool(value)
        if expected is float:
            if isinstance(value, bool):
                raise ValueError("a boolean is not a number")
            return float(value)
        if expected is int:
            if isinstance(value, bool) or not str(value).strip().lstrip("+-").isdigit():
                raise ValueError(f"expected a whole number, not {value!r}")
            return int(value)
        if name == "log_level":
            level = str(value).upper()
            if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
                raise ValueError("expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
            return level
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name}: {exc}") from None


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, not {value!r}")


def _coerce_providers(value: Any) -> dict[str, OAuthProvider]:
    if not isinstance(value, Mapping):
        raise ValueError("expected a table of providers")
    providers = {}
    for name, entry in value.items():
        if not isinstance(entry, Mapping):
            raise ValueError(f"provider {name}: expected a table")
        missing = [k for k in ("token_url", "client_id", "client_secret") if k not in entry]
        if missing:
            raise ValueError(f"provider {name}: missing {', '.join(missing)}")
        providers[str(name)] = OAuthProvider(
            name=str(name),
            token_url=str(entry["token_url"]),
            client_id=str(entry["client_id"]),
            client_secret=str(entry["client_secret"]),
        )
    return providers
