"""Tunable limits and timings of the engine, as one immutable value the server passes in.

Every duration is in seconds and its name ends in ``_s``; every count names its unit. A provider
profile (see :mod:`switchboard.engine.providers`) may lower ``idle_refresh_s`` for its hosts.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EngineSettings"]


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How the engine connects, waits, backs off and throttles.

    Attributes:
        connect_timeout_s: TCP connect + TLS handshake + greeting.
        command_timeout_s: any single IMAP command, including LOGIN and DONE.
        idle_refresh_s: re-issue IDLE at least this often (RFC 2177 asks for < 29 minutes;
            NAT boxes and providers want less), checking the mailbox's identity each time. A
            provider profile may lower it.
        probe_quiet_s: an IDLE connection from which nothing arrived for this long is probed
            (DONE and a new IDLE in one write: one small round trip), so a peer that went
            silent with the socket still open is noticed within ``probe_quiet_s +
            liveness_grace_s`` (55 s by default, inside the 60 s the docs promise, with room
            for the reconnect). The probe's cost grows with the number of connections over
            this interval: ~2 % of one core at 10,000 accounts (docs/benchmarks.md). A
            value at or above ``idle_refresh_s`` leaves the refresh as the only probe.
            Servers without IDLE are polled (NOOP) this often.
        liveness_grace_s: how long a liveness probe (DONE + IDLE, a refresh's DONE, NOOP) may
            go unanswered before the connection is declared dead and reopened.
        backoff_initial_s / backoff_cap_s: reconnect delay after a network or server failure,
            doubling (with jitter) up to the cap.
        auth_backoff_initial_s / auth_backoff_cap_s: the slower schedule after the server
            refused our credentials (never a hot loop on a wrong password).
        connect_rate_per_s: new connections per second over the whole engine.
        connect_rate_per_host_per_s: new connections per second to any one IMAP host.
        fetch_batch: at most this many UIDs per UID FETCH (and per ``record`` call).
        summaries: fetch the envelope's header fields and RFC822.SIZE with new UIDs and fill
            ``NewMessage.summary`` (``switchboard.mail.summary``).
        stop_timeout_s: bound on LOGOUT of every connection when the engine stops.
        command_idle_close_s: an account's command connection (LIST, STATUS, getMessages...)
            is logged out after this long unused; the next command opens a new one. Idle
            accounts then hold only their IDLE connections (half the memory and descriptors).
            10 s keeps 10,000 accounts set up in a burst under 64 KB each (docs/benchmarks.md);
            a worker that fetches steadily keeps it warm, and after a quiet spell the next
            command pays one TLS handshake and login.
    """

    connect_timeout_s: float = 15.0
    command_timeout_s: float = 30.0
    idle_refresh_s: float = 600.0
    probe_quiet_s: float = 45.0
    liveness_grace_s: float = 10.0
    backoff_initial_s: float = 1.0
    backoff_cap_s: float = 600.0
    auth_backoff_initial_s: float = 60.0
    auth_backoff_cap_s: float = 3600.0
    connect_rate_per_s: float = 50.0
    connect_rate_per_host_per_s: float = 10.0
    fetch_batch: int = 500
    summaries: bool = True
    stop_timeout_s: float = 5.0
    command_idle_close_s: float = 10.0

    def __post_init__(self) -> None:
        for name in (
            "connect_timeout_s",
            "command_timeout_s",
            "idle_refresh_s",
            "probe_quiet_s",
            "liveness_grace_s",
            "backoff_cap_s",
            "auth_backoff_cap_s",
            "connect_rate_per_s",
            "connect_rate_per_host_per_s",
            "stop_timeout_s",
            "command_idle_close_s",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if self.backoff_initial_s < 0 or self.auth_backoff_initial_s < 0:
            raise ValueError("initial backoff must not be negative")
        if self.fetch_batch < 1:
            raise ValueError("fetch_batch must be at least 1")

    @property
    def dead_connection_bound_s(self) -> float:
        """How long a connection that stopped answering (socket still open) may go unnoticed.

        While idling: quiet for ``probe_quiet_s`` (or until the refresh, if sooner), then the
        probe's ``liveness_grace_s``. While a command is in flight: ``command_timeout_s``.
        """
        idle_s = min(self.probe_quiet_s, self.idle_refresh_s) + self.liveness_grace_s
        return max(idle_s, self.command_timeout_s)
