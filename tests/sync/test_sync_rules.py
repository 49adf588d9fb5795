"""The server's pure merge rules (sfa/server/merge.py), without a server."""

from __future__ import annotations

from typing import Any

import pytest

from sfa.domain.hlc import Hlc
from sfa.server import merge as rules

NOW = 1_763_875_469_000
RID = "01934b7e-0000-7000-8000-000000000001"


def clock(ms: int, replica: str = "aaaa") -> str:
    return Hlc(ms, 0, replica).encode()


def test_sequential_edit_applies_without_conflict() -> None:
    current = {"phone": ["1", clock(NOW - 10)]}
    result = rules.merge(
        "contact", RID, current, {"phone": ["2", clock(NOW)]}, {"phone": clock(NOW - 10)}, None, NOW
    )
    assert result.state["phone"][0] == "2" and not result.conflicts


@pytest.mark.parametrize(("incoming_ms", "winner"), [(NOW, "2"), (NOW - 20, "1")])
def test_concurrent_descriptive_edit_last_writer_wins_loser_kept(incoming_ms: int, winner: str) -> None:
    current = {"phone": ["1", clock(NOW - 10, "bbbb")]}
    result = rules.merge("contact", RID, current, {"phone": ["2", clock(incoming_ms)]}, {}, None, NOW)
    assert result.state["phone"][0] == winner
    assert result.changed["phone"][0] == winner  # the writer gets the decision back
    [conflict] = result.conflicts
    assert (
        conflict["kind"] == "lww"
        and conflict["kept"] == winner
        and conflict["lost"] == ({"1", "2"} - {winner}).pop()
    )


def test_money_keeps_the_server_value_and_flags() -> None:
    current = {"amount": ["100.00", clock(NOW - 10, "bbbb")]}
    result = rules.merge("opportunity", RID, current, {"amount": ["200.00", clock(NOW)]}, {}, None, NOW)
    assert result.state["amount"][0] == "100.00" and result.flagged
    assert [(c["kind"], c["kept"], c["lost"]) for c in result.conflicts] == [("flag", "100.00", "200.00")]


def test_tags_concurrent_union_sequential_replace() -> None:
    current = {"tags": [["a", "b"], clock(NOW - 10, "bbbb")]}
    concurrent = rules.merge("account", RID, current, {"tags": [["c"], clock(NOW)]}, {}, None, NOW)
    assert concurrent.state["tags"][0] == ["a", "b", "c"] and not concurrent.conflicts
    sequential = rules.merge(
        "account", RID, current, {"tags": [["c"], clock(NOW)]}, {"tags": clock(NOW - 10, "bbbb")}, None, NOW
    )
    assert sequential.state["tags"][0] == ["c"]


def _deleted(state: dict[str, Any]) -> bool:
    return bool(state["deleted"][0])


def test_delete_racing_edit_keeps_the_record_in_both_orders() -> None:
    base = {
        "name": ["Jane", clock(NOW - 100)],
        "phone": ["1", clock(NOW - 100)],
        "deleted": [False, clock(NOW - 100)],
    }
    known = {"name": clock(NOW - 100), "phone": clock(NOW - 100)}
    edit = {"phone": ["2", clock(NOW - 5, "bbbb")]}
    delete = {"deleted": [True, clock(NOW - 6)]}
    # Delete first, then the edit.
    first = rules.merge("contact", RID, base, delete, {"deleted": clock(NOW - 100)}, known, NOW)
    assert _deleted(first.state)
    then = rules.merge("contact", RID, first.state, edit, {"phone": clock(NOW - 100)}, None, NOW)
    # Edit first, then the delete.
    other = rules.merge("contact", RID, base, edit, {"phone": clock(NOW - 100)}, None, NOW)
    after = rules.merge("contact", RID, other.state, delete, {"deleted": clock(NOW - 100)}, known, NOW)
    for outcome in (then, after):
        assert not _deleted(outcome.state) and outcome.state["phone"][0] == "2"
        assert [c["kind"] for c in outcome.conflicts] == ["delete"]


def test_delete_that_saw_everything_applies() -> None:
    base = {"name": ["Jane", clock(NOW - 100)], "deleted": [False, clock(NOW - 100)]}
    result = rules.merge(
        "contact",
        RID,
        base,
        {"deleted": [True, clock(NOW)]},
        {"deleted": clock(NOW - 100)},
        {"name": clock(NOW - 100)},
        NOW,
    )
    assert _deleted(result.state) and not result.conflicts


def test_clock_skew_is_corrected_and_clamped() -> None:
    three_days = 3 * 24 * 3600 * 1000
    skew = rules.skew_of(NOW + three_days + 50, NOW)
    assert skew == three_days + 50
    assert rules.clamp(clock(NOW + three_days - 1000), NOW, skew) == clock(NOW - 1050)
    assert rules.skew_of(NOW + 1000, NOW) == 0  # within the allowance
    assert rules.clamp(clock(NOW + three_days), NOW) == clock(NOW)  # no measure: clamped to now


def test_scope_rules() -> None:
    rep = rules.User("ana", "rep", "north")
    manager = rules.User("mia", "manager", "north")
    assert (
        rules.visible(rep, "bob", "north")
        and rules.visible(rep, "ana", None)
        and rules.visible(rep, None, None)
    )
    assert not rules.visible(rep, "sam", "south")
    assert rules.may_write(rep, ("ana", "north"), ("sam", "south")) is not None
    assert rules.may_write(manager, ("ana", "north"), ("sam", "south")) is None
    assert rules.may_write(manager, ("sam", "south"), ("sam", "south")) is not None
    assert rules.may_write(rules.User("root", "admin", None), ("sam", "south"), ("x", "y")) is None


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"amount": ["abc", clock(NOW)]}, "decimal"),
        ({"stage": [3, clock(NOW)]}, "text"),
        ({"probability": [True, clock(NOW)]}, "whole number"),
        ({"close_date": ["someday", clock(NOW)]}, "date"),
        ({"tags": ["x", clock(NOW)]}, "list of text"),
        ({"name": ["x", "0:0:bad replica!"]}, "clock"),
        ({"name": [None, clock(NOW)]}, "required"),
    ],
)
def test_invalid_values_are_reasoned(fields: dict[str, Any], reason: str) -> None:
    mutation = rules.Mutation(1, "opportunity", RID, fields, {}, None)
    with pytest.raises(rules.Invalid, match=reason):
        rules.validate(mutation, exists=True)
