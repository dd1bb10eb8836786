"""Email/set (RFC 8621 §4.6) arguments and update patches, as pure values.

How it works: :func:`parse_email_set` checks the method's arguments (``accountId``,
``ifInState``, ``create``, ``update``, ``destroy``) and turns each update's PatchObject
(RFC 8620 §5.3) into an :class:`EmailUpdate`, or the :class:`~switchboard.jmap.errors.SetError`
that id gets. Only the two mutable properties an IMAP server can carry are accepted:

- ``keywords`` (the whole map) or ``keywords/<keyword>`` (``true`` adds, ``null`` removes);
- ``mailboxIds`` (the whole map) or ``mailboxIds/<id>`` (``true`` adds, ``null`` removes).

A path into another property is ``invalidProperties`` (the others are immutable); a path that
is not a property, or a patch that sets a property *and* a path inside it, is
``invalidPatch``. The server then maps an update onto IMAP flags and a move.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.jmap.datatypes import is_valid_id
from switchboard.jmap.errors import (
    InvalidArguments,
    RequestTooLarge,
    SetError,
    SetInvalidPatch,
    SetInvalidProperties,
    describe,
)
from switchboard.jmap.jsonvalue import JsonObject, JsonValue
from switchboard.jmap.keywords import InvalidKeywordError, normalise_keyword

__all__ = ["EmailSetArguments", "EmailUpdate", "parse_email_set", "parse_update"]

_MUTABLE = ("keywords", "mailboxIds")
_EMAIL_PROPERTIES = frozenset({
    "id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt", "messageId",
    "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo", "subject",
    "sentAt", "hasAttachment", "preview", "bodyStructure", "bodyValues", "textBody",
    "htmlBody", "attachments", "headers",
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class EmailUpdate:
    """What one update asks, in JMAP terms (keywords lowercased, mailbox ids as given).

    ``keywords``/``mailbox_ids`` are the whole new value when the patch set the property,
    else ``None``, and then ``*_add``/``*_remove`` hold the per-path changes.
    """

    keywords: frozenset[str] | None = None
    keywords_add: frozenset[str] = frozenset()
    keywords_remove: frozenset[str] = frozenset()
    mailbox_ids: frozenset[str] | None = None
    mailbox_add: frozenset[str] = frozenset()
    mailbox_remove: frozenset[str] = frozenset()

    def mailboxes_after(self, current: frozenset[str]) -> frozenset[str]:
        """The email's mailbox ids once the update is applied to ``current``."""
        if self.mailbox_ids is not None:
            return self.mailbox_ids
        return (current | self.mailbox_add) - self.mailbox_remove

    @property
    def touches_keywords(self) -> bool:
        """Whether the update changes keywords at all."""
        return self.keywords is not None or bool(self.keywords_add or self.keywords_remove)


@dataclass(frozen=True, slots=True)
class EmailSetArguments:
    """Email/set's arguments: the account, ``ifInState``, and each id's parsed update."""

    account_id: str
    if_in_state: str | None
    create: tuple[str, ...]
    update: dict[str, EmailUpdate | SetError]
    destroy: tuple[str, ...]


def _unescape(segment: str) -> str:
    # RFC 6901: "~1" is "/", "~0" is "~" (in that order).
    return segment.replace("~1", "/").replace("~0", "~")


def _true_map(value: JsonValue, name: str, *, keyword: bool) -> frozenset[str]:
    if not isinstance(value, dict):
        raise SetInvalidProperties([name], f"{name} must be an object")
    found: set[str] = set()
    for key, flag in value.items():
        if flag is not True:
            raise SetInvalidProperties([name], f"every value of {name} must be true")
        found.add(_key(key, name, keyword=keyword))
    return frozenset(found)


def _key(key: str, path: str, *, keyword: bool) -> str:
    if keyword:
        try:
            return normalise_keyword(key)
        except InvalidKeywordError as exc:
            raise SetInvalidProperties([path], str(exc)) from None
    if not is_valid_id(key):
        raise SetInvalidProperties([path], f"{describe(key)} is not a mailbox id")
    return key


def parse_update(patch: JsonValue) -> EmailUpdate:
    """One update's PatchObject as an :class:`EmailUpdate`.

    Raises:
        SetInvalidPatch: not an object, a path into nothing, or a property set together with
            a path inside it.
        SetInvalidProperties: a change to an immutable property, or a bad value or key.
    """
    if not isinstance(patch, dict):
        raise SetInvalidPatch("a patch must be an object")
    whole: dict[str, frozenset[str]] = {}
    add: dict[str, set[str]] = {name: set() for name in _MUTABLE}
    remove: dict[str, set[str]] = {name: set() for name in _MUTABLE}
    for path, value in patch.items():
        head, slash, rest = path.partition("/")
        head = _unescape(head)
        if head not in _EMAIL_PROPERTIES:
            raise SetInvalidPatch(f"{describe(path)} names no Email property")
        if head not in _MUTABLE:
            raise SetInvalidProperties([head], f"{head} cannot be changed")
        keyword = head == "keywords"
        if not slash:
            whole[head] = _true_map(value, head, keyword=keyword)
            continue
        if "/" in rest:
            raise SetInvalidPatch(f"{describe(path)} goes deeper than a {head} entry")
        key = _key(_unescape(rest), path, keyword=keyword)
        if value is True:
            add[head].add(key)
        elif value is None:
            remove[head].add(key)
        else:
            raise SetInvalidProperties([path], "an entry is set with true or removed with null")
    for name in whole:
        if add[name] or remove[name]:
            raise SetInvalidPatch(f"the patch sets {name} and a path inside it")
    if "mailboxIds" in whole and not whole["mailboxIds"]:
        raise SetInvalidProperties(["mailboxIds"], "an Email belongs to at least one mailbox")
    return EmailUpdate(
        whole.get("keywords"),
        frozenset(add["keywords"]),
        frozenset(remove["keywords"]),
        whole.get("mailboxIds"),
        frozenset(add["mailboxIds"]),
        frozenset(remove["mailboxIds"]),
    )


def _ids(value: JsonValue, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(is_valid_id(i) for i in value):
        raise InvalidArguments(f"{name} must be a list of Ids or null")
    return tuple(str(i) for i in value)


def parse_email_set(arguments: JsonObject, *, max_objects: int) -> EmailSetArguments:
    """Read Email/set's arguments (the ``accountId`` is checked by the caller).

    Raises:
        InvalidArguments: a malformed ``ifInState``, ``create``, ``update`` or ``destroy``.
        RequestTooLarge: more than ``max_objects`` creates, updates and destroys together.
    """
    account = arguments.get("accountId")
    if_in_state = arguments.get("ifInState")
    if if_in_state is not None and not isinstance(if_in_state, str):
        raise InvalidArguments("ifInState must be a string or null")
    create = arguments.get("create")
    if create is not None and not isinstance(create, dict):
        raise InvalidArguments("create must be an object or null")
    update = arguments.get("update")
    if update is not None and not isinstance(update, dict):
        raise InvalidArguments("update must be an object or null")
    if update is not None and not all(is_valid_id(key) for key in update):
        raise InvalidArguments("the keys of update must be Ids")
    destroy = _ids(arguments.get("destroy"), "destroy")
    count = len(create or {}) + len(update or {}) + len(destroy)
    if count > max_objects:
        raise RequestTooLarge(f"at most {max_objects} objects per /set")
    updates: dict[str, EmailUpdate | SetError] = {}
    for email, patch in (update or {}).items():
        try:
            updates[email] = parse_update(patch)
        except SetError as error:
            updates[email] = error
    return EmailSetArguments(
        str(account), if_in_state, tuple(create or {}), updates, destroy
    )

