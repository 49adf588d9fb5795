"""Price lists: prices per currency or customer group, with quantity breaks (docs/policy.md).

A quote line added from a product takes the applicable price at that moment (`price_for`); changing
a list later never changes a line already written.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sfa.domain import policy as rules
from sfa.domain.entities import ACCOUNT, PRICE_LIST, PRICE_LIST_ITEM
from sfa.domain.errors import NotFoundError, ValidationError
from sfa.domain.money import MAX_QUANTITY, QUANTITY_PLACES, parse_amount, parse_currency
from sfa.domain.text import check_text
from sfa.services import authority, products
from sfa.store.db import Record
from sfa.store.workspace import Workspace


def _what(team: str | None) -> str:
    return f"price lists of team {team}" if team else "company-wide price lists"


def default_team(ws: Workspace, team: str | None) -> str | None:
    if team is not None:
        return team.strip() or None
    if authority.role(ws) == "manager":
        return authority.my_team(ws)
    return None


def add(ws: Workspace, name: str, *, currency: str | None, group: str | None, team: str | None) -> Record:
    name = " ".join(check_text("name", name).split())
    if not name:
        raise ValidationError("name", "is required and cannot be empty")
    team = default_team(ws, team)
    authority.require_manager(ws, _what(team), team=team)
    values: Record = {
        "name": name,
        "currency": parse_currency(currency) if currency else ws.setting("currency"),
        "customer_group": check_text("group", group.strip()) or None if group else None,
        "active": True,
        "team": team,
        "owner": None,
    }
    with ws.store.transaction():
        if ws.store.select(PRICE_LIST, "name = ? COLLATE NOCASE", (name,), limit=1):
            raise ValidationError("name", f"a price list named {name!r} exists")
        return ws.store.insert(PRICE_LIST, values)


def resolve(ws: Workspace, ref: str) -> Record:
    found = ws.store.select(PRICE_LIST, "name = ? COLLATE NOCASE", (ref.strip(),), limit=1)
    if found:
        return found[0]
    try:
        return ws.store.resolve(PRICE_LIST, ref)
    except (NotFoundError, ValidationError):
        raise NotFoundError(f"no price list named or with ref {ref!r} (see `sfa pricelist list`)") from None


def list_all(ws: Workspace) -> list[Record]:
    return ws.store.select(PRICE_LIST, order="name COLLATE NOCASE")


def items(ws: Workspace, price_list: Record) -> list[Record]:
    return ws.store.select(PRICE_LIST_ITEM, "price_list_id = ?", (price_list["id"],), order="product_id, rid")


def _min_quantity(text: str | None) -> Decimal:
    if text is None:
        return Decimal(1)
    value = parse_amount(text, "min-qty", limit=MAX_QUANTITY, places=QUANTITY_PLACES, noun="quantity")
    if value <= 0:
        raise ValidationError("min-qty", "must be more than 0")
    return value


def _item_id(price_list: Record, product: Record, minimum: Decimal) -> str:
    # One item per list, product and quantity break on every laptop: two managers setting the same
    # price offline meet as one record, their differing prices as a flagged conflict.
    return rules.stable_id("price_list_item", price_list["id"], product["id"], str(minimum.normalize()))


def set_price(ws: Workspace, list_ref: str, product_ref: str, price: str, min_qty: str | None) -> Record:
    price_list = resolve(ws, list_ref)
    authority.require_manager(ws, _what(price_list["team"]), team=price_list["team"])
    product = products.resolve(ws, product_ref)
    amount = parse_amount(price, "price")
    minimum = _min_quantity(min_qty)
    record_id = _item_id(price_list, product, minimum)
    with ws.store.transaction():
        existing = ws.store.find(PRICE_LIST_ITEM, record_id)
        if existing is None:
            return ws.store.insert(
                PRICE_LIST_ITEM,
                {
                    "price_list_id": price_list["id"],
                    "product_id": product["id"],
                    "min_quantity": minimum,
                    "unit_price": amount,
                    "team": price_list["team"],
                    "owner": None,
                },
                record_id=record_id,
            )
        changes: Record = {"unit_price": amount}
        if existing["deleted"]:
            changes["deleted"] = False
        return ws.store.update(PRICE_LIST_ITEM, record_id, changes)


def remove_price(ws: Workspace, list_ref: str, product_ref: str, min_qty: str | None) -> Record:
    price_list = resolve(ws, list_ref)
    authority.require_manager(ws, _what(price_list["team"]), team=price_list["team"])
    product = products.resolve(ws, product_ref)
    minimum = _min_quantity(min_qty)
    found = ws.store.find(PRICE_LIST_ITEM, _item_id(price_list, product, minimum))
    if found is None or found["deleted"]:
        raise NotFoundError(
            f"price list {price_list['name']} has no price for {product['sku']} from quantity {minimum}"
        )
    return ws.store.delete(PRICE_LIST_ITEM, found["id"])


def price_for(
    ws: Workspace, product_id: str, currency: str, account_id: str | None, quantity: Decimal
) -> tuple[Decimal, Record] | None:
    """The applicable list price of a product for a quote line: among the active lists in the
    quote's currency whose customer group is the account's industry or none, the most specific list
    (a group's over a general one), then the greatest quantity break not above `quantity`, then the
    lowest price. None when no list has a price (the product's own price applies)."""
    industry = None
    if account_id:
        account = ws.store.find(ACCOUNT, account_id)
        industry = account.get("industry") if account else None
    lists = {r["id"]: r for r in ws.store.select(PRICE_LIST, "currency = ? AND active = 1", (currency,))}
    rows = [
        (i["unit_price"], i["min_quantity"], lists[i["price_list_id"]]["customer_group"], i["price_list_id"])
        for i in ws.store.select(PRICE_LIST_ITEM, "product_id = ?", (product_id,))
        if i["price_list_id"] in lists and i["team"] == lists[i["price_list_id"]]["team"]
    ]
    best: tuple[Any, ...] | None = None
    for price, minimum, group, list_id in rows:
        if group and (industry is None or group.casefold() != str(industry).casefold()):
            continue
        if Decimal(minimum or 1) > quantity:
            continue
        key = (1 if group else 0, Decimal(minimum or 1), -Decimal(price))
        if best is None or key > best[0]:
            best = (key, Decimal(price), list_id)
    if best is None:
        return None
    return best[1], ws.store.get(PRICE_LIST, best[2])
