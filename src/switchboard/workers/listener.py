"""A ready-made worker that reports the subject, sender and recipients of every new message.

Given a connected :class:`switchboard.aio.AsyncClient` (subscribed with ``watchAll`` or
``watchMailboxes``), :func:`listen` answers each ``newMessage`` push with one ``getMessages``
call for ``["subject", "from", "to"]`` and hands the :class:`~switchboard.workers.mail.NewMail`
to a callback, printing it by default::

    async with switchboard.aio.connect("ws://127.0.0.1:8080/workers") as sb:
        await sb.call("connect", {...})
        await sb.call("watchAll", {})
        await listen(sb)                # prints one line per new message until the socket ends

On the runner, :class:`ListenerHandler` prints the same line; there the push summary gives the
subject and sender, and only the recipients (and with ``--raw`` the source) are fetched. Values
are shown decoded: the server's ``subjectDecoded`` and ``decodedName`` companions are used where
it sends them (docs/protocol.md, "getMessages properties": ``subject`` and ``name`` stay raw).
"""

from __future__ import annotations

import email
import email.policy
import logging
from collections.abc import Callable
from email.message import EmailMessage
from typing import Final

from switchboard.client.aio import AsyncClient
from switchboard.client.errors import CommandError, ResponseTimeout
from switchboard.protocol.replies import message_items
from switchboard.protocol.wirejson import JsonObject
from switchboard.workers.mail import Address, NewMail, parse_addresses

__all__ = [
    "LISTENER_PROPERTIES",
    "LISTENER_RAW_PROPERTIES",
    "Address",
    "ListenerHandler",
    "format_message",
    "format_parsed",
    "listen",
    "parse_addresses",
]

logger = logging.getLogger("switchboard.workers.listener")

LISTENER_PROPERTIES: Final = ("subject", "from", "to")
"""The ``getMessages`` properties the listener reads."""


def format_message(mail: NewMail) -> str:
    """One line for a new message: ``account: "Subject" from A <a@x> to B <b@y>``."""
    subject = "(no subject)" if mail.subject is None else repr(mail.subject)
    sender = ", ".join(map(str, mail.sender)) or "(nobody)"
    recipients = ", ".join(map(str, mail.recipients)) or "(nobody)"
    prefix = f"{mail.account}: " if mail.account else ""
    return f"{prefix}{subject} from {sender} to {recipients}"


def _print_message(mail: NewMail) -> None:
    print(format_message(mail), flush=True)


async def listen(
    client: AsyncClient,
    on_message: Callable[[NewMail], object] | None = None,
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
        new = push.new_message
        if new is None:
            continue
        args: JsonObject = {"ids": [new.message_id], "properties": list(LISTENER_PROPERTIES)}
        if new.account is not None:  # /workers pushes name the account; /clients ones do not
            args["account"] = new.account
        try:
            reply = await client.call("getMessages", args, timeout_s=timeout_s)
        except (CommandError, ResponseTimeout) as exc:
            logger.warning("could not fetch %s: %s", new.message_id, exc)
            continue
        for item in message_items(reply):
            report(NewMail.of(new, item))
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
        raw: also print the parsed message (needs :data:`LISTENER_RAW_PROPERTIES`).
        write: where lines go (default: ``print``, flushed).
    """

    def __init__(self, *, raw: bool = False,
                 write: Callable[[str], object] | None = None) -> None:
        self.raw = raw
        self.write = write or (lambda line: print(line, flush=True))

    @property
    def properties(self) -> tuple[str, ...]:
        """What the handler reads (the runner fetches what the push summary lacks)."""
        return LISTENER_RAW_PROPERTIES if self.raw else LISTENER_PROPERTIES

    async def __call__(self, mail: NewMail) -> None:
        """Print one message."""
        self.write(format_message(mail))
        if self.raw and mail.raw is not None:
            self.write(format_parsed(mail.raw))
            self.write("")
