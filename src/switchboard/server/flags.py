"""The ``switchboard serve`` flags: one per setting of :class:`ServerSettings`, from one table.

Each setting is a flag (``imap_ca_file`` is ``--imap-ca-file``), an environment variable
(``SWITCHBOARD_IMAP_CA_FILE``) and a TOML key (``imap_ca_file``). Two are not flags, on purpose:
``secret_key`` (a command line is visible to every user in ``ps``) and ``oauth_providers`` (a
table of tables). Flag values go to :func:`~switchboard.server.config.load_settings` as text,
so a bad value gets the same message from every source.

The table groups the flags for ``--help``; a setting missing from it still gets a flag (with a
plain help text), and a unit test makes sure none is missing.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from switchboard.server.config import ServerSettings

__all__ = ["NOT_FLAGS", "SETTING_GROUPS", "SettingDoc", "add_setting_flags", "flag_overrides"]


@dataclass(frozen=True, slots=True)
class SettingDoc:
    """One setting as ``serve --help`` shows it.

    Attributes:
        name: the :class:`ServerSettings` field.
        help: what it does, in a few words.
        flag: the flag, when it is not ``--`` plus the name with dashes.
        metavar: the value's placeholder in ``--help``.
    """

    name: str
    help: str
    flag: str | None = None
    metavar: str | None = None

    @property
    def option(self) -> str:
        """The command-line flag."""
        return self.flag or "--" + self.name.replace("_", "-")


SETTING_GROUPS: Final[tuple[tuple[str, tuple[SettingDoc, ...]], ...]] = (
    (
        "listening",
        (
            SettingDoc("host", "address to listen on", metavar="ADDRESS"),
            SettingDoc("port", "port to listen on (0: any free port)", metavar="PORT"),
            SettingDoc(
                "tokens",
                "require this auth token on every socket (repeatable; prefer "
                "SWITCHBOARD_TOKENS or `switchboard tokens create`: a command line shows in ps)",
                flag="--token",
                metavar="TOKEN",
            ),
            SettingDoc("log_level", "DEBUG, INFO, WARNING or ERROR", metavar="LEVEL"),
            SettingDoc(
                "tls_cert",
                "PEM certificate chain: serve wss:// and https:// on the port (with --tls-key)",
                metavar="FILE",
            ),
            SettingDoc("tls_key", "PEM private key of --tls-cert, unencrypted", metavar="FILE"),
        ),
    ),
    (
        "JMAP",
        (
            SettingDoc(
                "jmap_imap_server",
                "IMAP server (implicit TLS) a JMAP Basic login of a new account is tried on; "
                "unset: Basic reaches only accounts already connected (docs/jmap.md)",
                metavar="HOST[:PORT]",
            ),
        ),
    ),
    (
        "state",
        (
            SettingDoc("data_dir", "where the SQLite store and the key file live", metavar="DIR"),
            SettingDoc(
                "store_url",
                "postgresql://… to share the state with other nodes (default: SQLite in the "
                "data dir; docs/scaling.md)",
                flag="--store",
                metavar="URL",
            ),
            SettingDoc("node_id", "this node's name in a cluster (default: host name + suffix)"),
            SettingDoc(
                "lease_ttl_s",
                "seconds before a dead node's accounts move to the others",
                metavar="SECONDS",
            ),
        ),
    ),
    (
        "IMAP",
        (
            SettingDoc(
                "imap_ca_file", "extra CA certificate to trust for IMAP TLS", metavar="FILE"
            ),
            SettingDoc("imap_verify_tls", "verify IMAP servers' certificates"),
            SettingDoc("imap_allow_plain", "allow plain-text IMAP beyond loopback"),
            SettingDoc(
                "imap_connect_rate_per_s", "new IMAP connections per second", metavar="RATE"
            ),
            SettingDoc(
                "imap_connect_rate_per_host_per_s",
                "new IMAP connections per second to one host",
                metavar="RATE",
            ),
            SettingDoc("imap_idle_refresh_s", "IDLE re-issue interval", metavar="SECONDS"),
            SettingDoc(
                "imap_probe_quiet_s",
                "an IDLE quiet this long is probed (DONE + IDLE)",
                metavar="SECONDS",
            ),
            SettingDoc(
                "imap_liveness_grace_s",
                "how long a probe may go unanswered before the connection counts as dead",
                metavar="SECONDS",
            ),
            SettingDoc(
                "imap_backoff_initial_s",
                "first reconnect delay after a network failure (doubles, with jitter)",
                metavar="SECONDS",
            ),
            SettingDoc("imap_backoff_cap_s", "longest reconnect delay", metavar="SECONDS"),
            SettingDoc(
                "imap_auth_backoff_initial_s",
                "first retry delay after the server refused the credentials",
                metavar="SECONDS",
            ),
            SettingDoc(
                "imap_auth_backoff_cap_s",
                "longest retry delay after refused credentials",
                metavar="SECONDS",
            ),
            SettingDoc(
                "imap_command_idle_close_s",
                "an account's command connection closes after this long unused",
                metavar="SECONDS",
            ),
        ),
    ),
    (
        "limits",
        (
            SettingDoc("max_frame_bytes", "largest WebSocket frame accepted", metavar="BYTES"),
            SettingDoc("max_batch", "most commands in one frame", metavar="N"),
            SettingDoc(
                "max_pending_frames",
                "frames queued for a slow reader before its socket closes",
                metavar="N",
            ),
            SettingDoc("rate_limit_per_s", "commands per second per connection", metavar="RATE"),
            SettingDoc("rate_limit_burst", "burst of commands per connection", metavar="N"),
            SettingDoc(
                "group_visibility_timeout_s",
                "how long a group member may hold an event unacknowledged",
                metavar="SECONDS",
            ),
            SettingDoc(
                "group_max_in_flight",
                "unacknowledged events one group member may hold",
                metavar="N",
            ),
        ),
    ),
)
"""The flags of ``switchboard serve``, grouped as ``--help`` shows them."""

NOT_FLAGS: Final[Mapping[str, str]] = {
    "secret_key": "a command line is visible to other users (ps): environment or file only",
    "oauth_providers": "a table per provider: TOML file only",
}
"""Settings that have no flag, and why."""


def _is_bool(name: str) -> bool:
    return isinstance(getattr(ServerSettings(), name), bool)


def _default_text(name: str) -> str:
    if name in ("node_id", "store_url"):
        return ""  # a computed name, or SQLite: the help text says so
    value = getattr(ServerSettings(), name)
    if value is None or value == ():
        return ""
    if isinstance(value, bool):
        return " (default: on)" if value else " (default: off)"
    if isinstance(value, float):
        return f" (default: {value:g})"
    return f" (default: {value})"


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """Add a flag for every setting but :data:`NOT_FLAGS`, in :data:`SETTING_GROUPS`' groups."""
    documented = {doc.name for _, docs in SETTING_GROUPS for doc in docs}
    rest = tuple(
        SettingDoc(f.name, f.name.replace("_", " "))
        for f in dataclasses.fields(ServerSettings)
        if f.name not in documented and f.name not in NOT_FLAGS
    )
    groups = SETTING_GROUPS + ((("other", rest),) if rest else ())
    for title, docs in groups:
        group = parser.add_argument_group(f"{title} settings")
        for doc in docs:
            help_text = doc.help + _default_text(doc.name)
            if _is_bool(doc.name):
                group.add_argument(
                    doc.option,
                    dest=doc.name,
                    action=argparse.BooleanOptionalAction,
                    default=None,
                    help=help_text,
                )
            elif doc.name == "tokens":
                group.add_argument(
                    doc.option, dest=doc.name, action="append", metavar=doc.metavar,
                    help=help_text,
                )  # fmt: skip
            else:
                group.add_argument(
                    doc.option, dest=doc.name, metavar=doc.metavar, help=help_text
                )


def flag_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line, by name (``None`` for those not given)."""
    return {
        f.name: getattr(args, f.name, None)
        for f in dataclasses.fields(ServerSettings)
        if f.name not in NOT_FLAGS
    }
