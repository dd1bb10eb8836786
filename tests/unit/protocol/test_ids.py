import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.protocol.errors import MailboxDoesNotExist, MessageDoesNotExist
from switchboard.protocol.ids import (
    MAX_UID,
    MailboxId,
    MessageId,
    parse_mailbox_id,
    parse_message_id,
)

# Ids the original server generated, byte-for-byte.
ENCODED = [
    (MailboxId("INBOX", 1), "INBOX!1"),
    (MailboxId("[Gmail]/Sent Mail", 7), "[Gmail]/Sent Mail!7"),
    (MailboxId("INBOX", 671882951), "INBOX!671882951"),
    (MessageId(MailboxId("INBOX", 1), 17), "INBOX!1?17"),
    (MessageId(MailboxId("[Gmail]/Sent Mail", 7), 1), "[Gmail]/Sent Mail!7?1"),
    (MessageId(MailboxId("INBOX", 200), 3), "INBOX!200?3"),
    (MessageId(MailboxId("Foo!Bar", 12), 5), "Foo!Bar!12?5"),
    (MessageId(MailboxId("What?", MAX_UID), MAX_UID), "What?!4294967295?4294967295"),
    (MailboxId("&AOk-t&AOk-", 3), "&AOk-t&AOk-!3"),  # modified UTF-7 stays raw
]


@pytest.mark.parametrize(("value", "text"), ENCODED)
def test_encode_and_parse_the_documented_forms(value: MailboxId | MessageId, text: str) -> None:
    assert value.encode() == text
    assert str(value) == text
    parse = parse_message_id if isinstance(value, MessageId) else parse_mailbox_id
    assert parse(text) == value


def test_parsing_splits_at_the_last_separators() -> None:
    assert parse_mailbox_id("Foo!Bar!12") == MailboxId("Foo!Bar", 12)
    assert parse_message_id("a?b!c!3?9") == MessageId(MailboxId("a?b!c", 3), 9)


BAD_NUMBERS = ["abc", "", "+1", "-1", " 1", "1 ", "１", "٣", "01", "0", "1.0", "1e3",
               "4294967296", "99999999999999999999", "0x10", "1_000"]  # fmt: skip


@pytest.mark.parametrize("number", BAD_NUMBERS)
def test_non_canonical_numbers_are_refused(number: str) -> None:
    with pytest.raises(MailboxDoesNotExist):
        parse_mailbox_id(f"INBOX!{number}")
    with pytest.raises(MessageDoesNotExist):
        parse_message_id(f"INBOX!{number}?1")
    with pytest.raises(MessageDoesNotExist):
        parse_message_id(f"INBOX!1?{number}")


@pytest.mark.parametrize("text", ["INBOX", "!1", "INBOX!", "", "garbage"])
def test_malformed_mailbox_ids(text: str) -> None:
    with pytest.raises(MailboxDoesNotExist) as info:
        parse_mailbox_id(text)
    assert repr(text) in (info.value.description or "")


@pytest.mark.parametrize("text", ["INBOX!1", "INBOX?1", "!1?1", "INBOX!1?", "?", "", "INBOX!1?1?"])
def test_malformed_message_ids(text: str) -> None:
    with pytest.raises(MessageDoesNotExist):
        parse_message_id(text)


@pytest.mark.parametrize("value", [None, 1, ["INBOX!1"], b"INBOX!1"])
def test_non_strings_are_the_documented_errors(value: object) -> None:
    with pytest.raises(MailboxDoesNotExist):
        parse_mailbox_id(value)  # type: ignore[arg-type]
    with pytest.raises(MessageDoesNotExist):
        parse_message_id(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "number"), [("", 1), ("INBOX", 0), ("INBOX", MAX_UID + 1), ("INBOX", True)]
)
def test_constructors_refuse_values_no_id_can_hold(name: str, number: int) -> None:
    with pytest.raises(ValueError):
        MailboxId(name, number)
    with pytest.raises(ValueError):
        MessageId(MailboxId("INBOX", 1), 0 if number == 1 else number)


names = st.text(min_size=1, max_size=40) | st.sampled_from(["a!1", "b?2", "!", "?", "a b!?", "Ünï"])
numbers = st.integers(min_value=1, max_value=MAX_UID)


@settings(max_examples=300)
@given(names, numbers, numbers)
def test_round_trip_any_name(name: str, uidvalidity: int, uid: int) -> None:
    mailbox = MailboxId(name, uidvalidity)
    message = MessageId(mailbox, uid)
    assert parse_mailbox_id(mailbox.encode()) == mailbox
    assert parse_message_id(message.encode()) == message


@settings(max_examples=500)
@given(st.text(alphabet=st.sampled_from("ab!?01 9１+-") | st.characters(), max_size=30))
def test_parsing_never_raises_anything_else(text: str) -> None:
    try:
        mailbox = parse_mailbox_id(text)
    except MailboxDoesNotExist:
        pass
    else:
        assert mailbox.encode() == text  # canonical: what parses is what we would generate
    try:
        message = parse_message_id(text)
    except MessageDoesNotExist:
        pass
    else:
        assert message.encode() == text
