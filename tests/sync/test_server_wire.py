"""The server's value checks (sfa/server/wire.py) accept every value a laptop writes, and refuse what
a laptop cannot store, naming the field."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfa.domain.entities import ENTITIES, Entity, Field
from sfa.domain.money import MAX_AMOUNT, MAX_QUANTITY
from sfa.server import wire

TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30)


def laptop_value(entity: Entity, spec: Field) -> st.SearchStrategy[Any]:
    """Values a laptop holds for `spec`: what typing, imports and the services produce."""
    kind = spec.kind
    if kind == "int":
        return st.integers(0, 100) if spec.name == "probability" else st.integers(-(10**9), 10**9)
    if kind == "float":
        limit = 90 if spec.name == "latitude" else 180
        return st.floats(-limit, limit)
    if kind == "decimal":
        if spec.name in ("quantity", "delivered_quantity", "invoiced_quantity"):
            top, places = MAX_QUANTITY, 3
        elif spec.name in ("tax_rate", "discount_percent"):
            top, places = Decimal(100), 4
        else:
            top, places = MAX_AMOUNT, 2
        return st.decimals(min_value=0, max_value=top, places=places)
    if kind == "enum":
        return st.sampled_from(spec.choices)
    if kind == "currency":
        return st.sampled_from(["EUR", "USD", "JPY"])
    if kind == "date":
        return st.dates()
    if kind == "datetime":
        return st.datetimes(min_value=datetime(1971, 1, 1), timezones=st.just(UTC))
    if kind in ("tags", "refs"):
        return st.lists(TEXT, max_size=3)
    if kind == "bool":
        return st.booleans()
    return TEXT


FIELDS = [(e.name, f.name) for e in ENTITIES.values() for f in e.fields]


@pytest.mark.parametrize(("entity_name", "name"), FIELDS)
def test_every_value_a_laptop_writes_is_accepted(entity_name: str, name: str) -> None:
    entity = ENTITIES[entity_name]
    spec = entity.by_name[name]

    # 25 values a field: ~12,000 over the ~500 fields, hundreds for every kind (fields of one kind
    # share their check); Hypothesis' default 100 a field made this file 24 s of the suite's CPU.
    @settings(max_examples=25)
    @given(laptop_value(entity, spec))
    def check(value: Any) -> None:
        sent = spec.type.to_wire(value)
        assert wire.check_value(entity, name, sent) == spec.type.check_wire(spec, sent)

    check()


@pytest.mark.parametrize(
    ("entity_name", "name", "value"),
    [
        ("quote", "revision", 10**30),
        ("opportunity", "probability", 2**63),
        ("opportunity", "amount", "1e999999"),
        ("opportunity", "amount", "-5"),
        ("opportunity", "amount", "0x10"),
        ("quote_line", "quantity", "1000000"),
        ("quote_line", "tax_rate", "100.5"),
        ("opportunity", "close_date", "20261231"),
        ("opportunity", "close_date", "2026-W01-1"),
        ("opportunity", "close_date", "2026-02-30"),
        ("task", "due_at", "2026-12-31T09:00:00"),
        ("task", "due_at", "2026-12-31"),
        ("account", "latitude", float("inf")),
        ("account", "latitude", 91),
        ("account", "name", "a\x00b"),
        ("account", "name", "\udcff"),
        ("account", "tags", ["a", None]),
        ("lead", "status", None),
        ("quote", "revision", None),
        ("task", "priority", None),
        ("account", "name", None),
        ("opportunity", "currency", "euro"),
    ],
)
def test_what_a_laptop_cannot_store_is_refused_naming_the_field(
    entity_name: str, name: str, value: Any
) -> None:
    with pytest.raises(wire.Invalid, match=rf"^{name}: "):
        wire.check_value(ENTITIES[entity_name], name, value)


def test_conflict_values() -> None:
    assert wire.check_conflict_value("status", "resolved") == "resolved"
    assert wire.check_conflict_value("resolution", None) is None
    for name, value in (("status", None), ("status", {"x": 1}), ("resolution", [1, 2])):
        with pytest.raises(wire.Invalid, match=rf"^{name}: "):
            wire.check_conflict_value(name, value)
    assert "\\u0000" in wire.safe_text("a\x00b") and "\\ud800" in wire.safe_text("a\ud800")
