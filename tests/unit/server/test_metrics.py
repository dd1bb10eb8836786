"""ServerMetrics as Prometheus reads it: parsed back from the text format, one registry each."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from switchboard.engine.state import AccountState, AccountStatus
from switchboard.protocol.errors import ERROR_TYPES, NoAccount, RateLimited
from switchboard.protocol.messages import Command, Response
from switchboard.protocol.methods import Interface
from switchboard.server.latency import LatencyRing
from switchboard.server.metrics import LATENCY_BUCKETS_S, RetainedTotals, ServerMetrics


@dataclass
class Session:
    interface: Interface


@dataclass
class Live:
    statuses: list[AccountStatus] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    published: int = 0

    def metrics(self) -> ServerMetrics:
        return ServerMetrics(
            statuses=lambda: self.statuses,
            sessions=lambda: self.sessions,
            events_announced=lambda: self.published,
        )


def status(account: str, state: AccountState, **counters: int) -> AccountStatus:
    return AccountStatus(account, "imap.example.org", 993, state, None, (), counters)


def samples(metrics: ServerMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by (name, sorted labels), parsed from the text format."""
    text = metrics.render().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_accounts_sessions_and_events_are_read_live() -> None:
    live = Live()
    metrics = live.metrics()
    scrape = samples(metrics)
    # Every state and interface is present from the start, at 0.
    for state in AccountState:
        assert scrape[("switchboard_accounts", (("state", state.value),))] == 0
    assert scrape[("switchboard_sessions", (("interface", "workers"),))] == 0
    assert scrape[("switchboard_events_announced_total", ())] == 0
    live.statuses = [
        status("a", AccountState.IDLE),
        status("b", AccountState.IDLE),
        status("c", AccountState.AUTH_FAILED),
    ]
    live.sessions = [Session(Interface.WORKERS), Session(Interface.WORKERS)]
    live.sessions.append(Session(Interface.CLIENTS))
    live.published = 7
    scrape = samples(metrics)
    assert scrape[("switchboard_accounts", (("state", "idle"),))] == 2
    assert scrape[("switchboard_accounts", (("state", "authFailed"),))] == 1
    assert scrape[("switchboard_accounts", (("state", "backoff"),))] == 0
    assert scrape[("switchboard_sessions", (("interface", "workers"),))] == 2
    assert scrape[("switchboard_sessions", (("interface", "clients"),))] == 1
    assert scrape[("switchboard_events_announced_total", ())] == 7


def test_errors_are_counted_by_wire_type() -> None:
    metrics = Live().metrics()
    assert samples(metrics)[("switchboard_errors_total", (("type", "noAccount"),))] == 0
    assert len([k for k in samples(metrics) if k[0] == "switchboard_errors_total"]) == len(
        ERROR_TYPES
    )
    command = Command("getMessages", {"account": "x"}, 1, True)
    metrics.count_errors(
        [
            NoAccount("no such account").to_response(command),
            Response("messages", {"list": []}, 2),
            RateLimited("slow down").to_response(command),
            NoAccount("again").to_response(command),
        ]
    )
    scrape = samples(metrics)
    assert scrape[("switchboard_errors_total", (("type", "noAccount"),))] == 2
    assert scrape[("switchboard_errors_total", (("type", "rateLimited"),))] == 1
    assert scrape[("switchboard_errors_total", (("type", "serverError"),))] == 0


def test_the_latency_histogram_is_fed_by_the_latency_ring() -> None:
    metrics = Live().metrics()
    ring = LatencyRing(max_samples=2)
    ring.add_observer(metrics.observe_latency)
    for latency_s in (0.0004, 0.003, 0.003, 12.0):  # more than the ring keeps
        ring.record(100.0, 100.0 + latency_s)
    scrape = samples(metrics)
    name = "switchboard_new_mail_latency_seconds"
    assert scrape[(f"{name}_count", ())] == 4
    assert abs(scrape[(f"{name}_sum", ())] - 12.0064) < 1e-6
    assert scrape[(f"{name}_bucket", (("le", "0.0005"),))] == 1
    assert scrape[(f"{name}_bucket", (("le", "0.005"),))] == 3
    assert scrape[(f"{name}_bucket", (("le", "10.0"),))] == 3
    assert scrape[(f"{name}_bucket", (("le", "+Inf"),))] == 4
    assert LATENCY_BUCKETS_S[0] == 0.0005 and LATENCY_BUCKETS_S[-1] == 10.0


def test_imap_reconnects_never_go_down_when_accounts_leave_or_restart() -> None:
    live = Live()
    metrics = live.metrics()
    key = ("switchboard_imap_reconnects_total", (("reason", "backoff"),))
    auth = ("switchboard_imap_reconnects_total", (("reason", "authFailed"),))
    assert samples(metrics)[key] == 0
    live.statuses = [
        status("a", AccountState.BACKOFF, failures_backoff=3, connects=9),
        status("b", AccountState.AUTH_FAILED, failures_authFailed=2),
    ]
    scrape = samples(metrics)
    assert (scrape[key], scrape[auth]) == (3, 2)
    live.statuses = [status("b", AccountState.AUTH_FAILED, failures_authFailed=4)]  # a removed
    scrape = samples(metrics)
    assert (scrape[key], scrape[auth]) == (3, 4)
    # a comes back with fresh counters: its old count is kept, the new one added.
    live.statuses.append(status("a", AccountState.BACKOFF, failures_backoff=1))
    assert samples(metrics)[key] == 4


def test_retained_totals() -> None:
    totals = RetainedTotals()
    assert totals.update({("a", "x"): 2, ("b", "x"): 1}) == {"x": 3}
    assert totals.update({("a", "x"): 5}) == {"x": 6}
    assert totals.update({("a", "x"): 0, ("b", "y"): 1}) == {"x": 6, "y": 1}
    assert totals.update({("a", "x"): 2}) == {"x": 8, "y": 1}


def test_two_servers_in_one_process_do_not_share_metrics() -> None:
    first, second = Live(published=1).metrics(), Live(published=2).metrics()
    command = Command("ack", {}, 1, True)
    first.count_errors([NoAccount("x").to_response(command)])
    one, two = samples(first), samples(second)
    assert one[("switchboard_errors_total", (("type", "noAccount"),))] == 1
    assert two[("switchboard_errors_total", (("type", "noAccount"),))] == 0
    assert (one[("switchboard_events_announced_total", ())], two[
        ("switchboard_events_announced_total", ())
    ]) == (1, 2)


def test_jmap_calls_refusals_streams_and_logins_keep_closed_label_sets() -> None:
    streams = {"websocket": 2, "eventsource": 0}
    metrics = ServerMetrics(
        statuses=list,
        sessions=list,
        events_announced=lambda: 0,
        jmap_streams=lambda: streams,
        jmap_methods=lambda: ("Core/echo", "Email/get"),
    )
    scrape = samples(metrics)
    for problem in ("notJSON", "notRequest", "unknownCapability", "limit"):
        assert scrape[("switchboard_jmap_request_errors_total", (("type", problem),))] == 0
    assert scrape[("switchboard_jmap_basic_logins_total", (("outcome", "backoff"),))] == 0
    assert scrape[("switchboard_jmap_streams", (("kind", "websocket"),))] == 2
    metrics.count_jmap_call("Email/get", "ok")
    metrics.count_jmap_call("Email/get", "invalidArguments")
    for made_up in ("Evil/\u202e", "x" * 500, "Nope/get"):  # a client's names: one label
        metrics.count_jmap_call(made_up, "unknownMethod")
    metrics.count_jmap_request_error("urn:ietf:params:jmap:error:notJSON")
    metrics.count_jmap_request_error("urn:example:whatever")
    metrics.count_basic_login("backoff")
    metrics.count_basic_login("no such outcome")
    streams["eventsource"] = 1
    scrape = samples(metrics)
    calls = "switchboard_jmap_calls_total"
    assert scrape[(calls, (("method", "Email/get"), ("outcome", "ok")))] == 1
    assert scrape[(calls, (("method", "Email/get"), ("outcome", "invalidArguments")))] == 1
    assert scrape[(calls, (("method", "other"), ("outcome", "unknownMethod")))] == 3
    assert len([k for k in scrape if k[0] == calls]) == 3
    errors = "switchboard_jmap_request_errors_total"
    assert scrape[(errors, (("type", "notJSON"),))] == 1
    assert scrape[(errors, (("type", "other"),))] == 1
    logins = "switchboard_jmap_basic_logins_total"
    assert scrape[(logins, (("outcome", "backoff"),))] == 1
    assert scrape[(logins, (("outcome", "other"),))] == 1
    assert scrape[("switchboard_jmap_streams", (("kind", "eventsource"),))] == 1
