from datetime import UTC, datetime

import pytest

from switchboard.jmap.search import (
    All,
    And,
    Contains,
    HasFlag,
    Header,
    InMailbox,
    Larger,
    Not,
    Or,
    ReceivedBefore,
    ReceivedSince,
    Smaller,
    TextField,
    conjunction,
    disjunction,
    mailbox_scope,
)

A, B, C = HasFlag("a"), HasFlag("b"), HasFlag("c")


def test_conjunction() -> None:
    assert conjunction([]) == All()
    assert conjunction([All(), A]) == A
    assert conjunction([A, And((B, C))]) == And((A, B, C))
    assert conjunction([All(), All()]) == All()


def test_disjunction() -> None:
    assert disjunction([]) == Not(All())
    assert disjunction([A]) == A
    assert disjunction([A, Or((B, C))]) == Or((A, B, C))
    assert disjunction([A, All()]) == All()


def test_mailbox_scope() -> None:
    assert mailbox_scope(InMailbox("m1")) == ("m1", All())
    assert mailbox_scope(And((InMailbox("m1"), A))) == ("m1", A)
    assert mailbox_scope(And((InMailbox("m1"), A, B))) == ("m1", And((A, B)))
    two = And((InMailbox("m1"), InMailbox("m2")))
    assert mailbox_scope(two) == (None, two)
    assert mailbox_scope(A) == (None, A)
    either = Or((InMailbox("m1"), A))
    assert mailbox_scope(either) == (None, either)


def test_terms_check_their_values() -> None:
    with pytest.raises(ValueError):
        ReceivedBefore(datetime(2024, 1, 1))  # naive
    with pytest.raises(ValueError):
        ReceivedSince(datetime(2024, 1, 1))
    with pytest.raises(ValueError):
        Larger(-1)
    with pytest.raises(ValueError):
        Smaller(2**53)
    for name in ("", "X Header", "X:Y", "É"):
        with pytest.raises(ValueError):
            Header(name, "")
    assert Header("List-Id", "").value == ""
    assert ReceivedBefore(datetime(2024, 1, 1, tzinfo=UTC)).moment.year == 2024
    assert Contains(TextField.FROM, "bob").field.value == "FROM"
