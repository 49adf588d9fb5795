"""The price list: the use cases behind `sfa product ...`.

A product is found by its SKU or by its short ref. SKUs are unique among active products (compared
without regard to case); a deactivated product keeps its SKU, which a new product may then reuse.
Changing a price never changes quotes already written: a quote line copies the price.
"""

from __future__ import annotations

from typing import Any

from sfa.domain.entities import PRODUCT
from sfa.domain.errors import NotFoundError, StateError, ValidationError
from sfa.domain.money import parse_amount
from sfa.domain.quotes import parse_rate
from sfa.domain.text import check_text
from sfa.services import authority, records
from sfa.store.db import Record
from sfa.store.workspace import Workspace

# Plain text fields of the encyclopedia (sfa/services/encyclopedia.py), set by `product add/edit`.
ENCYCLOPEDIA_FIELDS = ("model_number", "family", "unit", "image", "datasheet")


def _sku(text: str) -> str:
    sku = " ".join(check_text("sku", text).split())
    if not sku:
        raise ValidationError("sku", "is required and cannot be empty")
    return sku


def _check_unique_sku(ws: Workspace, sku: str, except_id: str | None = None) -> None:
    clash = ws.store.select(
        PRODUCT, "sku = ? COLLATE NOCASE AND active = 1 AND id != ?", (sku, except_id or ""), limit=1
    )
    if clash:
        raise ValidationError("sku", f"{sku!r} is already used by the active product {clash[0]['name']!r}")


def _values(ws: Workspace, raw: dict[str, Any], *, creating: bool) -> Record:
    values: Record = {}
    for key in (
        "sku",
        "name",
        "description",
        "unit_price",
        "currency",
        "tax_rate",
        *ENCYCLOPEDIA_FIELDS,
    ):
        value = raw.get(key)
        if value is None:
            continue
        if key == "sku":
            values["sku"] = _sku(value)
        elif key == "unit_price":
            values["unit_price"] = parse_amount(value, "price")
        elif key == "tax_rate":
            values["tax_rate"] = parse_rate(value, "tax")
        else:
            values.update(records.clean(ws, PRODUCT, {key: value}, creating=False))
    if creating:
        values.setdefault("currency", ws.setting("currency"))
        values.setdefault("tax_rate", parse_rate(ws.setting("quote.tax_rate")))
        if not values.get("name"):
            raise ValidationError("name", "is required and cannot be empty")
    return values


def add_product(ws: Workspace, raw: dict[str, Any]) -> Record:
    authority.require_manager(ws, "products", scoped=False)
    values = _values(ws, raw, creating=True)
    if "sku" not in values:
        raise ValidationError("sku", "is required")
    if "unit_price" not in values:
        raise ValidationError("price", "is required")
    with ws.store.transaction():
        _check_unique_sku(ws, values["sku"])
        return ws.store.insert(PRODUCT, {**values, "active": True})


def resolve(ws: Workspace, ref: str, *, active_only: bool = False) -> Record:
    """A product by SKU (an active one first) or by short ref."""
    text = ref.strip()
    by_sku = ws.store.select(
        PRODUCT, "sku = ? COLLATE NOCASE", (text,), order="active DESC, updated_at DESC", limit=1
    )
    product = by_sku[0] if by_sku else None
    if product is None:
        try:
            product = ws.store.resolve(PRODUCT, text)
        except (NotFoundError, ValidationError):
            raise NotFoundError(f"no product with SKU or ref {ref!r} (see `sfa product list`)") from None
    if active_only and not product["active"]:
        raise StateError(f"product {product['sku']} ({product['name']}) is inactive")
    return product


def list_products(ws: Workspace, *, include_inactive: bool = False, limit: int | None = None) -> list[Record]:
    where = "" if include_inactive else "active = 1"
    return ws.store.select(PRODUCT, where, order="sku COLLATE NOCASE", limit=limit)


def edit_product(ws: Workspace, ref: str, raw: dict[str, Any]) -> Record:
    product = resolve(ws, ref)
    values = _values(ws, raw, creating=False)
    if "name" in values and not values["name"]:
        raise ValidationError("name", "is required and cannot be empty")
    if not values:
        raise ValidationError("product", "nothing to change; give at least one option")
    if set(values) & {"unit_price", "currency", "tax_rate"}:
        authority.require_manager(ws, "product prices and tax rates", scoped=False)
    with ws.store.transaction():
        if "sku" in values and product["active"]:
            _check_unique_sku(ws, values["sku"], product["id"])
        return ws.store.update(PRODUCT, product["id"], values)


def set_active(ws: Workspace, ref: str, active: bool) -> Record:
    authority.require_manager(ws, "whether a product is sold", scoped=False)
    product = resolve(ws, ref)
    if product["active"] == active:
        state = "active" if active else "inactive"
        raise StateError(f"product {product['sku']} ({product['name']}) is already {state}")
    with ws.store.transaction():
        if active:
            _check_unique_sku(ws, product["sku"], product["id"])
        return ws.store.update(PRODUCT, product["id"], {"active": active})
