"""``NewMail``: one new message as every worker sees it, built once by the runner from its push.

A ``newMessage`` push (:class:`~switchboard.protocol.replies.NewMessagePush`) names the message
and, when the worker subscribed with ``"summary": true``, carries its subject, first sender, date
and size. A worker that needs more (the recipients, a preview, the raw source) has the runner
fetch those with ``getMessages``; :class:`NewMail` holds both and answers each question from the
fetched properties when they were fetched, else from the summary — so a worker reads
``mail.subject`` or ``mail.sender`` the same way whichever the runner used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from switchboard.protocol.replies import NewMessagePush, PushSummary
from switchboard.protocol.wirejson import JsonValue

__all__ = ["Address", "NewMail", "parse_address", "parse_addresses"]


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox of a From or To header; ``name`` is ``""`` when the header has none."""

    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


def parse_addresses(value: JsonValue) -> tuple[Address, ...]:
    """Read a ``getMessages`` address list (``[{"name", "email", "decodedName"?}]`` or ``null``).

    Malformed entries are skipped rather than raised: a worker should not die because one
    message has an odd header.
    """
    if not isinstance(value, list):
        return ()
    out = []
    for entry in value:
        if not isinstance(entry, dict):
            continue
        name = entry.get("decodedName", entry.get("name"))
        email = entry.get("email")
        if isinstance(email, str):
            out.append(Address(name if isinstance(name, str) else "", email))
    return tuple(out)


def parse_address(text: str) -> Address:
    """Read a summary's sender, ``Name <address>`` or ``address`` (the server's rendering)."""
    name, bracket, rest = text.rpartition(" <")
    if bracket and rest.endswith(">"):
        return Address(name.strip(), rest[:-1])
    return Address("", text.strip("<>"))


def _text(value: JsonValue) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class NewMail:
    """One new message: its push, and the ``getMessages`` properties fetched for it, if any.

    Attributes:
        account: the account (login name) the push names, ``None`` on /clients.
        message_id: the ``N!V?uid`` id of the message.
        event_id: the server's event id (the dedup key), ``None`` from an old server.
        mailbox_id: the ``N!V`` id of its mailbox, ``""`` if the push had none.
        properties: the ``getMessages`` object fetched for it (empty if nothing was fetched).
        summary: the push's summary, when the server sent one.
        group: the consumer group the event came through, if any.
    """

    account: str | None
    message_id: str
    event_id: int | None = None
    mailbox_id: str = ""
    properties: Mapping[str, JsonValue] = field(default_factory=dict)
    summary: PushSummary | None = None
    group: str | None = None

    @classmethod
    def of(cls, push: NewMessagePush, properties: Mapping[str, JsonValue] | None = None,
           ) -> NewMail:
        """The new mail a push announces, with the properties fetched for it."""
        return cls(push.account, push.message_id, push.event_id, push.mailbox_id or "",
                   properties or {}, push.summary, push.group)

    @property
    def key(self) -> str:
        """A stable id for this delivery: the event id when known, else account and message."""
        if self.event_id is not None:
            return f"sb-{self.event_id}"
        return f"sb-{self.account or ''}-{self.message_id}"

    @property
    def subject(self) -> str | None:
        """The decoded subject (``None`` when the message has none, or nobody asked)."""
        props = self.properties
        if "subject" in props or "subjectDecoded" in props:
            return _text(props.get("subjectDecoded", props.get("subject")))
        return None if self.summary is None else self.summary.subject

    @property
    def sender(self) -> tuple[Address, ...]:
        """The From addresses (from a summary: the first one)."""
        if "from" in self.properties or self.summary is None or self.summary.sender is None:
            return parse_addresses(self.properties.get("from"))
        return (parse_address(self.summary.sender),)

    @property
    def recipients(self) -> tuple[Address, ...]:
        """The To addresses (fetched only: a summary has none)."""
        return parse_addresses(self.properties.get("to"))

    @property
    def date(self) -> str | None:
        """The Date header as sent."""
        if "date" in self.properties or self.summary is None:
            return _text(self.properties.get("date"))
        return self.summary.date

    @property
    def size(self) -> int | None:
        """The size in bytes."""
        if "size" in self.properties or self.summary is None:
            size = self.properties.get("size")
            return size if type(size) is int else None
        return self.summary.size

    @property
    def preview(self) -> str | None:
        """The first characters of the text (fetched only)."""
        return _text(self.properties.get("preview"))

    @property
    def raw(self) -> str | None:
        """The raw source (fetched only)."""
        return _text(self.properties.get("raw"))
