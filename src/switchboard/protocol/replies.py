"""Reply and push frames as values: what the server sends, decoded once for every client.

How it works (docs/protocol.md, "Frames" and "Pushes"): the server answers a request frame
with one reply frame, a JSON array of ``[name, args, tag]`` responses in command order, and
pushes events as frames of untagged ``[name, args]`` responses — the shape of a request
frame's commands, written by the
server with :meth:`Response.to_json <switchboard.protocol.messages.Response.to_json>`.
:func:`decode_responses` is its inverse: the :class:`~switchboard.protocol.messages.Response`
values of one frame, or a :class:`FrameFault` saying why the frame is unusable (not JSON, not an
array, empty, an element that is not a response). Nothing a peer sends makes it raise.

On top of that, the typed meaning of the responses a client acts on:

* :class:`NewMessagePush` — a ``newMessage`` push's arguments: ``mailboxId``, ``messageId``,
  ``account`` (``/workers`` only), ``eventId``, ``group`` (a group member's pushes) and
  ``summary`` (:class:`PushSummary`, for a subscriber that asked with ``"summary": true``);
* :func:`message_items` — the message objects of a ``messages`` response (``getMessages``).

Fields of the wrong JSON type read as absent (``None``), so an odd server is never fatal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from switchboard.protocol import wirejson
from switchboard.protocol.messages import Response
from switchboard.protocol.wirejson import JsonObject, JsonValue

__all__ = [
    "SUMMARY_PROPERTIES",
    "FrameFault",
    "NewMessagePush",
    "PushSummary",
    "decode_responses",
    "message_items",
]

SUMMARY_PROPERTIES: Final = frozenset({"subject", "from", "date", "size"})
"""The ``getMessages`` properties a push summary stands for (its ``from``: the first sender)."""


@dataclass(frozen=True, slots=True)
class FrameFault:
    """Why a received frame is not a usable array of responses."""

    reason: str


def _response(element: JsonValue) -> Response | None:
    if not isinstance(element, list) or len(element) not in (2, 3):
        return None
    name = element[0]
    if not isinstance(name, str):
        return None
    if len(element) == 3:
        return Response(name, element[1], element[2], tagged=True)
    return Response(name, element[1])


def decode_responses(data: str | bytes) -> tuple[Response, ...] | FrameFault:
    """Decode one frame the server sent (a reply or a push) into its responses, in order.

    Args:
        data: the WebSocket text message (UTF-8 ``bytes`` are accepted too).

    Returns:
        The responses (``tagged`` tells a reply's from a push's), or the fault.

    Raises:
        Nothing on purpose: any exception escaping this function is a bug.
    """
    try:
        frame = wirejson.loads(data)
    except ValueError as exc:
        return FrameFault(f"not JSON: {exc}")
    if not isinstance(frame, list):
        return FrameFault("not a JSON array")
    if not frame:
        # Only an empty request gets an empty reply, and clients never need to send one.
        return FrameFault("empty frame")
    responses = []
    for element in frame:
        response = _response(element)
        if response is None:
            return FrameFault("not an array of [name, args, tag?] responses")
        responses.append(response)
    return tuple(responses)


def _str(value: JsonValue) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: JsonValue) -> int | None:
    # Not a bool (True == 1 in Python, not on the wire) and not a float.
    return value if type(value) is int else None


@dataclass(frozen=True, slots=True)
class PushSummary:
    """A push's ``summary``: what most workers would otherwise ask ``getMessages`` for.

    Attributes:
        subject: the decoded Subject header (``None`` when absent).
        sender: the first sender as ``Name <address>`` or ``address`` (the wire's ``from``).
        date: the Date header.
        size: the message size in bytes.
    """

    subject: str | None = None
    sender: str | None = None
    date: str | None = None
    size: int | None = None

    @classmethod
    def from_json(cls, value: JsonValue) -> PushSummary | None:
        """Read a ``summary`` object; ``None`` for anything that is not an object."""
        if not isinstance(value, dict):
            return None
        get = value.get
        return cls(_str(get("subject")), _str(get("from")), _str(get("date")), _int(get("size")))

    def to_json(self) -> JsonObject:
        """The ``summary`` object as the server sends it."""
        return {"subject": self.subject, "from": self.sender, "date": self.date,
                "size": self.size}


@dataclass(frozen=True, slots=True)
class NewMessagePush:
    """The arguments of one ``newMessage`` push (docs/protocol.md, "Pushes").

    Attributes:
        message_id: ``NAME!UIDVALIDITY?UID``, what ``getMessages`` takes.
        mailbox_id: ``NAME!UIDVALIDITY`` (``None`` if the server sent none).
        account: the account's login name; pushes on ``/clients`` carry none.
        event_id: the server's durable event id, the key for resume and deduplication
            (``None`` from an old server).
        group: the consumer group the event was delivered through, if any.
        summary: subject, sender, date and size, when the subscriber asked for them.
    """

    message_id: str
    mailbox_id: str | None = None
    account: str | None = None
    event_id: int | None = None
    group: str | None = None
    summary: PushSummary | None = None

    @classmethod
    def from_args(cls, args: JsonValue) -> NewMessagePush | None:
        """Read a push's arguments; ``None`` unless they are an object with a ``messageId``."""
        if not isinstance(args, dict):
            return None
        message_id = args.get("messageId")
        if not isinstance(message_id, str):
            return None
        # Inline type checks: every push a worker gets goes through here.
        mailbox_id, account, group = args.get("mailboxId"), args.get("account"), args.get("group")
        event_id, summary = args.get("eventId"), args.get("summary")
        return cls(
            message_id,
            mailbox_id if isinstance(mailbox_id, str) else None,
            account if isinstance(account, str) else None,
            event_id if type(event_id) is int else None,
            group if isinstance(group, str) else None,
            None if summary is None else PushSummary.from_json(summary),
        )

    def to_args(self) -> JsonObject:
        """The push's arguments as the server sends them (keys it did not send left out)."""
        args: JsonObject = {}
        if self.mailbox_id is not None:
            args["mailboxId"] = self.mailbox_id
        args["messageId"] = self.message_id
        if self.account is not None:
            args["account"] = self.account
        if self.event_id is not None:
            args["eventId"] = self.event_id
        if self.summary is not None:
            args["summary"] = self.summary.to_json()
        if self.group is not None:
            args["group"] = self.group
        return args


def message_items(args: JsonValue) -> tuple[JsonObject, ...]:
    """The message objects of a ``messages`` response's arguments, ``{"list": [...]}``.

    Elements that are not objects are left out; anything else gives ``()``.
    """
    items = args.get("list") if isinstance(args, dict) else None
    if not isinstance(items, Sequence) or isinstance(items, str):
        return ()
    return tuple(item for item in items if isinstance(item, dict))
