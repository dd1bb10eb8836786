"""Push (RFC 8620 §7): StateChange objects and the EventSource (text/event-stream) framing.

How it works: when an account's data changes, the server builds one :class:`StateChange`
(account id → type name → new state) and hands it to every push channel. An EventSource
connection (§7.3) first has its query parsed by :func:`parse_event_source_query` — ``types``
(``*`` or a comma-separated list), ``closeafter`` (``state`` or ``no``) and ``ping`` (seconds,
clamped to the server's range) — then receives :func:`state_event` frames, filtered to its
types with :meth:`StateChange.only`, and :func:`ping_event` frames when idle.

A query that breaks those rules gets :class:`EventSourceQueryError`, whose
:meth:`~EventSourceQueryError.problem` is a 400 problem details document (RFC 7807; JMAP
defines no type for this, so it is ``about:blank``).

Frames are ASCII (JSON with ``\\u`` escapes) and end with a blank line: jmapc's ``sseclient``
decodes the stream as Latin-1 when the Content-Type has no charset, and splits events at the
first blank line it sees.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl

from switchboard.jmap.jsonvalue import JsonObject, JsonValue, dumps

__all__ = [
    "EVENT_STREAM_CONTENT_TYPE",
    "EventSourceParams",
    "EventSourceQueryError",
    "StateChange",
    "parse_event_source_query",
    "parse_last_event_id",
    "ping_event",
    "state_event",
]

EVENT_STREAM_CONTENT_TYPE: Final = "text/event-stream; charset=utf-8"
"""The Content-Type of an EventSource response, charset spelled out for sseclient."""

_TYPE_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}", re.ASCII)
_PING: Final = re.compile(r"0|[1-9][0-9]{0,8}", re.ASCII)
_MAX_QUERY_FIELDS: Final = 16


@dataclass(frozen=True, slots=True)
class StateChange:
    """A StateChange object (RFC 8620 §7.1).

    Attributes:
        changed: account id → data type name (``"Email"``, ``"Mailbox"``…) → new state.
        push_state: RFC 8887 §4.3.5's ``pushState``, sent on a WebSocket only.
    """

    changed: Mapping[str, Mapping[str, str]]
    push_state: str | None = None

    def to_json(self) -> JsonObject:
        """The StateChange object, ``pushState`` included when set."""
        doc: JsonObject = {
            "@type": "StateChange",
            "changed": {account: dict(types) for account, types in self.changed.items()},
        }
        if self.push_state is not None:
            doc["pushState"] = self.push_state
        return doc

    def only(self, types: frozenset[str] | None) -> StateChange | None:
        """This change restricted to ``types`` (``None``: all); ``None`` if nothing is left."""
        if types is None:
            return self if self.changed else None
        changed = {
            account: {name: state for name, state in states.items() if name in types}
            for account, states in self.changed.items()
        }
        changed = {account: states for account, states in changed.items() if states}
        return StateChange(changed, self.push_state) if changed else None

    @classmethod
    def from_json(cls, value: JsonValue) -> StateChange:
        """Read a StateChange object (as a client, or a test, receives it).

        Raises:
            ValueError: ``value`` is not a StateChange object.
        """
        if not isinstance(value, dict) or value.get("@type") != "StateChange":
            raise ValueError("not a StateChange object")
        changed, push_state = value.get("changed"), value.get("pushState")
        if not isinstance(changed, dict) or not (push_state is None or isinstance(push_state, str)):
            raise ValueError("StateChange needs changed (and a string pushState if any)")
        result: dict[str, dict[str, str]] = {}
        for account, states in changed.items():
            if not isinstance(states, dict) or not all(
                isinstance(state, str) for state in states.values()
            ):
                raise ValueError(f"StateChange changed[{account!r}] is not a TypeState object")
            result[account] = {name: str(state) for name, state in states.items()}
        return cls(result, push_state)


class EventSourceQueryError(ValueError):
    """The EventSource URL's query breaks RFC 8620 §7.3; answered with HTTP 400."""

    def problem(self) -> JsonObject:
        """The 400 problem details document."""
        return {"type": "about:blank", "status": 400, "title": "Bad Request", "detail": str(self)}


@dataclass(frozen=True, slots=True)
class EventSourceParams:
    """A parsed EventSource query.

    Attributes:
        types: the data type names to push, or ``None`` for all (``types=*``).
        close_after_state: ``closeafter=state``: end the response after the first state event.
        ping_s: seconds between pings (already clamped), 0 for none. The ping event reports
            this value, so the client learns what the server chose (§7.3).
    """

    types: frozenset[str] | None
    close_after_state: bool
    ping_s: int


def parse_event_source_query(
    query: str, *, min_ping_s: int = 10, max_ping_s: int = 300
) -> EventSourceParams:
    """Parse the query string of an EventSource request.

    Absent parameters take the values that ask for least (``types=*``, ``closeafter=no``,
    ``ping=0``). Unknown parameters are ignored. A non-zero ``ping`` is clamped into
    ``[min_ping_s, max_ping_s]``, as §7.3 allows ("The server MAY modify the interval").

    Args:
        query: the raw query string, without the ``?``.
        min_ping_s: the shortest ping interval the server will keep.
        max_ping_s: the longest.

    Raises:
        EventSourceQueryError: a parameter is repeated or has a value outside its grammar,
            or the query has more than 16 fields.
    """
    try:
        pairs = parse_qsl(
            query, keep_blank_values=True, strict_parsing=False, max_num_fields=_MAX_QUERY_FIELDS
        )
    except ValueError:
        raise EventSourceQueryError("too many query parameters") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise EventSourceQueryError(f"{name} is given twice")
        params[name] = value

    raw_types = params.get("types", "*")
    types: frozenset[str] | None = None
    if raw_types != "*":
        names = raw_types.split(",")
        if not all(_TYPE_NAME.fullmatch(name) for name in names):
            raise EventSourceQueryError("types must be * or a comma-separated list of types")
        types = frozenset(names)

    closeafter = params.get("closeafter", "no")
    if closeafter not in ("state", "no"):
        raise EventSourceQueryError("closeafter must be state or no")

    raw_ping = params.get("ping", "0")
    if _PING.fullmatch(raw_ping) is None:
        raise EventSourceQueryError("ping must be a non-negative integer of seconds")
    ping = int(raw_ping)
    if ping:
        ping = max(min_ping_s, min(max_ping_s, ping))
    return EventSourceParams(types, closeafter == "state", ping)


def parse_last_event_id(header: str | None) -> str | None:
    """The ``Last-Event-ID`` a reconnecting EventSource sends, or ``None`` if absent or empty."""
    if header is None:
        return None
    value = header.strip()
    return value or None


def state_event(change: StateChange, event_id: str | None = None) -> bytes:
    """An EventSource ``state`` event carrying ``change`` (§7.3).

    Args:
        change: the change (its ``pushState`` is not sent: that is RFC 8887's).
        event_id: the ``id:`` field, so a reconnecting client sends it back as Last-Event-ID.

    Raises:
        ValueError: ``event_id`` holds a line break or NUL (it would break the framing).
    """
    lines = ["event: state"]
    if event_id is not None:
        if any(c in event_id for c in "\r\n\0"):
            raise ValueError("an event id cannot hold CR, LF or NUL")
        lines.append(f"id: {event_id}")
    body = StateChange(change.changed).to_json()
    lines.append("data: " + dumps(body, ascii_only=True))
    return ("\n".join(lines) + "\n\n").encode("ascii")


def ping_event(interval_s: int) -> bytes:
    """An EventSource ``ping`` event; §7.3: no ``id:`` (a ping must not set the event id)."""
    return f'event: ping\ndata: {{"interval":{int(interval_s)}}}\n\n'.encode("ascii")
