import base64
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.jmap.datatypes import is_valid_id
from switchboard.jmap.ids import (
    Digest,
    EmailLocation,
    MailboxLocation,
    ObjectId,
    PartBlob,
    SingleEmailThread,
    UnknownIdError,
    account_id,
    blob_id,
    email_id,
    mailbox_id,
    parse_account_id,
    parse_blob_id,
    parse_email_id,
    parse_mailbox_id,
    parse_thread_id,
    part_blob_id,
    thread_id,
)

MAX_U32 = 2**32 - 1
NAMES = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=200)
NUMBERS = st.integers(1, MAX_U32)
OBJECTIDS = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"),
    min_size=1,
    max_size=255,
)
# RFC 8620 §1.2 asks servers to avoid ids that differ only in case, and the sequence NIL.
SAFE = re.compile(r"[a-z][a-z0-9_-]*")


def test_known_values() -> None:
    # Pinned: an id must not change between releases, or clients resynchronise everything.
    assert mailbox_id("INBOX", 7) == "ma5eu4qspla"
    assert email_id("INBOX", 1717000000, 42) == "eycxn3mqgfjeu4qspla"
    assert account_id("me@example.com") == "anvsuazlymfwxa3dffzrw63i"
    assert parse_mailbox_id("ma5eu4qspla") == MailboxLocation("INBOX", 7)


def test_objectids_are_used_verbatim_when_they_fit() -> None:
    # Dovecot-style OBJECTIDs (RFC 8474).
    assert mailbox_id("INBOX", 7, "F2212ea87f4c3f5c") == "m-F2212ea87f4c3f5c"
    assert parse_mailbox_id("m-F2212ea87f4c3f5c") == ObjectId("F2212ea87f4c3f5c")
    email = email_id("INBOX", 7, 42, "M6d99ac3275bb4e")
    assert email == "e-M6d99ac3275bb4e"
    assert parse_email_id(email) == ObjectId("M6d99ac3275bb4e")
    assert thread_id(email, "T64b478a75b7ea9") == "t-T64b478a75b7ea9"
    assert parse_thread_id("t-T64b478a75b7ea9") == ObjectId("T64b478a75b7ea9")
    # One that does not fit (bad characters, too long) falls back to the location.
    for bad in ("has space", "x" * 254, ""):
        assert email_id("INBOX", 7, 42, bad) == email_id("INBOX", 7, 42)
        assert mailbox_id("INBOX", 7, bad) == mailbox_id("INBOX", 7)
    assert email_id("INBOX", 7, 42, "x" * 253) == "e-" + "x" * 253


def test_threads_without_threadid_hold_one_email() -> None:
    email = email_id("INBOX", 7, 42)
    thread = thread_id(email)
    assert thread[0] == "s" and thread[1:] == email[1:]
    assert parse_thread_id(thread) == SingleEmailThread(email)
    # A verbatim-EMAILID email without THREADID: no clash with a THREADID thread id.
    objectid_email = email_id("INBOX", 7, 42, "M1")
    assert thread_id(objectid_email) == "s-M1"
    assert parse_thread_id("s-M1") == SingleEmailThread("e-M1")


def test_blobs() -> None:
    email = email_id("Archive/2024", 12345, 99)
    assert blob_id(email) == "b" + email[1:]
    assert parse_blob_id(blob_id(email)) == PartBlob(email)
    part = part_blob_id(email, "1.2")
    assert part.startswith("p1-2_")
    assert parse_blob_id(part) == PartBlob(email, "1.2")
    digest_email = email_id("x" * 300, 1, 1)
    assert parse_blob_id(part_blob_id(digest_email, "3")) == PartBlob(digest_email, "3")
    objectid_email = email_id("INBOX", 1, 1, "M-1_x")
    assert parse_blob_id(part_blob_id(objectid_email, "10.1")) == PartBlob(objectid_email, "10.1")
    for section in ("", "0", "1.", ".1", "1..2", "01", "TEXT", "1.0"):
        with pytest.raises(ValueError):
            part_blob_id(email, section)
    with pytest.raises(ValueError, match="longer than 255"):
        part_blob_id(email_id("I", 1, 1, "x" * 253), "1")


def test_long_names_use_a_digest() -> None:
    # ceil(8 * (1 + 137) / 5) = 221 <= LOCATION_MAX (222) characters: the longest body kept,
    # which leaves room for a part blob id's section.
    short, long = "x" * 137, "x" * 138
    assert len(part_blob_id(email_id(short, 1, 1), "1.2.3.4.5.6.7.8.9")) <= 255
    assert "_" not in mailbox_id(short, 1)
    digest_id = mailbox_id(long, 1)
    assert digest_id.startswith("m_") and len(digest_id) <= 255
    assert parse_mailbox_id(digest_id) == MailboxLocation(Digest.of(long), 1)
    huge = "ü" * 10_000
    assert parse_email_id(email_id(huge, 5, 6)) == EmailLocation(Digest.of(huge), 5, 6)
    assert len(Digest.of(huge).value) == 15
    username = "u" * 200
    assert parse_account_id(account_id(username)) == Digest.of(username)


@pytest.mark.parametrize(
    ("build", "args"),
    [
        (mailbox_id, ("", 1)),
        (mailbox_id, ("INBOX", 0)),
        (mailbox_id, ("INBOX", MAX_U32 + 1)),
        (mailbox_id, ("INBOX", True)),
        (email_id, ("INBOX", 1, 0)),
        (mailbox_id, ("\ud800", 1)),
        (account_id, ("",)),
    ],
)
def test_builders_refuse_bad_input(build: object, args: tuple[object, ...]) -> None:
    with pytest.raises(ValueError):
        build(*args)  # type: ignore[operator]


GARBAGE = [
    "", "m", "x", "mA", "m-", "m1", "ma", "m_", "m_a", "maaaaaaaa", "e" + "a" * 255,
    "e-", "t", "t-", "tabc", "s", "b", "p", "p1", "p1_", "p_ab", "p0_ab", "a", "a_", "a1",
    "m a", "a_aaaa",
]  # fmt: skip


@pytest.mark.parametrize("value", GARBAGE)
def test_garbage_is_refused(value: str) -> None:
    for parse in (parse_mailbox_id, parse_email_id, parse_thread_id, parse_blob_id,
                  parse_account_id):  # fmt: skip
        with pytest.raises(UnknownIdError):
            parse(value)  # type: ignore[operator]


def b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=").lower()


@pytest.mark.parametrize(
    "data",
    [
        b"\x87",  # a varint cut short
        b"\x87\x80",
        b"\xff\xff\xff\xff\xff\x01INBOX",  # more than 32 bits
        b"\xff\xff\xff\xff\x1fINBOX",  # 2**36 - 1: five octets, still over 32 bits
        b"\x87\x00INBOX",  # 7 written in two octets: not minimal
        b"\x00INBOX",  # UIDVALIDITY 0
        b"\x07",  # no name
        b"\x07\xffINBOX",  # a name that is not UTF-8
    ],
)
def test_bad_location_bodies(data: bytes) -> None:
    with pytest.raises(UnknownIdError):
        parse_mailbox_id("m" + b32(data))
    with pytest.raises(UnknownIdError):
        parse_mailbox_id("m_" + b32(data))


def test_bad_account_bodies() -> None:
    with pytest.raises(UnknownIdError):
        parse_account_id("a" + b32(b"\xff"))
    with pytest.raises(UnknownIdError):
        parse_account_id("a_" + b32(b"short"))


def test_wrong_kind_and_non_canonical_forms_are_refused() -> None:
    mailbox = mailbox_id("INBOX", 7)
    with pytest.raises(UnknownIdError):
        parse_email_id(mailbox)
    with pytest.raises(UnknownIdError):
        parse_mailbox_id("e" + mailbox[1:])
    # Non-zero trailing bits: decodes to the same octets but is not what we write.
    assert mailbox.endswith("a")
    with pytest.raises(UnknownIdError):
        parse_mailbox_id(mailbox[:-1] + "b")
    # A short name sent in the digest form is not canonical either.
    with pytest.raises(UnknownIdError):
        parse_mailbox_id(mailbox.replace("m", "m_", 1))


@given(NAMES, NUMBERS, NUMBERS)
@settings(max_examples=300)
def test_round_trip_charset_and_length(name: str, uidvalidity: int, uid: int) -> None:
    mailbox = mailbox_id(name, uidvalidity)
    email = email_id(name, uidvalidity, uid)
    for value in (mailbox, email, thread_id(email), blob_id(email), part_blob_id(email, "1.2"),
                  account_id(name)):  # fmt: skip
        assert is_valid_id(value) and len(value) <= 255
        assert SAFE.fullmatch(value), value
    expected_name: str | Digest = name if "_" not in mailbox else Digest.of(name)
    assert parse_mailbox_id(mailbox) == MailboxLocation(expected_name, uidvalidity)
    expected_name = name if "_" not in email else Digest.of(name)
    assert parse_email_id(email) == EmailLocation(expected_name, uidvalidity, uid)
    assert parse_thread_id(thread_id(email)) == SingleEmailThread(email)
    assert parse_blob_id(blob_id(email)) == PartBlob(email)
    assert parse_blob_id(part_blob_id(email, "1.2")) == PartBlob(email, "1.2")
    account = parse_account_id(account_id(name))
    assert account == name or account == Digest.of(name)


@given(NAMES, NUMBERS, NUMBERS, OBJECTIDS)
def test_objectid_round_trip(name: str, uidvalidity: int, uid: int, objectid: str) -> None:
    email = email_id(name, uidvalidity, uid, objectid)
    assert is_valid_id(email)
    if len(objectid) <= 253:
        assert parse_email_id(email) == ObjectId(objectid)
        assert parse_thread_id(thread_id(email, objectid)) == ObjectId(objectid)
    assert parse_blob_id(blob_id(email)) == PartBlob(email)


@given(st.text(max_size=40))
@settings(max_examples=300)
def test_any_string_parses_or_raises_the_documented_error(value: str) -> None:
    for parse in (parse_mailbox_id, parse_email_id, parse_thread_id, parse_blob_id,
                  parse_account_id):  # fmt: skip
        try:
            parsed = parse(value)  # type: ignore[operator]
        except UnknownIdError:
            continue
        assert parsed is not None


def test_ids_never_differ_only_by_case_or_contain_nil() -> None:
    # The kind letter and lowercase base32: both properties hold for every generated id.
    values = {mailbox_id(f"Box{i}", i + 1) for i in range(200)}
    assert len({v.lower() for v in values}) == len(values)
    assert not any("NIL" in v for v in values)
