"""Wire-protocol constants shared by the sync client and the server (docs/sync-protocol.md)."""

from __future__ import annotations

PROTOCOL = 1
MAX_BATCH = 500  # mutations per push
DEFAULT_PAGE = 1000  # changes per pull page
MAX_PAGE = 5000
MAX_BODY = 32 * 1024 * 1024  # uncompressed request body limit
GZIP_MIN = 1024  # bodies at least this large are gzip-compressed
CLOCK_SKEW_MS = 60_000  # clocks further ahead of the server than this are clamped
CONFLICT = "_conflict"  # pseudo-entity holding conflicts; synced like records
CONFLICT_FIELDS = (
    "entity", "record_id", "field", "kind", "kept", "kept_clock", "lost", "lost_clock", "lost_by",
    "status", "resolution", "at",
)  # fmt: skip
CONFLICT_WRITABLE = ("status", "resolution")
SERVER_REPLICA = "server"
