"""A ready-made worker that reports the subject, sender and recipients of every new message.

Given a connected :class:`switchboard.aio.AsyncClient` (subscribed with ``watchAll`` or
``watchMailboxes``), :func:`listen` answers each ``newMessage`` push with one ``getMessages``
call for ``["subject", "from", "to"]`` and hands the result to a callback, printing it by
default::

    async with switchboard.aio.connect("ws://127.0.0.1:8080/workers") as sb:
        await sb.call("connect", {...})
        await sb.call("watchAll", {})
        await listen(sb)                # prints one line per new message until the socket ends

Values are shown decoded: the server's ``subjectDecoded`` and ``decodedName`` companions are
used where it sends them (docs/protocol.md, "getMessages properties": ``subject`` and ``name``
stay raw).
"""

from __future__ import annotations

import email
import email.policy
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Final

from switchboard.client.aio import AsyncClient
from switchboard.client.errors import CommandError, ResponseTimeout

__all__ = [
    "LISTENER_PROPERTIES",
    "LISTENER_RAW_PROPERTIES",
    "Address",
    "ListenerHandler",
    "ReceivedMessage",
    "format_message",
    "format_parsed",
    "listen",
    "parse_addresses",
]

logger = logging.getLogger("switchboard.workers.listener")

LISTENER_PROPERTIES: Final = ("subject", "from", "to")
"""The ``getMessages`` properties the listener asks for."""


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox of a From or To header; ``name`` is ``""`` when the header has none."""

    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """A new message as the listener saw it: its push and the fetched headers."""

    account: str | None
    message_id: str
    subject: str | None
    sender: tuple[Address, ...]
    recipients: tuple[Address, ...]
    event_id: int | None = None


def parse_addresses(value: Any) -> tuple[Address, ...]:
    """Read a ``getMessages`` address list (``[{"name", "email"}]`` or ``null``).

    Malformed entries are skipped rather than raised: a listener should not die because one
    message has an odd header.
    """
    if not isinstance(value, list):
        return ()
    out = []
    for entry in value:
        if not isinstance(entry, Mapping):
            continue
        name = entry.get("decodedName", entry.get("name"))
        email = entry.get("email")
        if isinstance(email, str):
            out.append(Address(name if isinstance(name, str) else "", email))
    return tuple(out)


def message_from_reply(push_args: Mapping[str, Any], item: Mapping[str, Any]) -> ReceivedMessage:
    """Combine a ``newMessage`` push's args and one ``getMessages`` list item."""
    subject = item.get("subjectDecoded", item.get("subject"))
    account = push_args.get("account")
    event_id = push_args.get("eventId")
    return ReceivedMessage(
        account=account if isinstance(account, str) else None,
        message_id=str(item.get("messageId", push_args.get("messageId", ""))),
        subject=subject if isinstance(subject, str) else None,
        sender=parse_addresses(item.get("from")),
        recipients=parse_addresses(item.get("to")),
        event_id=event_id if isinstance(event_id, int) else None,
    )


def format_message(message: ReceivedMessage) -> str:
    """One line for a new message: ``account: "Subject" from A <a@x> to B <b@y>``."""
    subject = "(no subject)" if message.subject is None else repr(message.subject)
    sender = ", ".join(map(str, message.sender)) or "(nobody)"
    recipients = ", ".join(map(str, message.recipients)) or "(nobody)"
    prefix = f"{message.account}: " if message.account else ""
    return f"{prefix}{subject} from {sender} to {recipients}"


def _print_message(message: ReceivedMessage) -> None:
    print(format_message(message), flush=True)


async def listen(
    client: AsyncClient,
    on_message: Callable[[ReceivedMessage], object] | None = None,
    *,
    timeout_s: float | None = None,
) -> int:
    """Report every new message until the connection ends; return how many were reported.

    A message that cannot be fetched (deleted meanwhile, the IMAP server briefly gone) is
    logged at WARNING and skipped; the listener keeps going.

    Args:
        client: a connected client whose session is subscribed to ``newMessage``.
        on_message: called with each message (default: print :func:`format_message`).
        timeout_s: limit for each ``getMessages`` call (default: the client's).

    Raises:
        ConnectionClosed: the connection closed while a ``getMessages`` call was pending.
    """
    report = on_message or _print_message
    reported = 0
    async for push in client.events():
        if push.name != "newMessage" or not isinstance(push.args, Mapping):
            continue
        args: dict[str, Any] = {
            "ids": [push.args.get("messageId")],
            "properties": list(LISTENER_PROPERTIES),
        }
        if "account" in push.args:  # /workers pushes name the account; /clients ones do not
            args["account"] = push.args["account"]
        try:
            reply = await client.call("getMessages", args, timeout_s=timeout_s)
        except (CommandError, ResponseTimeout) as exc:
            logger.warning("could not fetch %s: %s", push.args.get("messageId"), exc)
            continue
        items = reply.get("list") if isinstance(reply, Mapping) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, Mapping):
                report(message_from_reply(push.args, item))
                reported += 1
    return reported


LISTENER_RAW_PROPERTIES: Final = (*LISTENER_PROPERTIES, "raw")
"""The ``getMessages`` properties the listener asks for with ``--raw``."""


def format_parsed(raw: str) -> str:
    """The parsed message for ``--raw``: decoded headers, the text body, one line per attachment."""
    # The wire form has CRLF line ends; printed text wants "\n".
    message = email.message_from_string(raw.replace("\r\n", "\n"), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    lines = [f"{name}: {value}" for name, value in message.items()]
    body = message.get_body(preferencelist=("plain", "html"))
    lines.append("")
    if body is not None:
        lines.append(str(body.get_content()).rstrip("\n"))
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        lines.append(f"[attachment: {part.get_filename() or '(no name)'} "
                     f"({part.get_content_type()}, {size} bytes)]")
    return "\n".join(lines)


class ListenerHandler:
    """The runner's handler for the listener: print each message (and with ``raw``, its parse).

    Args:
        raw: also print the parsed message (needs :data:`LISTENER_RAW_PROPERTIES` fetched).
        write: where lines go (default: ``print``, flushed).
    """

    def __init__(self, *, raw: bool = False,
                 write: Callable[[str], object] | None = None) -> None:
        self.raw = raw
        self.write = write or (lambda line: print(line, flush=True))

    @property
    def properties(self) -> tuple[str, ...]:
        """What the runner must fetch for this handler."""
        return LISTENER_RAW_PROPERTIES if self.raw else LISTENER_PROPERTIES

    async def __call__(self, event: Any) -> None:
        """Print one event (a runner ``WorkerEvent`` with its fetched ``message``)."""
        item = event.message if isinstance(event.message, Mapping) else {}
        self.write(format_message(message_from_reply(event.args, item)))
        raw = item.get("raw")
        if self.raw and isinstance(raw, str):
            self.write(format_parsed(raw))
            self.write("")
