"""Products found by their specs: every word must match the product's own search entry or one of
its spec rows (a product's specs are separate records, so "600 mm 24V" spans several entries)."""

from __future__ import annotations

from sfa.domain.entities import PRODUCT, PRODUCT_SPEC
from sfa.store.db import FTS_SLOTS, Store, fts_query


def products_matching(store: Store, text: str, limit: int = 50) -> list[str]:
    """Ids of live products each of whose words `text` matches in the product or its specs."""
    words = fts_query(text).split()
    if not words:
        return []
    found: set[str] | None = None
    for word in words:
        product_rids: set[int] = set()
        spec_rids: set[int] = set()
        for (rowid,) in store.conn.execute(
            "SELECT rowid FROM search_fts WHERE search_fts MATCH ? AND (rowid % ? IN (?, ?))",
            (word, FTS_SLOTS, PRODUCT.code, PRODUCT_SPEC.code),
        ):
            (product_rids if rowid % FTS_SLOTS == PRODUCT.code else spec_rids).add(rowid // FTS_SLOTS)
        ids = _ids(store, "product", product_rids) | _spec_products(store, spec_rids)
        found = ids if found is None else found & ids
        if not found:
            return []
    wanted = sorted(found or ())
    rows = store.conn.execute(
        f"SELECT id FROM product WHERE id IN ({', '.join('?' * len(wanted))}) AND deleted = 0"
        " ORDER BY active DESC, sku COLLATE NOCASE LIMIT ?",
        (*wanted, limit),
    )
    return [row[0] for row in rows]


def _ids(store: Store, table: str, rids: set[int]) -> set[str]:
    if not rids:
        return set()
    marks = ", ".join("?" * len(rids))
    return {
        row[0] for row in store.conn.execute(f"SELECT id FROM {table} WHERE rid IN ({marks})", sorted(rids))
    }


def _spec_products(store: Store, rids: set[int]) -> set[str]:
    if not rids:
        return set()
    marks = ", ".join("?" * len(rids))
    return {
        row[0]
        for row in store.conn.execute(
            f"SELECT product_id FROM product_spec WHERE rid IN ({marks}) AND deleted = 0", sorted(rids)
        )
    }
