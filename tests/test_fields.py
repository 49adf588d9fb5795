"""The field-type registry: every kind round-trips its values through columns and the wire, and what a
laptop sends is what the server's check accepts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfa.domain.entities import ENTITIES, Field
from sfa.domain.errors import ValidationError
from sfa.domain.fields import FIELD_TYPES, FieldType, field_type, register

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
words = st.lists(st.text("abcdefghij", min_size=1, max_size=6), max_size=4)

VALUES: dict[str, st.SearchStrategy[Any]] = {
    "text": text,
    "email": text,
    "phone": text,
    "url": text,
    "currency": st.sampled_from(["EUR", "USD", "JPY"]),
    "enum": st.sampled_from(["a", "b"]),
    "ref": st.uuids().map(str),
    "int": st.integers(-(2**63), 2**63 - 1),
    "float": st.floats(-180, 180),
    "decimal": st.decimals(
        allow_nan=False, allow_infinity=False, places=4, min_value=-(10**12), max_value=10**12
    ),
    "date": st.dates(),
    "datetime": st.datetimes(min_value=datetime(1971, 1, 1), timezones=st.just(UTC)).map(
        lambda moment: moment.replace(microsecond=0)
    ),
    "refs": st.lists(st.uuids().map(str), max_size=3),
    "tags": words.map(lambda tags: sorted(set(tags))),
    "bool": st.booleans(),
}


def field_of(kind: str) -> Field:
    return Field("value", kind, choices=("a", "b"), ref="account")


def test_every_kind_the_records_use_is_registered_and_has_a_strategy_here() -> None:
    used = {f.kind for entity in ENTITIES.values() for f in entity.fields}
    assert used <= set(FIELD_TYPES)
    assert set(FIELD_TYPES) == set(VALUES)


@pytest.mark.parametrize("kind", sorted(VALUES))
def test_values_round_trip_through_column_and_wire(kind: str) -> None:
    spec = field_of(kind)

    @given(VALUES[kind])
    def check(value: Any) -> None:
        assert spec.type.from_column(spec.type.to_column(value)) == value
        wire = spec.type.to_wire(value)
        assert spec.type.from_wire(wire) == value
        # what a laptop sends passes the server's check, unchanged
        assert spec.type.check_wire(spec, wire) == wire
        # a pulled value goes straight to the column it would have been written to
        assert spec.type.wire_to_column(wire) == spec.type.to_column(value)

    check()


@pytest.mark.parametrize("kind", sorted(VALUES))
def test_an_empty_value_has_one_form_everywhere(kind: str) -> None:
    spec = field_of(kind)
    empty = spec.type.to_wire(None)
    assert spec.type.check_wire(spec, None) == empty
    assert spec.type.from_column(spec.type.to_column(None)) == spec.type.from_wire(empty)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("text", 5),
        ("enum", "c"),
        ("int", True),
        ("int", "5"),
        ("float", "1.5"),
        ("decimal", 1.5),
        ("decimal", "Infinity"),
        ("decimal", "abc"),
        ("date", "31.12.2026"),
        ("datetime", 12),
        ("tags", "a,b"),
        ("refs", [1]),
        ("bool", 1),
    ],
)
def test_the_wire_check_refuses_values_of_the_wrong_kind_naming_the_field(kind: str, value: Any) -> None:
    spec = field_of(kind)
    with pytest.raises(ValidationError, match=r"^value: "):
        spec.type.check_wire(spec, value)


def test_parsing_what_people_type() -> None:
    def resolve(entity: str, ref: str) -> str:
        return f"{entity}:{ref}"

    assert field_of("decimal").type.parse(field_of("decimal"), "12k") == Decimal(12000)
    assert field_of("enum").type.parse(field_of("enum"), "B") == "b"
    assert field_of("tags").type.parse(field_of("tags"), "b, a") == ["a", "b"]
    assert field_of("refs").type.parse(field_of("refs"), "x, y", resolve) == ["account:x", "account:y"]
    assert field_of("date").type.parse(field_of("date"), "2026-12-01") == date(2026, 12, 1)
    with pytest.raises(ValidationError, match=r"^value: 'c' is not accepted; use one of a, b"):
        field_of("enum").type.parse(field_of("enum"), "c")
    with pytest.raises(ValidationError, match=r"^latitude: "):
        field_of("float").type.parse(Field("latitude", "float"), "91")


def test_a_new_kind_is_one_class_and_a_name_is_registered_once() -> None:
    class Percent(FieldType):
        name = "percent-test"

    kind = register(Percent())
    try:
        assert field_type("percent-test") is kind
        assert Field("share", "percent-test").type is kind
        with pytest.raises(ValueError, match="registered twice"):
            register(Percent())
    finally:
        del FIELD_TYPES["percent-test"]
    with pytest.raises(ValueError, match="unknown field kind"):
        Field("x", "no-such-kind")
