"""The product encyclopedia: specs, related products, comparison, spec import (docs/products.md).

Specs are `product_spec` rows: one per (product, name), names compared without regard to case.
Datasheets and pictures are documents of the product (`document` records with record_entity
"product", content in the blob store, synced to every laptop): `--datasheet FILE` and `--image FILE`
store the file as a document; the product's `image` field names the picture's document.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfa.domain.entities import PRODUCT, PRODUCT_SPEC
from sfa.domain.errors import NotFoundError, ValidationError
from sfa.domain.text import check_text
from sfa.services import authority, products
from sfa.store.db import Record
from sfa.store.workspace import Workspace


def _clean(field: str, text: str | None, *, required: bool = True) -> str | None:
    value = " ".join(check_text(field, text or "").split())
    if required and not value:
        raise ValidationError(field, "is required and cannot be empty")
    return value or None


def specs_of(ws: Workspace, product_id: str) -> list[Record]:
    return ws.store.select(PRODUCT_SPEC, "product_id = ?", (product_id,), order="position, rid")


def _find(specs: Sequence[Record], name: str) -> Record | None:
    folded = name.casefold()
    return next((s for s in specs if s["name"].casefold() == folded), None)


def set_spec(ws: Workspace, ref: str, name: str, value: str, unit: str | None = None) -> Record:
    """Add a spec or change its value (and unit); the spec keeps its place."""
    authority.require_manager(ws, "product specs", scoped=False)
    product = products.resolve(ws, ref)
    spec_name = _clean("name", name)
    spec_value = _clean("value", value)
    spec_unit = _clean("unit", unit, required=False) if unit is not None else None
    with ws.store.transaction():
        return _write(
            ws, product, specs_of(ws, product["id"]), str(spec_name), str(spec_value), spec_unit, unit
        )


def _write(
    ws: Workspace,
    product: Record,
    specs: list[Record],
    name: str,
    value: str,
    unit: str | None,
    unit_given: str | None,
) -> Record:
    existing = _find(specs, name)
    if existing is not None:
        changes: Record = {"value": value}
        if unit_given is not None:
            changes["unit"] = unit
        return ws.store.update(PRODUCT_SPEC, existing["id"], changes)
    position = max((s["position"] or 0 for s in specs), default=0) + 1
    record = ws.store.insert(
        PRODUCT_SPEC,
        {"product_id": product["id"], "name": name, "value": value, "unit": unit, "position": position},
    )
    specs.append(record)
    return record


def remove_spec(ws: Workspace, ref: str, name: str) -> Record:
    authority.require_manager(ws, "product specs", scoped=False)
    product = products.resolve(ws, ref)
    specs = specs_of(ws, product["id"])
    spec = _find(specs, name.strip())
    if spec is None:
        names = ", ".join(s["name"] for s in specs) or "none"
        raise ValidationError("name", f"{product['sku']} has no spec {name.strip()!r}; it has: {names}")
    return ws.store.delete(PRODUCT_SPEC, spec["id"])


@dataclass
class Detail:
    product: Record
    specs: list[Record]
    successor: Record | None
    accessories: list[Record]
    alternatives: list[Record]
    documents: list[Record]


def detail(ws: Workspace, ref: str) -> Detail:
    product = products.resolve(ws, ref)

    def get(ids: Sequence[str]) -> list[Record]:
        found = []
        for record_id in ids:
            record = ws.store.find(PRODUCT, record_id)
            if record is not None and not record["deleted"]:
                found.append(record)
        return found

    found = get([product["successor_id"]]) if product.get("successor_id") else []
    successor = found[0] if found else None
    return Detail(
        product,
        specs_of(ws, product["id"]),
        successor,
        get(product["accessories"] or []),
        get(product["alternatives"] or []),
        documents_of(ws, product["id"]),
    )


def set_links(
    ws: Workspace,
    ref: str,
    *,
    successor: str | None = None,
    accessories: Sequence[str] | None = None,
    alternatives: Sequence[str] | None = None,
) -> Record:
    """Successor, accessories, alternatives by SKU or ref ("" as successor clears it)."""
    product = products.resolve(ws, ref)
    changes: Record = {}

    def ids(field: str, refs: Sequence[str]) -> list[str]:
        found = []
        for item in refs:
            for part in item.split(","):
                if part.strip():
                    other = _related(ws, field, part)
                    if other["id"] == product["id"]:
                        raise ValidationError(
                            field, f"{product['sku']} cannot be its own {field.rstrip('s')}"
                        )
                    found.append(other["id"])
        return list(dict.fromkeys(found))

    if successor is not None:
        if successor.strip():
            changes["successor_id"] = ids("successor", [successor])[0]
        else:
            changes["successor_id"] = None
    if accessories is not None:
        changes["accessories"] = ids("accessories", accessories)
    if alternatives is not None:
        changes["alternatives"] = ids("alternatives", alternatives)
    return ws.store.update(PRODUCT, product["id"], changes) if changes else product


def _related(ws: Workspace, field: str, ref: str) -> Record:
    try:
        return products.resolve(ws, ref)
    except NotFoundError:
        raise ValidationError(field, f"no product with SKU or ref {ref.strip()!r}") from None


SPEC_COLUMNS = ("sku", "name", "value", "unit")


def import_specs(ws: Workspace, path: Path) -> dict[str, int]:
    """Specs from CSV (sku, name, value[, unit]): all rows checked first, then written in one
    transaction; a bad row refuses the file naming its line and column."""
    authority.require_manager(ws, "product specs", scoped=False)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("file", f"{path} is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("sku", "name", "value") if c not in header]
    if missing:
        raise ValidationError(
            "file", f"{path.name}: missing column {missing[0]!r} (columns: sku, name, value, unit)"
        )
    unknown = [h for h in header if h not in SPEC_COLUMNS]
    if unknown:
        raise ValidationError(
            "file", f"{path.name}: unknown column {unknown[0]!r} (columns: sku, name, value, unit)"
        )
    rows: list[tuple[Record, str, str, str | None, str | None]] = []
    cache: dict[str, Record] = {}
    for line, raw in enumerate(reader, start=2):
        row = {k.strip().lower(): (v or "") for k, v in raw.items() if k is not None}
        sku = row.get("sku", "").strip()
        try:
            if sku.casefold() not in cache:
                cache[sku.casefold()] = products.resolve(ws, sku)
            name = _clean("name", row.get("name"))
            value = _clean("value", row.get("value"))
            unit = _clean("unit", row.get("unit"), required=False) if "unit" in row else None
        except (NotFoundError, ValidationError) as exc:
            column = exc.field if isinstance(exc, ValidationError) else "sku"
            message = str(exc).split(": ", 1)[-1] if isinstance(exc, ValidationError) else str(exc)
            raise ValidationError(f"line {line}", f"{column}: {message}") from None
        rows.append((cache[sku.casefold()], str(name), str(value), unit, "" if "unit" in row else None))
    created = updated = 0
    with ws.store.transaction():
        specs: dict[str, list[Record]] = {}
        for product, name, value, unit, unit_given in rows:
            current = specs.setdefault(product["id"], specs_of(ws, product["id"]))
            if _find(current, name) is None:
                created += 1
            else:
                updated += 1
            _write(ws, product, current, name, value, unit, unit_given)
    return {"rows": len(rows), "created": created, "updated": updated, "products": len(cache)}


@dataclass
class Comparison:
    products: list[Record]
    rows: list[tuple[str, list[str], bool]]  # spec name, value per product, values differ


def compare(ws: Workspace, refs: Sequence[str]) -> Comparison:
    if len(refs) < 2:
        raise ValidationError("sku", "give at least two products to compare")
    chosen = [products.resolve(ws, r) for r in refs]
    names: dict[str, str] = {}
    values: list[dict[str, str]] = []
    for product in chosen:
        shown: dict[str, str] = {}
        for spec in specs_of(ws, product["id"]):
            key = spec["name"].casefold()
            names.setdefault(key, spec["name"])
            shown[key] = f"{spec['value']} {spec['unit']}" if spec["unit"] else spec["value"]
        values.append(shown)
    rows = []
    for key, name in names.items():
        cells = [v.get(key, "") for v in values]
        rows.append((name, cells, len({c.casefold() for c in cells}) > 1))
    return Comparison(chosen, rows)


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    return {
        "products": [p["sku"] for p in comparison.products],
        "specs": [{"name": n, "values": v, "differ": d} for n, v, d in comparison.rows],
    }


def edit_with_links(
    ws: Workspace,
    ref: str,
    raw: dict[str, Any],
    *,
    successor: str | None,
    accessories: Sequence[str] | None,
    alternatives: Sequence[str] | None,
    datasheets: Sequence[str] = (),
    image: str | None = None,
) -> Record:
    """Edit a product's fields, its links to other products and its files in one transaction."""
    links = successor is not None or accessories is not None or alternatives is not None
    files = bool(datasheets) or image is not None
    _check_files(ws, datasheets, image)
    with ws.store.transaction():
        record = products.resolve(ws, ref)
        if any(v is not None for v in raw.values()) or not (links or files):
            record = products.edit_product(ws, ref, raw)
        if links:
            record = set_links(
                ws, record["id"], successor=successor, accessories=accessories, alternatives=alternatives
            )
        if files:
            record = attach_files(ws, record, datasheets, image)
    return record


def _check_files(ws: Workspace, datasheets: Sequence[str], image: str | None) -> None:
    from sfa.services import documents

    documents.check_files(ws, list(datasheets), "datasheet")
    if image is not None:
        documents.check_files(ws, [image], "image")


def attach_files(ws: Workspace, product: Record, datasheets: Sequence[str], image: str | None) -> Record:
    """Each datasheet file becomes a document of the product (kind datasheet); the picture a
    document (kind photo) that the product's `image` field names. Product data: a manager's."""
    from sfa.services import documents

    authority.require_manager(ws, "product documents", scoped=False)
    _check_files(ws, datasheets, image)
    with ws.store.transaction():
        for path in datasheets:
            documents.add(ws, path, "product", product["id"], kind="datasheet")
        if image is not None:
            picture = documents.add(ws, image, "product", product["id"], kind="photo")
            product = ws.store.update(PRODUCT, product["id"], {"image": picture["id"]})
    return product


def add_with_files(
    ws: Workspace, raw: dict[str, Any], *, datasheets: Sequence[str] = (), image: str | None = None
) -> Record:
    """Add a product and store its files as its documents, in one transaction (files checked first)."""
    _check_files(ws, datasheets, image)
    with ws.store.transaction():
        record = products.add_product(ws, raw)
        if datasheets or image is not None:
            record = attach_files(ws, record, datasheets, image)
    return record


def documents_of(ws: Workspace, product_id: str) -> list[Record]:
    """The product's documents, latest versions, datasheets first."""
    from sfa.services import documents

    found = documents.list_documents(ws, owner="product", ref=product_id)
    return sorted(found, key=lambda d: (d["kind"] != "datasheet", d["title"].casefold()))


def browse(ws: Workspace, text: str = "", limit: int = 200) -> list[Record]:
    """Products for the dashboard's Products screen: all active ones by SKU, or those whose name,
    SKU, model, family or specs match every word typed (as prefixes, as `sfa search` does)."""
    if not text.strip():
        return products.list_products(ws, limit=limit)
    from sfa.services import search

    return [r for e, r in search.search(ws, text, ["product"], limit=limit) if e is PRODUCT]
