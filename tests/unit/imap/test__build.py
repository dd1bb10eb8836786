"""Tests for switchboard.imap._build: the builders make the very objects the constructors make."""

from __future__ import annotations

import dataclasses

import pytest

from switchboard.imap._build import (
    _setters,
    make_address,
    make_body,
    make_envelope,
    make_fetch,
)
from switchboard.imap.responses import Address, BodyPart, Envelope, Fetch


def values_for(cls: type) -> list[object]:
    # A distinct value per field, so that a field set from the wrong argument shows.
    return [f"value {index}" for index in range(len(dataclasses.fields(cls)))]


@pytest.mark.parametrize(
    ("cls", "builder"),
    [(Address, make_address), (Envelope, make_envelope), (Fetch, make_fetch),
     (BodyPart, make_body)],
)
def test_builders_equal_the_constructors(cls: type, builder: object) -> None:
    values = values_for(cls)
    built = builder(*values)  # type: ignore[operator]
    assert type(built) is cls
    assert built == cls(*values)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.__setattr__(dataclasses.fields(cls)[0].name, "changed")


def test_a_builder_listing_other_fields_is_refused_at_import() -> None:
    with pytest.raises(RuntimeError, match="Address"):
        _setters(Address, "name", "route", "mailbox")
