"""Record identity: client-generated UUIDv7 ids and the short handles shown to people.

The handle is read from the *random* tail of the id (its last 12 hex digits), never from the
timestamp head, so records created in the same second still get distinct short handles.
"""

from __future__ import annotations

import os
import time

HANDLE_LENGTH = 12  # hex digits of random tail kept in the indexed handle column
MIN_SHOWN = 6  # shortest prefix a listing shows


def uuid7(now_ms: int | None = None) -> str:
    """A UUIDv7 (RFC 9562) as a lowercase hyphenated string."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = rand >> 68  # 12 bits
    rand_b = rand & ((1 << 62) - 1)  # 62 bits
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def handle_of(record_id: str) -> str:
    return record_id[-HANDLE_LENGTH:]


def timestamp_ms_of(record_id: str) -> int:
    return int(record_id.replace("-", "")[:12], 16)


def is_full_id(ref: str) -> bool:
    return len(ref) == 36 and ref.count("-") == 4


def shortest_unique(handle: str, neighbours: list[str]) -> str:
    """Shortest prefix of `handle` (at least MIN_SHOWN) that no neighbour shares."""
    length = MIN_SHOWN
    for other in neighbours:
        common = 0
        for a, b in zip(handle, other, strict=False):
            if a != b:
                break
            common += 1
        length = max(length, common + 1)
    return handle[: min(length, HANDLE_LENGTH)]
