"""Properties of the server's merge rules alone (sfa/server/merge.py): no server, no I/O."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sfa.domain.hlc import Hlc
from sfa.server import merge as rules

NOW = 1_763_875_469_000
RID = "01934b7e-0000-7000-8000-000000000001"
VALUES = st.sampled_from(("a", "b", "c", None))

clocks = st.builds(
    lambda ms, counter, replica: Hlc(ms, counter, replica).encode(),
    st.integers(NOW - 5_000, NOW),
    st.integers(0, 3),
    st.sampled_from(("aaaa", "bbbb", "cccc")),
)
writes = st.lists(st.tuples(VALUES, clocks), min_size=1, max_size=5, unique_by=lambda w: w[1])


def apply_all(entity: str, field: str, order: list[tuple[Any, str]]) -> tuple[rules.Fields, list[Any]]:
    """Concurrent writes (no base: nobody had seen the others) applied one after another."""
    state: rules.Fields | None = None
    conflicts: list[Any] = []
    for value, clock in order:
        outcome = rules.merge(entity, RID, state, {field: [value, clock]}, {}, None, NOW)
        state = outcome.state
        conflicts.extend(outcome.conflicts)
    assert state is not None
    return state, conflicts


@settings(max_examples=300)
@given(writes, st.data())
def test_concurrent_lww_writes_end_the_same_in_any_order(batch: list[tuple[Any, str]], data: Any) -> None:
    order = data.draw(st.permutations(batch))
    state, conflicts = apply_all("contact", "phone", order)
    first, _ = apply_all("contact", "phone", batch)
    assert state == first
    # The greatest clock wins.
    assert state["phone"] == list(max(batch, key=lambda w: w[1]))
    # Every value that lost is kept in a conflict.
    winner = state["phone"][0]
    for value, _ in batch:
        if value != winner:
            assert any(c["lost"] == value for c in conflicts), (value, conflicts)


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(st.lists(st.sampled_from("xyz"), max_size=3, unique=True), clocks),
        min_size=1,
        max_size=4,
        unique_by=lambda w: w[1],
    ),
    st.data(),
)
def test_concurrent_tag_writes_are_the_union_in_any_order(batch: list[tuple[Any, str]], data: Any) -> None:
    order = data.draw(st.permutations(batch))
    state, _ = apply_all("contact", "tags", order)
    assert sorted(state["tags"][0]) == sorted(set().union(*(set(tags) for tags, _ in batch)))


@settings(max_examples=300)
@given(VALUES, clocks, VALUES, clocks, st.booleans())
def test_repeated_mutation_is_idempotent(old: Any, old_clock: str, new: Any, clock: str, seen: bool) -> None:
    """Applying a mutation again changes nothing. (A write that lost would raise its conflict again:
    the protocol never applies a mutation twice, by its seq; test_sync_stateful repeats requests.)"""
    assume(old_clock != clock)  # one clock, one write
    current = {"phone": [old, old_clock]}
    base = {"phone": old_clock} if seen else {}
    once = rules.merge("contact", RID, current, {"phone": [new, clock]}, base, None, NOW)
    twice = rules.merge("contact", RID, once.state, {"phone": [new, clock]}, base, None, NOW)
    assert twice.state == once.state
    if not once.conflicts:
        assert twice.conflicts == [] and all(twice.state[k] == v for k, v in twice.changed.items())


@settings(max_examples=300)
@given(VALUES, clocks, VALUES, clocks)
def test_later_clock_wins_a_concurrent_edit_and_the_loser_is_kept(
    old: Any, old_clock: str, new: Any, clock: str
) -> None:
    if old == new or old_clock == clock:
        return
    outcome = rules.merge("contact", RID, {"phone": [old, old_clock]}, {"phone": [new, clock]}, {}, None, NOW)
    winner, loser = (
        ((new, clock), (old, old_clock)) if clock > old_clock else ((old, old_clock), (new, clock))
    )
    assert outcome.state["phone"] == list(winner)
    assert outcome.changed["phone"][0] == winner[0]  # the writer is told the decision
    [conflict] = outcome.conflicts
    assert (conflict["kind"], conflict["kept"], conflict["lost"], conflict["lost_clock"]) == (
        "lww",
        winner[0],
        loser[0],
        loser[1],
    )


@settings(max_examples=300)
@given(VALUES, clocks, VALUES, clocks)
def test_sequential_edit_wins_whatever_its_clock(old: Any, old_clock: str, new: Any, clock: str) -> None:
    outcome = rules.merge(
        "contact", RID, {"phone": [old, old_clock]}, {"phone": [new, clock]}, {"phone": old_clock}, None, NOW
    )
    assert outcome.state["phone"][0] == new and outcome.conflicts == []
    assert outcome.state["phone"][1] >= old_clock


@settings(max_examples=300)
@given(VALUES, VALUES, clocks, clocks, clocks)
def test_flag_field_keeps_the_server_value_and_flags(
    old: Any, new: Any, old_clock: str, clock: str, _unused: str
) -> None:
    if old == new:
        return
    outcome = rules.merge(
        "opportunity", RID, {"stage": [old, old_clock]}, {"stage": [new, clock]}, {}, None, NOW
    )
    assert outcome.state["stage"] == [old, old_clock] and outcome.flagged
    [conflict] = outcome.conflicts
    assert (conflict["kind"], conflict["kept"], conflict["lost"]) == ("flag", old, new)


@settings(max_examples=200)
@given(
    st.integers(NOW - 9_000, NOW - 5_000),
    st.integers(1, 4_000),
    st.integers(1, 4_000),
    VALUES,
    st.sampled_from(("aaaa", "bbbb")),
    st.sampled_from(("bbbb", "cccc")),
)
def test_delete_racing_an_edit_keeps_the_record_in_both_orders(
    at: int, edit_after: int, delete_after: int, value: Any, editor: str, deleter: str
) -> None:
    created = Hlc(at, 0, "aaaa").encode()
    edit_clock = Hlc(at + edit_after, 0, editor).encode()
    delete_clock = Hlc(at + delete_after, 1, deleter).encode()
    start = {"name": ["Jo", created], "phone": ["0", created]}
    known = {"name": created, "phone": created}  # the deleter had not seen the edit
    edit = {"phone": [value if value != "0" else "1", edit_clock]}
    delete = {"deleted": [True, delete_clock]}
    results = []
    for first, second in itertools.permutations([("edit", edit), ("delete", delete)]):
        state: rules.Fields = {k: list(v) for k, v in start.items()}
        for kind, fields in (first, second):
            outcome = rules.merge(
                "contact", RID, state, dict(fields), {}, known if kind == "delete" else None, NOW
            )
            state = outcome.state
        results.append(state)
    for state in results:
        assert state["deleted"][0] is False  # alive
        assert state["phone"][0] == edit["phone"][0]  # the edit is kept
