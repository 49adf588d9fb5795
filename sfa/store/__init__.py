"""The local store on the rep's laptop (stdlib sqlite3; no ORM on the CLI path)."""

from sfa.store.db import Record, Store

__all__ = ["Record", "Store"]
