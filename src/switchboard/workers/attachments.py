"""Save each attachment of new messages under ``account/YYYY-MM-DD/filename``, storage pluggable.

The guide's Dropbox example, reshaped: :class:`AttachmentSaver` fetches a message's ``raw``
source, finds its attachments (:func:`extract_attachments`: parts with a ``Content-Disposition``
of ``attachment``, or any non-text leaf part with a file name), and hands each to a
:class:`Storage` — a two-method ``Protocol``, so Dropbox, S3 or WebDAV is a small class away.
:class:`DirectoryStorage` is the bundled one.

Names are made safe (:func:`safe_name`): no directory parts, no control characters, no leading
dot, no Windows-reserved names, at most :data:`MAX_NAME_BYTES` UTF-8 bytes. A name that is taken
by *different* content gets `` (1)``, `` (2)``… before its suffix; identical content is not
saved twice, so a redelivered event (at-least-once) leaves no duplicate behind. The date is the
message's ``Date`` header (in UTC), or today when it has none or it is unreadable.
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import email.utils
import hashlib
import logging
import os
import re
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Final, Protocol

from switchboard.workers.mail import NewMail

__all__ = [
    "ATTACHMENT_PROPERTIES",
    "MAX_COLLISIONS",
    "MAX_NAME_BYTES",
    "Attachment",
    "AttachmentSaver",
    "DirectoryStorage",
    "Storage",
    "extract_attachments",
    "message_day",
    "safe_name",
]

logger = logging.getLogger("switchboard.workers.attachments")

ATTACHMENT_PROPERTIES: Final = ("raw",)
"""The ``getMessages`` properties the saver needs."""

MAX_NAME_BYTES: Final = 200
"""Longest file name written, in UTF-8 bytes (most file systems allow 255)."""

MAX_COLLISIONS: Final = 1000
"""How many `` (n)`` variants of one name are tried before giving up."""

_WINDOWS_RESERVED: Final = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)
_UNSAFE: Final = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment: its name as sent (``None`` if it had none), type and decoded bytes."""

    filename: str | None
    content_type: str
    data: bytes


def safe_name(name: str | None, fallback: str = "attachment") -> str:
    """A file name that is safe to create in a directory we own.

    Keeps only the last path component (``/`` and ``\\`` both count), drops control and
    reserved characters, leading dots and spaces, trailing dots and spaces (Windows), prefixes
    reserved device names with ``_``, and cuts to :data:`MAX_NAME_BYTES` keeping the suffix.
    """
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = _UNSAFE.sub("_", text).strip().lstrip(".").rstrip(". ")
    if not text:
        text = fallback
    stem, dot, suffix = text.rpartition(".")
    if not dot:
        stem, suffix = text, ""
    if stem.lower() in _WINDOWS_RESERVED or text.lower() in _WINDOWS_RESERVED:
        text = "_" + text
        stem = "_" + stem
    if len(text.encode()) > MAX_NAME_BYTES:
        ext = ("." + suffix)[:20] if dot else ""
        room = MAX_NAME_BYTES - len(ext.encode())
        stem = stem.encode()[:room].decode("utf-8", "ignore")
        text = stem + ext
    return text


def _variant(name: str, number: int) -> str:
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        return f"{name} ({number})"
    return f"{stem} ({number}).{suffix}"


def extract_attachments(raw: bytes) -> list[Attachment]:
    """The attachments of a message, in part order (nested messages' parts included)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        if disposition != "attachment" and not (
            filename and part.get_content_maintype() != "text"
        ):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        found.append(Attachment(filename, part.get_content_type(), data))
    return found


def message_day(raw: bytes, today: datetime.date | None = None) -> datetime.date:
    """The UTC day of the message's ``Date`` header, or ``today`` (default: today in UTC)."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    value = message.get("date")
    if value:
        try:
            when = email.utils.parsedate_to_datetime(str(value))
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=datetime.UTC)
            return when.astimezone(datetime.UTC).date()
    return today or datetime.datetime.now(datetime.UTC).date()


class Storage(Protocol):
    """Where attachments go. ``save`` returns where the data ended up (a path, a URL)."""

    async def save(self, account: str, day: datetime.date, filename: str, data: bytes) -> str:
        """Store ``data`` as ``account/day/filename`` (names are already safe).

        Raises:
            OSError: the storage failed; the event is then not acknowledged.
        """
        ...


class DirectoryStorage:
    """A :class:`Storage` on a local directory tree ``root/account/YYYY-MM-DD/filename``.

    Files are written to a temporary name, fsynced and renamed, so a crash never leaves a half
    file under the real name.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _save(self, account: str, day: datetime.date, filename: str, data: bytes) -> str:
        directory = self.root / safe_name(account, "account") / day.isoformat()
        directory.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(data).digest()
        for number in range(MAX_COLLISIONS):
            name = filename if number == 0 else _variant(filename, number)
            target = directory / name
            if target.exists():
                if hashlib.sha256(target.read_bytes()).digest() == digest:
                    return str(target)  # saved before (a redelivered event)
                continue
            temp = directory / f".{name}.{os.getpid()}.part"
            with temp.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                # link() fails if another writer took the name meanwhile, rename() would not.
                os.link(temp, target)
            except FileExistsError:
                continue
            finally:
                temp.unlink()
            return str(target)
        raise OSError(f"{MAX_COLLISIONS} files named like {filename!r} in {directory}")

    async def save(self, account: str, day: datetime.date, filename: str, data: bytes) -> str:
        """Write the file (in a thread: disks can stall); see :class:`Storage`.

        Raises:
            OSError: the file cannot be written.
        """
        return await asyncio.to_thread(self._save, account, day, filename, data)


class AttachmentSaver:
    """Save the attachments of :class:`NewMail` fetched with ``raw``; the runner's handler.

    Args:
        storage: where the files go.
    """

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.saved: list[str] = []
        """Where each saved attachment went, in order (grows for the life of the saver)."""

    async def deliver(self, mail: NewMail) -> list[str]:
        """Save every attachment of ``mail``; return where each went.

        Raises:
            ValueError: ``mail`` was fetched without ``raw``.
            OSError: the storage failed (nothing is acknowledged; files saved so far are
                recognised as identical when the event comes back).
        """
        text = mail.raw
        if text is None:
            raise ValueError(f"{mail.message_id} was fetched without 'raw'")
        raw = text.encode("utf-8", "surrogateescape")
        day = message_day(raw)
        places = []
        for index, attachment in enumerate(extract_attachments(raw), 1):
            name = safe_name(attachment.filename, f"attachment-{index}")
            places.append(await self.storage.save(mail.account or "", day, name, attachment.data))
        self.saved.extend(places)
        if places:
            logger.info("%s: saved %d attachment(s)", mail.key, len(places))
        return places

    async def __call__(self, mail: NewMail) -> None:
        """The runner's handler: save every attachment, raise if the storage failed."""
        await self.deliver(mail)
