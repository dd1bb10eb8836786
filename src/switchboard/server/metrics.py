"""``/metrics``: the server's numbers in the Prometheus text format (``prometheus-client``).

Every server has its own :class:`~prometheus_client.CollectorRegistry` — never the library's
global one — so several servers in one process (the tests) do not share or collide.

Two kinds of metric (the table with every name is in docs/metrics.md):

- counted where they happen: ``switchboard_errors_total{type}`` (each ``error`` response sent,
  by its wire type: :meth:`ServerMetrics.count_errors`, called for every reply frame) and the
  ``switchboard_new_mail_latency_seconds`` histogram (fed by the dashboard's latency ring: IMAP
  ``EXISTS`` seen → the event handed to the fan-out that queues the frames);
- read from live state at each scrape (:class:`_LiveCollector`): accounts by state, sessions by
  interface, open JMAP push connections by kind, events announced, IMAP reconnects.

JMAP is counted as it happens too: every method call by method and outcome (``ok`` or the
method error's type), every request refused as a whole by its problem type, every Basic login
by outcome (:meth:`ServerMetrics.count_jmap_call` and the two next to it). Labels come from
closed sets — a method name the server does not serve is counted as ``other`` — so a client
sending made-up names cannot grow the registry. Nothing has to be updated on every change, and a
  scrape always shows the state as it is.

IMAP reconnects are read from each account's counters (``failures_<state>``: one per failed
watcher session, each followed by a reconnect after its backoff). Those counters live and die
with the account on this node, so :class:`RetainedTotals` keeps what an account had counted
once it is removed, moved to another node or restarted: the exported total never goes down.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Final, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from switchboard.engine.state import AccountState, AccountStatus
from switchboard.protocol.errors import ERROR_TYPES
from switchboard.protocol.messages import Response
from switchboard.protocol.methods import Interface
from switchboard.server.latency import LatencySample

__all__ = [
    "BASIC_OUTCOMES",
    "JMAP_REQUEST_PROBLEMS",
    "LATENCY_BUCKETS_S",
    "METRICS_CONTENT_TYPE",
    "RetainedTotals",
    "ServerMetrics",
]

LATENCY_BUCKETS_S: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
"""Histogram buckets, 0.5 ms to 10 s: a healthy server sits in the first few (a few ms)."""

METRICS_CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
"""The ``Content-Type`` of a ``/metrics`` answer (the text format, version 0.0.4)."""

_FAILURE_PREFIX = "failures_"

JMAP_REQUEST_PROBLEMS: Final = ("notJSON", "notRequest", "unknownCapability", "limit")
"""RFC 8620 §3.6.1's request-level problem types (``limit`` covers every limit)."""

BASIC_OUTCOMES: Final = (
    "cached",  # a login that succeeded less than a minute ago: no check
    "stored",  # the password is the stored one: no IMAP login
    "imap",  # checked by an IMAP login, which succeeded
    "refused",  # the IMAP server refused it
    "conflict",  # the account exists with settings this login cannot take over
    "backoff",  # the same wrong password again, within its backoff: 401 without IMAP
    "unknown",  # no such account here, and no jmap_imap_server to try it on
    "unavailable",  # the IMAP server or the store could not be reached: 503
)
"""The outcomes of a JMAP Basic login (``switchboard_jmap_basic_logins_total``)."""


class _Session(Protocol):
    @property
    def interface(self) -> Interface: ...


class RetainedTotals:
    """Per-account monotonic counters summed into totals that never go down.

    An account's counters vanish when it leaves this node and restart at 0 when it comes back;
    what it had counted is kept (carried), so the sum stays monotonic, as a Prometheus counter
    must be. Memory: one entry per (account, name) ever seen.
    """

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], int] = {}
        self._carried: collections.Counter[str] = collections.Counter()

    def update(self, current: Mapping[tuple[str, str], int]) -> dict[str, int]:
        """Take the counters now seen, by ``(account, name)``; return the totals by name."""
        for key, value in current.items():
            last = self._last.get(key, 0)
            if value < last:
                self._carried[key[1]] += last  # the account's counters restarted
            self._last[key] = value
        totals = collections.Counter(self._carried)
        for (_, name), value in self._last.items():
            totals[name] += value
        return dict(totals)


class _LiveCollector(Collector):
    """The metrics read from live state at each scrape."""

    def __init__(
        self,
        statuses: Callable[[], Iterable[AccountStatus]],
        sessions: Callable[[], Iterable[_Session]],
        events_announced: Callable[[], int],
        jmap_streams: Callable[[], Mapping[str, int]],
    ) -> None:
        self._jmap_streams = jmap_streams
        self._statuses = statuses
        self._sessions = sessions
        self._events_announced = events_announced
        self._reconnects = RetainedTotals()

    def collect(self) -> Iterator[Metric]:
        statuses = list(self._statuses())
        by_state = collections.Counter(s.state for s in statuses)
        accounts = GaugeMetricFamily(
            "switchboard_accounts", "Accounts watched by this server, by state.", labels=["state"]
        )
        for state in AccountState:
            accounts.add_metric([state.value], by_state[state])
        yield accounts

        by_interface = collections.Counter(s.interface for s in self._sessions())
        sessions = GaugeMetricFamily(
            "switchboard_sessions", "Open WebSocket sessions, by interface.", labels=["interface"]
        )
        for interface in Interface:
            sessions.add_metric([interface.name.lower()], by_interface[interface])
        yield sessions

        streams = GaugeMetricFamily(
            "switchboard_jmap_streams",
            "Open JMAP push connections, by kind (websocket: RFC 8887; eventsource).",
            labels=["kind"],
        )
        for kind, count in sorted(self._jmap_streams().items()):
            streams.add_metric([kind], count)
        yield streams

        yield CounterMetricFamily(
            "switchboard_events_announced",
            "newMessage events handed to this server's subscribers since it started.",
            value=self._events_announced(),
        )

        failures = {
            (status.account_id, name[len(_FAILURE_PREFIX) :]): value
            for status in statuses
            for name, value in status.counters.items()
            if name.startswith(_FAILURE_PREFIX)
        }
        totals = self._reconnects.update(failures)
        reconnects = CounterMetricFamily(
            "switchboard_imap_reconnects",
            "IMAP watcher sessions that failed and reconnect after a backoff, by the state they "
            "failed into (backoff: network or timeout; authFailed; error: protocol or store).",
            labels=["reason"],
        )
        for reason in sorted({"backoff", "authFailed", "error", *totals}):
            reconnects.add_metric([reason], totals.get(reason, 0))
        yield reconnects


class ServerMetrics:
    """One server's Prometheus registry and the metrics counted as things happen.

    Args:
        statuses: every account's status (the engine's ``statuses``).
        sessions: the open WebSocket sessions.
        events_announced: the number of ``newMessage`` events published so far (the hub's).
        jmap_streams: the open JMAP push connections by kind (``websocket``, ``eventsource``).
        jmap_methods: the JMAP method names served (the call counter's ``method`` label).
    """

    def __init__(
        self,
        *,
        statuses: Callable[[], Iterable[AccountStatus]],
        sessions: Callable[[], Iterable[_Session]],
        events_announced: Callable[[], int],
        jmap_streams: Callable[[], Mapping[str, int]] = dict,
        jmap_methods: Callable[[], Iterable[str]] = tuple,
    ) -> None:
        self.registry = CollectorRegistry()
        self._jmap_methods = jmap_methods
        self._jmap_calls = Counter(
            "switchboard_jmap_calls",
            "JMAP method calls, by method (other: a name not served) and outcome (ok, or the "
            "method error's type).",
            labelnames=["method", "outcome"],
            registry=self.registry,
        )
        self._jmap_request_errors = Counter(
            "switchboard_jmap_request_errors",
            "JMAP requests refused as a whole (HTTP 4xx or a WebSocket RequestError), by "
            "problem type.",
            labelnames=["type"],
            registry=self.registry,
        )
        for problem in JMAP_REQUEST_PROBLEMS:
            self._jmap_request_errors.labels(problem)
        self._basic_logins = Counter(
            "switchboard_jmap_basic_logins",
            "JMAP Basic logins, by outcome (see docs/metrics.md).",
            labelnames=["outcome"],
            registry=self.registry,
        )
        for outcome in BASIC_OUTCOMES:
            self._basic_logins.labels(outcome)
        self._errors = Counter(
            "switchboard_errors",
            "error responses sent to WebSocket peers, by wire error type.",
            labelnames=["type"],
            registry=self.registry,
        )
        for error_type in ERROR_TYPES:
            self._errors.labels(error_type)  # shown at 0, so rate() works from the first error
        self._latency = Histogram(
            "switchboard_new_mail_latency_seconds",
            "New mail: the IMAP server's EXISTS push seen -> the event handed to the fan-out.",
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.registry.register(
            _LiveCollector(statuses, sessions, events_announced, jmap_streams)
        )

    def count_errors(self, responses: Iterable[Response]) -> None:
        """Count the ``error`` responses among ``responses`` (one reply frame's)."""
        for response in responses:
            if response.name == "error" and isinstance(response.args, dict):
                self._errors.labels(str(response.args.get("type"))).inc()

    def count_jmap_call(self, method: str, outcome: str) -> None:
        """Count one JMAP method call: ``outcome`` is ``ok`` or the method error's type."""
        if method not in self._jmap_methods():
            method = "other"
        self._jmap_calls.labels(method, outcome).inc()

    def count_jmap_request_error(self, problem_type: str) -> None:
        """Count one JMAP request refused as a whole (``urn:…:notJSON`` → ``notJSON``)."""
        short = problem_type.rsplit(":", 1)[-1]
        self._jmap_request_errors.labels(
            short if short in JMAP_REQUEST_PROBLEMS else "other"
        ).inc()

    def count_basic_login(self, outcome: str) -> None:
        """Count one JMAP Basic login by outcome (one of :data:`BASIC_OUTCOMES`)."""
        self._basic_logins.labels(outcome if outcome in BASIC_OUTCOMES else "other").inc()

    def observe_latency(self, sample: LatencySample) -> None:
        """Add one new-mail latency sample (a :class:`LatencyRing` observer)."""
        self._latency.observe(sample.latency_ms / 1000.0)

    def render(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)
