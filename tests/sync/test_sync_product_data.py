"""Specs, configurator options and rules are product data a manager writes (issue 17): the server
refuses them from a rep with a reason whatever the laptop sends; the CLI refuses early."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from inprocess import InProcessServer
from test_sync_policy import Pusher

from sfa.domain import ids
from sfa.store.workspace import Workspace


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    (tmp_path / "server").mkdir()
    srv = InProcessServer(tmp_path / "server")
    yield srv
    srv.close()


KINDS = {
    "product_spec": {"name": "Stroke", "value": "600", "unit": "mm", "position": 1},
    "product_option": {"attribute": "Voltage", "value": "24V", "extra": "0", "position": 1},
    "option_rule": {"when_options": "Voltage=230V", "action": "exclude", "target": "Housing=Plastic"},
}


@pytest.mark.parametrize("entity", sorted(KINDS))
def test_only_managers_and_admins_write_product_data(server: InProcessServer, entity: str) -> None:
    admin = Pusher(server, "root", "admin", None)
    product = ids.uuid7()
    assert (
        admin.push("product", product, {"sku": "LA", "name": "LA", "unit_price": "1"})["status"] == "applied"
    )
    values = {"product_id": product, **KINDS[entity]}
    rep = Pusher(server, "ana", "rep", "north")
    refused = rep.push(entity, ids.uuid7(), values)
    assert refused["status"] == "rejected"
    assert refused["reason"] == "product specs, options and rules are changed by managers and admins only"
    other_team_manager = Pusher(server, "olga", "manager", "south")
    record = ids.uuid7()
    assert other_team_manager.push(entity, record, values)["status"] == "applied"  # products are everyone's
    edit = {"position": 2}
    assert rep.push(entity, record, edit)["status"] == "rejected"  # nor may a rep change one
    assert admin.push(entity, record, edit)["status"] != "rejected"  # (a conflict: no base given)


def test_the_cli_refuses_a_rep_early(home: Path, sfa: object) -> None:
    from typing import Any

    run: Any = sfa
    assert run("product", "add", "Actuator", "--sku", "LA", "--price", "10").code == 0
    ws = Workspace(home)
    try:
        ws.config.set("sync.url", "http://127.0.0.1:9")
        with ws.store.transaction():
            ws.store.set_meta("sync.role", "rep")
    finally:
        ws.close()
    for args in (
        ("product", "spec", "set", "LA", "Stroke", "600"),
        ("product", "option", "add", "LA", "--attribute", "Voltage", "--value", "24V"),
    ):
        result = run(*args)
        assert result.code != 0 and "only a manager or an admin may change it (you are a rep)" in result.err
    assert run("product", "show", "LA", "--json").json()["specs"] == []


def test_product_documents_are_a_managers_and_other_documents_are_not(server: InProcessServer) -> None:
    admin = Pusher(server, "root", "admin", None)
    product = ids.uuid7()
    assert (
        admin.push("product", product, {"sku": "LA", "name": "LA", "unit_price": "1"})["status"] == "applied"
    )
    sheet = {
        "title": "Datasheet",
        "kind": "datasheet",
        "filename": "la.pdf",
        "size": 10,
        "sha256": "0" * 64,
        "record_entity": "product",
        "record_id": product,
        "version": 1,
    }
    rep = Pusher(server, "ana", "rep", "north")
    refused = rep.push("document", ids.uuid7(), sheet)
    assert refused["status"] == "rejected"  # (the scope rule says it first: unscoped is a manager's)
    manager = Pusher(server, "olga", "manager", "south")
    made = ids.uuid7()
    assert manager.push("document", made, sheet)["status"] == "applied"
    edit = rep.push("document", made, {"title": "mine now"})
    assert edit["status"] == "rejected"  # an edit neither
    assert (
        edit["reason"] == "product documents (datasheets, pictures) are changed by managers and admins only"
    )
    contact = ids.uuid7()
    scope = {"owner": "ana", "team": "north"}
    assert rep.push("contact", contact, {"name": "Eva", **scope})["status"] == "applied"
    card = {**sheet, "kind": "photo", "record_entity": "contact", "record_id": contact, **scope}
    assert rep.push("document", ids.uuid7(), card)["status"] == "applied"  # a rep's own record's: fine
