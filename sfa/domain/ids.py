"""Record identity: client-generated UUIDv7 ids and the short handles shown to people.

The handle is read from the *random* tail of the id (its last 12 hex digits), never from the
timestamp head, so records created in the same second still get distinct short handles.
"""

from __future__ import annotations

import hashlib
import os
import re
import time

HANDLE_LENGTH = 12  # hex digits of random tail kept in the indexed handle column
MIN_SHOWN = 6  # shortest prefix a listing shows
_FULL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def uuid7(now_ms: int | None = None) -> str:
    """A UUIDv7 (RFC 9562) as a lowercase hyphenated string."""
    return uuid7_many(1, now_ms)[0]


# The variant's two bits (10) and two random bits make the first hex digit of the fourth group.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def uuid7_many(count: int, now_ms: int | None = None) -> list[str]:
    """`count` UUIDv7s of one millisecond, from one read of the system's random source.

    Layout (RFC 9562): 48 bits of Unix milliseconds, version 7, 12 random bits, variant 10, 62
    random bits. The time part is the same for the whole batch and is formatted once.
    """
    ms = (int(time.time() * 1000) if now_ms is None else now_ms) & ((1 << 48) - 1)
    time_hex = f"{ms:012x}"
    head = f"{time_hex[:8]}-{time_hex[8:]}-7"
    pool = os.urandom(10 * count).hex()  # 20 hex digits an id, 19 used: 12 + 2 + 60 random bits
    variant = _VARIANT
    return [
        f"{head}{pool[i : i + 3]}-{variant[pool[i + 3]]}{pool[i + 4 : i + 7]}-{pool[i + 7 : i + 19]}"
        for i in range(0, 20 * count, 20)
    ]


def derived_id(parent_id: str, role: str) -> str:
    """The id of the record `role` made from `parent_id`, the same on every laptop: a lead's
    conversion makes its account, contact and opportunity with these, so converting one lead on two
    laptops makes one set. UUIDv7-shaped: the parent's milliseconds, then 74 bits of SHA-256 of
    (parent, role) in place of the random bits."""
    digest = hashlib.sha256(f"{parent_id}/{role}".encode()).hexdigest()
    head = (parent_id.replace("-", "") + "0" * 12)[:12].lower()
    if not all(c in "0123456789abcdef" for c in head):
        head = digest[-12:]
    return f"{head[:8]}-{head[8:]}-7{digest[:3]}-{_VARIANT[digest[3]]}{digest[4:7]}-{digest[7:19]}"


def handle_of(record_id: str) -> str:
    return record_id[-HANDLE_LENGTH:]


def timestamp_ms_of(record_id: str) -> int:
    return int(record_id.replace("-", "")[:12], 16)


def is_full_id(ref: str) -> bool:
    return len(ref) == 36 and ref.count("-") == 4


def parse_full_id(text: str) -> str | None:
    """A full sfa id (any UUID in lowercase hyphenated form) given as text, or None if it is not one."""
    value = text.strip().lower()
    return value if _FULL_ID.fullmatch(value) else None


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
