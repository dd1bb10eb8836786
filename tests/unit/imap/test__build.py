"""Tests for switchboard.imap._build: the builders make the very objects the constructors make."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.imap._build import (
    _twin,
    make_address,
    make_body,
    make_code,
    make_envelope,
    make_fetch,
    make_status,
    make_tagged,
)
from switchboard.imap.responses import (
    Address,
    BodyPart,
    Envelope,
    Fetch,
    ResponseCode,
    Status,
    StatusResponse,
    TaggedResponse,
)

BUILDERS: list[tuple[type, Callable[..., object]]] = [
    (Address, make_address),
    (Envelope, make_envelope),
    (Fetch, make_fetch),
    (BodyPart, make_body),
    (ResponseCode, make_code),
    (TaggedResponse, make_tagged),
    (StatusResponse, make_status),
]
IDS = [cls.__name__ for cls, _ in BUILDERS]

# Field values of the kinds the parser passes (hashable ones, so hash() can be compared too).
VALUES = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.sampled_from(list(Status)),
    st.tuples(st.binary(max_size=4), st.integers()),
)


def values_for(cls: type) -> list[object]:
    # A distinct value per field, so that a field set from the wrong argument shows.
    return [f"value {index}" for index in range(len(dataclasses.fields(cls)))]


@pytest.mark.parametrize(("cls", "builder"), BUILDERS, ids=IDS)
def test_builders_equal_the_constructors(cls: type, builder: Callable[..., object]) -> None:
    values = values_for(cls)
    built = builder(*values)
    assert type(built) is cls
    assert built == cls(*values)
    assert repr(built) == repr(cls(*values))
    assert dataclasses.astuple(built) == tuple(values)  # type: ignore[call-overload]


@pytest.mark.parametrize(("cls", "builder"), BUILDERS, ids=IDS)
def test_built_objects_stay_frozen(cls: type, builder: Callable[..., object]) -> None:
    built = builder(*values_for(cls))
    first = dataclasses.fields(cls)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(built, first, "changed")
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(built, first)
    # Any other name is refused as it is on a constructed object (on Python 3.11 a TypeError
    # from the frozen __setattr__ of slotted dataclasses, an AttributeError later).
    refused = []
    for target in (built, cls(*values_for(cls))):
        with pytest.raises((AttributeError, TypeError)) as error:
            target.not_a_field = 1
        refused.append(error.type)
    assert refused[0] is refused[1]
    assert getattr(built, first) == "value 0"


@pytest.mark.parametrize(("cls", "builder"), BUILDERS, ids=IDS)
@given(data=st.data())
def test_builders_equal_the_constructors_on_any_values(
    cls: type, builder: Callable[..., object], data: st.DataObject
) -> None:
    values = [data.draw(VALUES) for _ in dataclasses.fields(cls)]
    built, made = builder(*values), cls(*values)
    assert type(built) is cls
    assert built == made
    assert hash(built) == hash(made)
    assert dataclasses.replace(built) == made  # type: ignore[type-var]
    assert copy.copy(built) == made
    assert pickle.loads(pickle.dumps(built)) == made


def test_a_builder_listing_other_fields_is_refused_at_import() -> None:
    with pytest.raises(RuntimeError, match="Address"):
        _twin(Address, "name", "route", "mailbox")


def test_a_class_whose_layout_differs_is_refused_at_import() -> None:
    @dataclasses.dataclass(frozen=True)  # no slots: a __dict__ layout, which no twin shares
    class Unslotted:
        name: str

    with pytest.raises(RuntimeError, match="Unslotted"):
        _twin(Unslotted, "name")
