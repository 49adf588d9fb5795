"""Poison pushes (issue 18): values a laptop cannot store, pushed raw with a valid token, are
rejected with a reason naming the field, nothing of them applied, and a teammate's `sfa sync` and
every report still exit 0 — on SQLite and PostgreSQL, against the real server process, whose log
holds no traceback at the end."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serverworld import World, new_id
from synchelp import BACKENDS

from sfa.domain.entities import ENTITIES
from sfa.server.wire import NOT_NULL
from sfa.store.workspace import Workspace


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    pg = request.getfixturevalue("pg_cluster") if request.param == "postgres" else None
    made = World(tmp_path_factory.mktemp(f"poison-{request.param}"), request.param, pg)
    made.records = base_records(made)  # type: ignore[attr-defined]
    made.teammate_ok()
    yield made
    made.newcomer_ok(tmp_path_factory.mktemp("newcomer"))
    log = made.server_log()
    made.close()
    assert "Traceback" not in log, log[-3000:]


def base_records(w: World) -> dict[str, str]:
    """Valid records the poison edits aim at, in eve's team (north), so the teammate sees them."""
    scope = {"owner": "eve", "team": "north"}
    account = w.applied("account", {"name": "Acme", **scope})
    quote = w.applied(
        "quote",
        {"number": "Q-1", "revision": 1, "status": "draft", "account_id": account, **scope},
    )
    return {
        "account": account,
        "opportunity": w.applied(
            "opportunity", {"name": "Big", "account_id": account, "stage": "prospecting", **scope}
        ),
        "quote": quote,
        "lead": w.applied("lead", {"name": "Lee", "status": "new", **scope}),
        "task": w.applied("task", {"title": "Call", "priority": "normal", "status": "open", **scope}),
        "visit": w.applied(
            "visit",
            {"account_id": account, "starts_at": "2026-12-01T09:00:00.000Z", "status": "planned", **scope},
        ),
        "quote_line": w.applied(
            "quote_line",
            {"quote_id": quote, "position": 1, "description": "x", "quantity": "1", "unit_price": "10"},
        ),
    }


# (label, entity, "new" for a create or "edit" of the base record, values, the field the reason names)
def _scope() -> dict[str, Any]:
    return {"owner": "eve", "team": "north"}


POISON: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("revision 10**30", "quote", "edit", {"revision": 10**30}, "revision"),
    ("probability 2**63", "opportunity", "edit", {"probability": 2**63}, "probability"),
    ("probability 101", "opportunity", "edit", {"probability": 101}, "probability"),
    ("lead without status", "lead", "new", {"name": "L", **_scope()}, "status"),
    ("task without priority", "task", "new", {"title": "T", "status": "open", **_scope()}, "priority"),
    ("quote without revision", "quote", "new", {"number": "Q-2", "status": "draft", **_scope()}, "revision"),
    ("revision set to null", "quote", "edit", {"revision": None}, "revision"),
    ("lead status set to null", "lead", "edit", {"status": None}, "status"),
    ("task priority set to null", "task", "edit", {"priority": None}, "priority"),
    ("amount 1e999999", "opportunity", "edit", {"amount": "1e999999"}, "amount"),
    ("amount 1e20", "opportunity", "edit", {"amount": "1e20"}, "amount"),
    ("amount NaN", "opportunity", "edit", {"amount": "NaN"}, "amount"),
    ("amount with spaces", "opportunity", "edit", {"amount": " 12 "}, "amount"),
    ("quantity 1e999999", "quote_line", "edit", {"quantity": "1e999999"}, "quantity"),
    ("close_date 20261231", "opportunity", "edit", {"close_date": "20261231"}, "close_date"),
    ("close_date 2026-W01-1", "opportunity", "edit", {"close_date": "2026-W01-1"}, "close_date"),
    ("starts_at without zone", "visit", "edit", {"starts_at": "2026-12-01T09:00:00"}, "starts_at"),
    ("starts_at compact", "visit", "edit", {"starts_at": "20261201T090000Z"}, "starts_at"),
    ("status not a choice", "lead", "edit", {"status": "won"}, "status"),
    ("currency lower case", "opportunity", "edit", {"currency": "eur"}, "currency"),
    ("latitude 1e308", "account", "edit", {"latitude": 1e308}, "latitude"),
    ("NUL in text", "account", "edit", {"city": "Bo\x00nn"}, "city"),
    ("lone surrogate in text", "account", "edit", {"city": "Bo\ud800nn"}, "city"),
    ("tags not text", "account", "edit", {"tags": ["ok", 3]}, "tags"),
    ("flag a string", "account", "edit", {"deleted": "yes"}, "deleted"),
]


def _without_server_nulls(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in json.loads(row[0]).items() if not (v[0] is None and v[1].endswith(":server"))}
        for row in rows
    ]


@pytest.mark.parametrize(("label", "entity", "how", "values", "field"), POISON, ids=[p[0] for p in POISON])
def test_poison_value_is_rejected_and_teammates_sync(
    world: World, label: str, entity: str, how: str, values: dict[str, Any], field: str
) -> None:
    records: dict[str, str] = world.records  # type: ignore[attr-defined]
    record_id = new_id() if how == "new" else records[entity]
    if how == "new" and entity == "quote":
        values = {**values, "account_id": records["account"]}
    before = world.server.query(f"SELECT fields FROM record WHERE id = '{record_id}'")
    result = world.push(entity, record_id, values)
    assert result["status"] == "rejected", (label, result)
    assert result["reason"].startswith(field), (label, result)
    after = world.server.query(f"SELECT fields FROM record WHERE id = '{record_id}'")
    # Nothing of it applied. A field the record never had gets "no value" with a server clock
    # after the rejected one, so the pushing laptop drops its copy (app.py `_revert`).
    assert _without_server_nulls(after) == _without_server_nulls(before)
    if before:
        new = json.loads(after[0][0]).keys() - json.loads(before[0][0]).keys()
        assert all(json.loads(after[0][0])[name][0] is None for name in new)
    world.teammate_ok()


def test_a_clock_not_of_the_fixed_width_form_is_rejected(world: World) -> None:
    account = world.records["account"]  # type: ignore[attr-defined]
    for clock in ("9:00000:eeeeeeeeeeeeeeee", "0001763875469123:0:ee", "0001763875469123:00000:e\n"):
        result = world.push("account", account, {"city": "Late"}, clock=clock)
        assert result["status"] == "rejected" and "clock" in result["reason"], (clock, result)
    world.teammate_ok()


def _a_conflict(world: World) -> tuple[str, dict[str, Any]]:
    """A conflict record on the base account (made once per world) and its fields on the server."""
    made: tuple[str, dict[str, Any]] | None = getattr(world, "conflict", None)
    if made is None:
        account = world.records["account"]  # type: ignore[attr-defined]
        world.push("account", account, {"industry": "Steel"})
        # A concurrent edit (its base is not the server's clock): a conflict record is made.
        result = world.push(
            "account", account, {"industry": "Glass"}, base={"industry": "0" * 16 + ":00000:x"}
        )
        assert result["status"] == "conflict", result
        conflict = result["conflicts"][0]
        rows = world.server.query(f"SELECT fields FROM record WHERE id = '{conflict}'")
        made = conflict, {k: v[0] for k, v in json.loads(rows[0][0]).items()}
        world.conflict = made  # type: ignore[attr-defined]
    return made


# (label, values pushed to the conflict record, or to a new one for "create", the field named)
CONFLICT_POISON: list[tuple[str, str, dict[str, Any], str]] = [
    ("status an object", "edit", {"status": {"x": 1}}, "status"),
    ("status null", "edit", {"status": None}, "status"),
    ("status not a choice", "edit", {"status": "closed"}, "status"),
    ("resolution a list", "edit", {"resolution": [1, 2]}, "resolution"),
    ("resolution with NUL", "edit", {"resolution": "a\x00b"}, "resolution"),
    ("kept rewritten", "edit", {"kept": "mine"}, "kept"),
    ("create without fields", "create", {"status": "open"}, "entity"),
    ("create with a kept value the field cannot hold", "create", {"kept": 10**30}, "kept"),
    ("create about an unknown field", "create", {"field": "nothing"}, "field"),
    ("create with status an object", "create", {"status": {"x": 1}}, "status"),
]


@pytest.mark.parametrize(
    ("label", "how", "values", "field"), CONFLICT_POISON, ids=[c[0] for c in CONFLICT_POISON]
)
def test_conflict_record_values_are_typed(
    world: World, label: str, how: str, values: dict[str, Any], field: str
) -> None:
    """A `_conflict` edit, or a whole one re-sent as after a restore (docs/sync-protocol.md,
    "Restore"), with a value of the wrong type is rejected naming the field; nothing changes."""
    conflict, fields = _a_conflict(world)
    target = conflict
    if how == "create":
        target = new_id()
        values = {**fields, **values} if label != "create without fields" else values
    before = world.server.query("SELECT id, fields FROM record WHERE entity = '_conflict' ORDER BY id")
    result = world.push("_conflict", target, values)
    assert result["status"] == "rejected" and result["reason"].startswith(field), (label, result)
    assert (
        world.server.query("SELECT id, fields FROM record WHERE entity = '_conflict' ORDER BY id") == before
    )
    world.teammate_ok()


@pytest.mark.parametrize(
    "body",
    [
        {"protocol": 1, "client_id": "eve-raw", "mutations": [{"seq": 2**63}]},
        {"protocol": 1, "client_id": "eve-raw", "mutations": [{"seq": 2**31}]},
        {"protocol": 1, "client_id": "eve-raw", "mutations": [{"seq": "1"}]},
        {"protocol": 1, "client_id": "a\ud800", "mutations": []},
        {"protocol": 1, "client_id": "a\x00b", "mutations": []},
        {"protocol": 1, "client_id": "eve-raw", "acked": 2**63, "mutations": []},
        {"protocol": 1, "client_id": "eve-raw", "cursor": 2**31, "mutations": []},
        {"protocol": "1", "client_id": "eve-raw", "mutations": []},
        {"protocol": 2, "client_id": "eve-raw", "mutations": []},
    ],
    ids=[
        "seq 2**63",
        "seq 2**31",
        "seq a string",
        "client_id surrogate",
        "client_id NUL",
        "acked 2**63",
        "cursor 2**31",
        "protocol a string",
        "protocol 2",
    ],
)
def test_protocol_fields_out_of_range_are_400(world: World, body: dict[str, Any]) -> None:
    reply = world.http.post("/v1/push", content=json.dumps(body).encode())
    assert reply.status_code == 400, reply.text
    world.teammate_ok()


@pytest.mark.parametrize(
    "query",
    [
        "client_id=a%00b",
        "client_id=a%ED%A0%80",
        f"cursor={2**63}",
        f"cursor={2**31}",
        "cursor=x",
        "limit=0",
        f"limit={10**6}",
    ],
)
def test_pull_parameters_out_of_range_are_400(world: World, query: str) -> None:
    assert world.http.get(f"/v1/pull?{query}").status_code == 400, query
    world.teammate_ok()


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 70_000 + b"1" + b"}" * 70_000,
        b'"\xff\xfe"',
        b'{"protocol":1,"client_id":"a\xed\xa0\x80","mutations":[]}',
    ],
    ids=[
        "[ nested 100,000 deep",
        "{ nested 70,000 deep",
        "bytes that are not UTF-8",
        "a surrogate encoded in UTF-8",
    ],
)
def test_deep_nesting_and_bad_unicode_bodies_are_400(world: World, raw: bytes) -> None:
    reply = world.http.post("/v1/push", content=raw)
    assert reply.status_code == 400, reply.text[:200]
    world.teammate_ok()


def test_not_null_fields_match_the_laptops_columns(tmp_path: Path) -> None:
    """wire.NOT_NULL (with `required`) is exactly the set of the laptops' NOT NULL columns that have
    no non-null empty value (lists are '[]', flags 0)."""
    ws = Workspace(tmp_path / "home")
    try:
        path = ws.store.path
    finally:
        ws.close()
    conn = sqlite3.connect(path)
    try:
        for entity in ENTITIES.values():
            columns = {row[1]: bool(row[3]) for row in conn.execute(f"PRAGMA table_info({entity.table})")}
            expected = {f.name for f in entity.fields if columns.get(f.name) and f.type.empty_wire() is None}
            declared = {f.name for f in entity.fields if f.required} | set(NOT_NULL.get(entity.name, ()))
            assert declared == expected, entity.name
    finally:
        conn.close()
