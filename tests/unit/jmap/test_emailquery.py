from datetime import UTC, datetime

import pytest

from switchboard.jmap.emailquery import (
    FILTER_PROPERTIES,
    SORT_PROPERTIES,
    UNSUPPORTED_CONDITIONS,
    parse_filter,
    parse_sort,
)
from switchboard.jmap.errors import InvalidArguments, UnsupportedFilter, UnsupportedSort
from switchboard.jmap.search import (
    All,
    And,
    Contains,
    HasFlag,
    Header,
    InMailbox,
    InMailboxOtherThan,
    Larger,
    Not,
    Or,
    ReceivedBefore,
    ReceivedSince,
    Smaller,
    SortCriterion,
    SortKey,
    TextField,
)

T = datetime(2014, 10, 30, 6, 12, tzinfo=UTC)

# One row per RFC 8621 §4.4.1 condition IMAP SEARCH can answer.
CONDITIONS = [
    ({"inMailbox": "mabc"}, InMailbox("mabc")),
    ({"inMailboxOtherThan": ["m1", "m2"]}, InMailboxOtherThan(("m1", "m2"))),
    ({"before": "2014-10-30T06:12:00Z"}, ReceivedBefore(T)),
    ({"after": "2014-10-30T06:12:00Z"}, ReceivedSince(T)),
    ({"minSize": 100}, Larger(99)),  # size >= 100
    ({"minSize": 0}, All()),
    ({"maxSize": 100}, Smaller(100)),  # size < 100
    ({"hasKeyword": "$seen"}, HasFlag("\\Seen")),
    ({"hasKeyword": "$Junk"}, HasFlag("$junk")),
    ({"notKeyword": "$flagged"}, Not(HasFlag("\\Flagged"))),
    ({"text": "x"}, Contains(TextField.TEXT, "x")),
    ({"from": "bob"}, Contains(TextField.FROM, "bob")),
    ({"to": "x"}, Contains(TextField.TO, "x")),
    ({"cc": "x"}, Contains(TextField.CC, "x")),
    ({"bcc": "x"}, Contains(TextField.BCC, "x")),
    ({"subject": "hi"}, Contains(TextField.SUBJECT, "hi")),
    ({"body": "x"}, Contains(TextField.BODY, "x")),
    ({"header": ["List-Id"]}, Header("List-Id", "")),
    ({"header": ["X-Spam", "yes"]}, Header("X-Spam", "yes")),
    ({}, All()),
    (None, All()),
    ({"subject": None}, All()),  # null counts as absent
    # Several properties in one condition must all match.
    ({"inMailbox": "m1", "from": "bob"}, And((InMailbox("m1"), Contains(TextField.FROM, "bob")))),
]


@pytest.mark.parametrize(("condition", "term"), CONDITIONS)
def test_conditions(condition: object, term: object) -> None:
    assert parse_filter(condition) == term  # type: ignore[arg-type]


def test_every_supported_property_is_tested() -> None:
    tested = {name for condition, _ in CONDITIONS if condition for name in condition}
    assert tested == set(FILTER_PROPERTIES)


def test_operators() -> None:
    a, b = {"from": "a"}, {"from": "b"}
    ta, tb = Contains(TextField.FROM, "a"), Contains(TextField.FROM, "b")
    assert parse_filter({"operator": "AND", "conditions": [a, b]}) == And((ta, tb))
    assert parse_filter({"operator": "OR", "conditions": [a, b]}) == Or((ta, tb))
    # RFC 8620 §5.5: NOT is "none of the conditions match".
    assert parse_filter({"operator": "NOT", "conditions": [a, b]}) == Not(Or((ta, tb)))
    assert parse_filter({"operator": "NOT", "conditions": [a]}) == Not(ta)
    assert parse_filter({"operator": "AND", "conditions": []}) == All()
    assert parse_filter({"operator": "OR", "conditions": []}) == Not(All())
    # RFC 8621 §4.4.3's shape: an operator nested in an operator.
    nested = {
        "operator": "AND",
        "conditions": [
            {"inMailbox": "m1"},
            {"operator": "OR", "conditions": [{"hasKeyword": "$flagged"}, {"from": "boss"}]},
        ],
    }
    assert parse_filter(nested) == And(
        (InMailbox("m1"), Or((HasFlag("\\Flagged"), Contains(TextField.FROM, "boss"))))
    )


@pytest.mark.parametrize("name", sorted(UNSUPPORTED_CONDITIONS))
def test_conditions_imap_cannot_answer(name: str) -> None:
    with pytest.raises(UnsupportedFilter) as info:
        parse_filter({name: "$seen" if "Keyword" in name else True})
    assert UNSUPPORTED_CONDITIONS[name] in str(info.value)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"frobnicate": 1}, UnsupportedFilter),
        ({"operator": "AND", "conditions": [{"frobnicate": 1}]}, UnsupportedFilter),
        ("inbox", InvalidArguments),
        ([], InvalidArguments),
        ({"inMailbox": 5}, InvalidArguments),
        ({"inMailbox": "not an id"}, InvalidArguments),
        ({"inMailboxOtherThan": "m1"}, InvalidArguments),
        ({"inMailboxOtherThan": ["m1", 2]}, InvalidArguments),
        ({"before": "yesterday"}, InvalidArguments),
        ({"after": "2014-10-30T14:12:00+08:00"}, InvalidArguments),  # not UTC
        ({"minSize": -1}, InvalidArguments),
        ({"maxSize": "10"}, InvalidArguments),
        ({"minSize": True}, InvalidArguments),
        ({"hasKeyword": "a b"}, InvalidArguments),
        ({"notKeyword": 1}, InvalidArguments),
        ({"text": 1}, InvalidArguments),
        ({"header": []}, InvalidArguments),
        ({"header": ["a", "b", "c"]}, InvalidArguments),
        ({"header": ["Bad Name"]}, InvalidArguments),
        ({"header": "Subject"}, InvalidArguments),
        ({"operator": "XOR", "conditions": []}, InvalidArguments),
        ({"operator": "AND", "conditions": {}}, InvalidArguments),
        ({"operator": "AND"}, InvalidArguments),
        ({"operator": "AND", "conditions": [], "from": "x"}, InvalidArguments),
        ({"operator": "AND", "conditions": [5]}, InvalidArguments),
    ],
)
def test_bad_filters(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_filter(value)  # type: ignore[arg-type]


COLLATIONS = {"i;ascii-casemap"}


def test_sorts() -> None:
    assert parse_sort(None, collations=COLLATIONS) == ()
    assert parse_sort([], collations=COLLATIONS) == ()
    sort = [{"property": "receivedAt", "isAscending": False}, {"property": "subject"}]
    assert parse_sort(sort, collations=COLLATIONS) == (
        SortCriterion(SortKey.ARRIVAL, reverse=True),
        SortCriterion(SortKey.SUBJECT),
    )
    keys = [parse_sort([{"property": p}], collations=COLLATIONS)[0].key for p in SORT_PROPERTIES]
    assert keys == [SortKey.ARRIVAL, SortKey.DATE, SortKey.SIZE, SortKey.DISPLAYFROM,
                    SortKey.DISPLAYTO, SortKey.SUBJECT]  # fmt: skip
    with_collation = [{"property": "from", "collation": "i;ascii-casemap"}]
    assert parse_sort(with_collation, collations=COLLATIONS)[0].key is SortKey.DISPLAYFROM


def test_jmapc_comparators_carry_extra_members() -> None:
    # jmapc 0.4's Comparator dataclass serialises these into every comparator.
    comparator = {
        "property": "receivedAt",
        "isAscending": False,
        "anchorOffset": 0,
        "calculateTotal": False,
        "position": 0,
    }
    assert parse_sort([comparator], collations=COLLATIONS) == (
        SortCriterion(SortKey.ARRIVAL, reverse=True),
    )


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ([{"property": "hasKeyword", "keyword": "$seen"}], UnsupportedSort),
        ([{"property": "someInThreadHaveKeyword", "keyword": "$seen"}], UnsupportedSort),
        ([{"property": "nonsense"}], UnsupportedSort),
        ([{"property": "subject", "collation": "i;unicode-casemap"}], UnsupportedSort),
        ({"property": "subject"}, InvalidArguments),
        ([{"isAscending": True}], InvalidArguments),
        (["subject"], InvalidArguments),
        ([{"property": "subject", "isAscending": "yes"}], InvalidArguments),
        ([{"property": "subject", "collation": 1}], InvalidArguments),
    ],
)
def test_bad_sorts(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_sort(value, collations=COLLATIONS)  # type: ignore[arg-type]
