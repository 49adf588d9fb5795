"""Scenario 14: a seeded random walk of creates, edits and deletes on three laptops across every record
type, syncing at random through the fault proxy; afterwards everything converges."""

from __future__ import annotations

import contextlib
import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from faultproxy import FaultProxy
from synchelp import Server, comparable

from sfa.domain.entities import ENTITIES, Entity
from sfa.domain.errors import UnreachableError
from sfa.server import roles
from sfa.store import codec
from sfa.store.workspace import Workspace
from sfa.sync import engine

STEPS = 300
# Kinds a rep may not write (sfa/server/roles.py), and kinds whose writes are bound to a person
# (approvals name a record on the server, reviews their reviewer) or to admins (territories): left
# to their own tests.
MANAGERS_ONLY = frozenset({"product"}) | roles.MANAGED | roles.PRODUCT_DATA
# forecast adjustments: their owner is the user who pushes them
PERSONAL = frozenset({"approval", "review", "territory", "forecast_adjustment"})  # territory: admins only
# ... and kinds with a lifecycle the server enforces (a submitted order, an activated contract and
# their lines refuse edits; a document needs its content and the record it belongs to): their own
# end-to-end tests (tests/sync/test_deal_e2e.py, test_orders_sync.py, test_contracts_sync.py,
# test_documents_sync.py) cover them.
PERSONAL |= frozenset({"order", "order_line", "contract", "contract_line", "document"})
# ... and incentives: an approved plan is immutable, commission lines insert-only, statements move
# one way (tests/sync/test_sync_commission.py).
PERSONAL |= frozenset({"commission_plan", "commission_line", "commission_statement"})
WORDS = ("alpha", "bravo", "delta", "echo", "lima", "oscar", "tango", "zulu")


def _value(entity: Entity, name: str, rng: random.Random) -> Any:
    spec = entity.by_name[name]
    kind = spec.kind
    if kind == "decimal":  # within every decimal field's bounds (rates are at most 100)
        return Decimal(rng.randint(1, 400)) / 4
    if kind == "int":
        return rng.randint(0, 100)
    if kind == "float":
        return round(rng.uniform(-80, 80), 4)
    if kind == "enum":
        return rng.choice(spec.choices)
    if kind == "tags":
        return sorted(rng.sample(WORDS, rng.randint(0, 3)))
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "date":
        return datetime(2026, 1, 1).date() + timedelta(days=rng.randint(0, 300))
    if kind == "datetime":
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 500_000))
    if kind == "currency":
        return rng.choice(("EUR", "USD"))
    return f"{rng.choice(WORDS)} {rng.randint(0, 999)}"


EDITABLE = {  # fields a random edit may touch (not refs, scope or the tombstone)
    name: [
        f.name
        for f in e.fields
        if f.kind not in ("ref", "refs")
        and f.name not in ("owner", "team", "deleted", "record_entity", "record_id")
    ]
    for name, e in ENTITIES.items()
}


class Walker:
    def __init__(self, ws: Workspace, name: str, rng: random.Random) -> None:
        self.ws, self.name, self.rng = ws, name, rng
        self.writes: list[tuple[str, str, str, Any]] = []  # entity, id, field, wire value

    def pick(self, entity: str) -> dict[str, Any] | None:
        rows = self.ws.store.select(ENTITIES[entity], limit=200)
        return self.rng.choice(rows) if rows else None

    def create(self, entity_name: str) -> None:
        entity, rng = ENTITIES[entity_name], self.rng
        values: dict[str, Any] = {}
        for spec in entity.fields:
            if spec.name in ("owner", "team", "deleted", "record_entity", "record_id"):
                continue
            if spec.kind == "ref":
                target = self.pick(spec.ref or "")
                if target is not None and (spec.required or rng.random() < 0.5):
                    values[spec.name] = target["id"]
                elif spec.required:
                    return
            elif spec.kind == "refs":
                continue
            elif spec.required or spec.kind in ("enum", "int") or rng.random() < 0.4:
                values[spec.name] = _value(entity, spec.name, rng)
        if "owner" in entity.by_name:
            values["owner"] = self.name
        if "team" in entity.by_name:
            values["team"] = "north"
        if entity_name == "timeline":
            parent = self.pick("account")
            if parent is None:
                return
            values.update(record_entity="account", record_id=parent["id"], kind="note")
        record = self.ws.store.insert(entity, values)
        for name, value in values.items():
            self.writes.append((entity_name, record["id"], name, codec.to_wire(entity.by_name[name], value)))

    def edit(self, entity_name: str) -> None:
        entity = ENTITIES[entity_name]
        record = self.pick(entity_name)
        if record is None or entity.insert_only:
            return
        name = self.rng.choice(EDITABLE[entity_name])
        value = _value(entity, name, self.rng)
        self.ws.store.update(entity, record["id"], {name: value})
        self.writes.append((entity_name, record["id"], name, codec.to_wire(entity.by_name[name], value)))

    def delete(self, entity_name: str) -> None:
        entity = ENTITIES[entity_name]
        record = self.pick(entity_name)
        if record is not None and "deleted" in entity.by_name:
            self.ws.store.delete(entity, record["id"])


def test_14_random_convergence(laptop: Any, proxy: FaultProxy, server: Server, monkeypatch: Any) -> None:
    monkeypatch.setenv("SFA_SYNC_RETRIES", "1")
    monkeypatch.setenv("SFA_SYNC_BATCH", "7")
    monkeypatch.setenv("SFA_SYNC_PAGE", "11")
    rng = random.Random(20261123)
    laps = [laptop("ana"), laptop("bob"), laptop("mia", role="manager")]
    walkers = [
        Walker(lap.workspace(), name, rng) for lap, name in zip(laps, ("ana", "bob", "mia"), strict=True)
    ]
    # Every kind, the core ones (whose coverage the end checks) three times as often: with thirty
    # kinds, 300 steps would otherwise leave some core kind untouched.
    core = ["account", "contact", "opportunity", "timeline", "product", "quote", "quote_line", "lead"]
    entity_names = [name for name in ENTITIES if name not in PERSONAL] + core * 2
    faults = ("cut_before", "cut_after", "truncate")
    try:
        for _ in range(STEPS):
            walker = rng.choice(walkers)
            roll = rng.random()
            entity = rng.choice(entity_names)
            if entity in MANAGERS_ONLY and walker.name != "mia":
                continue  # the server takes these from managers only (docs/policy.md)
            if roll < 0.35:
                walker.create(entity)
            elif roll < 0.65:
                walker.edit(entity)
            elif roll < 0.72:
                walker.delete(entity)
            else:
                if rng.random() < 0.4:
                    proxy.add(
                        rng.choice(("/v1/push", "/v1/pull")), rng.choice(faults), skip=rng.randint(0, 2)
                    )
                with contextlib.suppress(UnreachableError):
                    engine.sync_once(walker.ws)
        proxy.clear()
        for _ in range(2):
            for walker in walkers:
                engine.sync_once(walker.ws)
    finally:
        for walker in walkers:
            walker.ws.close()
    expected = comparable(server.records())
    assert len(expected) > 40
    assert sum(proxy.faults.values()) >= 5  # the network really misbehaved along the way
    conflicts = server.query("SELECT count(*) FROM record WHERE entity = '_conflict'")[0][0]
    print(f"records {len(expected)}, faults {dict(proxy.faults)}, conflicts {conflicts}")
    assert {e for e, _ in expected} >= {"account", "contact", "opportunity", "timeline", "product", "quote"}
    for lap in laps:
        assert comparable(lap.records()) == expected
    # Nothing duplicated: every id appears once per laptop (dict keys), and once on the server.
    ids = [row[0] for row in server.query("SELECT id FROM record")]
    assert len(ids) == len(set(ids))
    # Every accepted write is the final value, or kept in some history or in the conflicts.
    seen: set[tuple[str, str, str]] = set()
    for row in server.query("SELECT fields FROM record WHERE entity = '_conflict'"):
        fields = json.loads(row[0])
        for key in ("kept", "lost"):
            seen.add((fields["record_id"][0], fields["field"][0], codec.dumps(fields[key][0])))
    for lap in laps:
        ws = lap.workspace()
        try:
            for rid, field, old, new in ws.store.conn.execute(
                "SELECT record_id, field, old_value, new_value FROM history"
            ):
                seen.add((rid, field, old or "null"))
                seen.add((rid, field, new or "null"))
        finally:
            ws.close()
    for walker in walkers:
        for entity, record_id, field, value in walker.writes:
            final = expected.get((entity, record_id), {}).get(field)
            if final == value:
                continue
            assert (record_id, field, codec.dumps(value)) in seen, (entity, record_id, field, value, final)
