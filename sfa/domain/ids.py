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
    return uuid7_many(1, now_ms)[0]


def uuid7_many(count: int, now_ms: int | None = None) -> list[str]:
    """`count` UUIDv7s of one millisecond, from one read of the system's random source."""
    ms = (int(time.time() * 1000) if now_ms is None else now_ms) & ((1 << 48) - 1)
    head = ms << 80 | 0x7 << 76
    pool = os.urandom(10 * count)
    result = []
    for start in range(0, 10 * count, 10):
        rand = int.from_bytes(pool[start : start + 10], "big")
        value = head | (rand >> 68) << 64 | 0b10 << 62 | (rand & ((1 << 62) - 1))
        h = f"{value:032x}"
        result.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return result


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
