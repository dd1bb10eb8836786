"""The attachment saver: extraction, safe names, collisions, redelivery, the day directory."""

from __future__ import annotations

import datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from switchboard.workers.attachments import (
    MAX_NAME_BYTES,
    AttachmentSaver,
    DirectoryStorage,
    extract_attachments,
    message_day,
    safe_name,
)
from switchboard.workers.base import NewMail


def message(*attachments: tuple[str | None, bytes], date: str | None = None) -> str:
    msg = EmailMessage()
    msg["From"] = "ann@example.org"
    msg["To"] = "bob@example.com"
    msg["Subject"] = "files"
    if date:
        msg["Date"] = date
    msg.set_content("see attached\n")
    for name, data in attachments:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_string().replace("\n", "\r\n")


@pytest.mark.parametrize(("name", "safe"), [
    ("report.pdf", "report.pdf"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\x\\evil.exe", "evil.exe"),
    (".bashrc", "bashrc"),
    ("a\x00b\nc?.txt", "a_b_c_.txt"),
    ("CON.txt", "_CON.txt"),
    ("nul", "_nul"),
    ("trailing. ", "trailing"),
    ("", "attachment"),
    (None, "attachment"),
    ("..", "attachment"),
])
def test_safe_name(name: str | None, safe: str) -> None:
    assert safe_name(name) == safe


def test_safe_name_cuts_long_names_keeping_the_suffix() -> None:
    cut = safe_name("é" * 300 + ".pdf")
    assert cut.endswith(".pdf") and len(cut.encode()) <= MAX_NAME_BYTES


def test_extract_finds_attachments_with_decoded_content() -> None:
    raw = message(("a.bin", b"\x00\x01"), ("b.bin", b"hello")).encode()
    found = extract_attachments(raw)
    assert [(a.filename, a.data) for a in found] == [("a.bin", b"\x00\x01"), ("b.bin", b"hello")]
    assert extract_attachments(message().encode()) == []


def test_message_day_is_the_utc_date_or_today() -> None:
    raw = message(date="Tue, 03 Jun 2014 23:30:00 -0700").encode()
    assert message_day(raw) == datetime.date(2014, 6, 4)
    fallback = datetime.date(2020, 1, 2)
    assert message_day(message().encode(), fallback) == fallback
    assert message_day(message(date="garbage").encode(), fallback) == fallback


async def test_saves_under_account_and_day_handling_collisions(tmp_path: Path) -> None:
    saver = AttachmentSaver(DirectoryStorage(tmp_path))
    date = "Tue, 03 Jun 2014 10:00:00 +0000"
    first = NewMail("bob@example.com", "INBOX!1?1", 1, properties={"raw": message(
        ("../report.pdf", b"one"), ("report.pdf", b"two"), (None, b"three"), date=date)})
    places = await saver.deliver(first)
    day = tmp_path / "bob@example.com" / "2014-06-03"
    assert places == [str(day / "report.pdf"), str(day / "report (1).pdf"),
                      str(day / "attachment-3")]
    assert (day / "report.pdf").read_bytes() == b"one"
    assert (day / "report (1).pdf").read_bytes() == b"two"
    # The same event again (at-least-once redelivery): nothing new on disk.
    assert await saver.deliver(first) == places
    assert sorted(p.name for p in day.iterdir()) == ["attachment-3", "report (1).pdf",
                                                       "report.pdf"]


async def test_storage_is_pluggable() -> None:
    stored: list[tuple[str, datetime.date, str, bytes]] = []

    class Memory:
        async def save(self, account: str, day: datetime.date, filename: str,
                       data: bytes) -> str:
            stored.append((account, day, filename, data))
            return f"mem://{account}/{filename}"

    saver = AttachmentSaver(Memory())
    await saver(NewMail("a", "INBOX!1?1", properties={"raw": message(
        ("x.txt", b"x"), date="Tue, 03 Jun 2014 10:00:00 +0000")}))
    assert stored == [("a", datetime.date(2014, 6, 3), "x.txt", b"x")]
    assert saver.saved == ["mem://a/x.txt"]


async def test_without_raw_it_refuses() -> None:
    with pytest.raises(ValueError, match="raw"):
        await AttachmentSaver(DirectoryStorage("/nonexistent")).deliver(NewMail("a", "m"))
