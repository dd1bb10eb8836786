import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.jmap.keywords import (
    InvalidKeywordError,
    flag_to_keyword,
    flags_from_keywords,
    keyword_to_flag,
    keywords_from_flags,
    normalise_keyword,
)

# RFC 8621 §4.1.1: the four system flags, and keywords passed through lowercased.
PAIRS = [
    ("$seen", "\\Seen"),
    ("$flagged", "\\Flagged"),
    ("$answered", "\\Answered"),
    ("$draft", "\\Draft"),
    ("$forwarded", "$forwarded"),
    ("$junk", "$junk"),
    ("$notjunk", "$notjunk"),
    ("$phishing", "$phishing"),
    ("work", "work"),
]


@pytest.mark.parametrize(("keyword", "flag"), PAIRS)
def test_both_directions(keyword: str, flag: str) -> None:
    assert keyword_to_flag(keyword) == flag
    assert flag_to_keyword(flag) == keyword


def test_case_is_folded() -> None:
    assert keyword_to_flag("$Seen") == "\\Seen"
    assert keyword_to_flag("Work") == "work"
    assert flag_to_keyword("\\SEEN") == "$seen"
    assert flag_to_keyword("$Forwarded") == "$forwarded"
    assert normalise_keyword("$MDNSent") == "$mdnsent"


@pytest.mark.parametrize("flag", ["\\Recent", "\\Deleted", "\\Unknown", "\\*", "bad(flag"])
def test_flags_jmap_does_not_expose(flag: str) -> None:
    assert flag_to_keyword(flag) is None


@pytest.mark.parametrize(
    "keyword",
    ["", "a b", "a(b", "a)b", "a{b", "a]b", "a%b", "a*b", 'a"b', "a\\b", "é", "\x7f", "x" * 256],
)
def test_invalid_keywords(keyword: str) -> None:
    with pytest.raises(InvalidKeywordError):
        keyword_to_flag(keyword)


def test_whole_properties() -> None:
    flags = ["\\Seen", "\\Recent", "\\Deleted", "$Forwarded", "\\Answered"]
    assert keywords_from_flags(flags) == {"$answered": True, "$forwarded": True, "$seen": True}
    assert flags_from_keywords({"$seen": True, "$junk": True}) == {"\\Seen", "$junk"}
    for bad in ({"$seen": False}, {"$seen": 1}, {"a b": True}):
        with pytest.raises(InvalidKeywordError):
            flags_from_keywords(bad)  # type: ignore[arg-type]


KEYWORD = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='(){]%*"\\'),
    min_size=1,
    max_size=20,
)


@given(KEYWORD)
def test_every_keyword_survives_a_round_trip_through_imap(keyword: str) -> None:
    assert flag_to_keyword(keyword_to_flag(keyword)) == keyword.lower()
