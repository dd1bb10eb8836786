"""Tests for jmap.emailset: Email/set arguments and each update's PatchObject."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.jmap.emailset import EmailUpdate, parse_email_set, parse_update
from switchboard.jmap.errors import (
    InvalidArguments,
    RequestTooLarge,
    SetInvalidPatch,
    SetInvalidProperties,
)


def test_keyword_paths_add_and_remove_lowercased() -> None:
    update = parse_update({"keywords/$Flagged": True, "keywords/$seen": None})
    assert update == EmailUpdate(keywords_add=frozenset({"$flagged"}),
                                 keywords_remove=frozenset({"$seen"}))  # fmt: skip
    assert update.touches_keywords


def test_whole_properties_replace() -> None:
    update = parse_update({"keywords": {"$seen": True}, "mailboxIds": {"mA": True}})
    assert update.keywords == frozenset({"$seen"}) and update.mailbox_ids == frozenset({"mA"})
    assert update.mailboxes_after(frozenset({"mB"})) == frozenset({"mA"})
    moved = parse_update({"mailboxIds/mA": True, "mailboxIds/mB": None})
    assert moved.mailboxes_after(frozenset({"mB"})) == frozenset({"mA"})
    assert not moved.touches_keywords


def test_a_pointer_escape_is_decoded() -> None:
    assert parse_update({"keywords/a~1b~0c": True}).keywords_add == frozenset({"a/b~c"})


@pytest.mark.parametrize(
    ("patch", "error", "properties"),
    [
        ("not an object", SetInvalidPatch, None),
        ({"nonsense": 1}, SetInvalidPatch, None),
        ({"keywords/a/b": True}, SetInvalidPatch, None),
        ({"keywords": {"$seen": True}, "keywords/$draft": True}, SetInvalidPatch, None),
        ({"subject": "new"}, SetInvalidProperties, ["subject"]),
        ({"keywords/$seen": False}, SetInvalidProperties, ["keywords/$seen"]),
        ({"keywords/bad(word": True}, SetInvalidProperties, ["keywords/bad(word"]),
        ({"keywords": {"$seen": False}}, SetInvalidProperties, ["keywords"]),
        ({"mailboxIds": {}}, SetInvalidProperties, ["mailboxIds"]),
        ({"mailboxIds/no id!": True}, SetInvalidProperties, ["mailboxIds/no id!"]),
    ],
)
def test_bad_patches_get_their_set_error(patch: Any, error: type, properties: Any) -> None:
    with pytest.raises(error) as raised:
        parse_update(patch)
    if properties is not None:
        assert raised.value.to_json()["properties"] == properties


def test_arguments_keep_each_ids_outcome() -> None:
    parsed = parse_email_set(
        {"accountId": "a1", "ifInState": "s", "create": {"k": {}},
         "update": {"e1": {"keywords/$seen": True}, "e2": {"subject": "x"}},
         "destroy": ["e3"]},
        max_objects=10,
    )  # fmt: skip
    assert parsed.if_in_state == "s" and parsed.create == ("k",) and parsed.destroy == ("e3",)
    assert isinstance(parsed.update["e1"], EmailUpdate)
    assert isinstance(parsed.update["e2"], SetInvalidProperties)


@pytest.mark.parametrize(
    "arguments",
    [{"ifInState": 3}, {"update": []}, {"destroy": "e1"}, {"destroy": ["bad id"]},
     {"create": [1]}, {"update": {"bad id": {}}}],
)  # fmt: skip
def test_malformed_arguments(arguments: dict[str, Any]) -> None:
    with pytest.raises(InvalidArguments):
        parse_email_set({"accountId": "a1", **arguments}, max_objects=10)


def test_too_many_objects() -> None:
    with pytest.raises(RequestTooLarge):
        parse_email_set({"accountId": "a1", "destroy": ["e1", "e2", "e3"]}, max_objects=2)
