"""Hybrid logical clocks: wall-clock milliseconds, a counter, and the replica id.

Encoded as a fixed-width string so that string order equals clock order:
``"0001763875469123:00000:a1b2c3d4e5f60718"``. Every field of every record carries the clock of
its last write; the greater clock wins a concurrent write to a descriptive field.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

_MS_WIDTH = 16
_COUNTER_WIDTH = 5


@dataclass(frozen=True, order=True)
class Hlc:
    ms: int
    counter: int
    replica: str

    def encode(self) -> str:
        return f"{self.ms:0{_MS_WIDTH}d}:{self.counter:0{_COUNTER_WIDTH}d}:{self.replica}"

    @classmethod
    def decode(cls, text: str) -> Hlc:
        try:
            ms, counter, replica = text.split(":", 2)
            return cls(int(ms), int(counter), replica)
        except ValueError as exc:
            raise ValueError(f"not a clock: {text!r}") from exc


class Clock:
    """Issues monotonically increasing clocks for one replica."""

    def __init__(self, replica: str, last: Hlc | None = None) -> None:
        self.replica = replica
        self.last = last or Hlc(0, 0, replica)

    def tick(self, now_ms: int | None = None) -> Hlc:
        wall = int(time.time() * 1000) if now_ms is None else now_ms
        if wall > self.last.ms:
            nxt = Hlc(wall, 0, self.replica)
        else:
            nxt = Hlc(self.last.ms, self.last.counter + 1, self.replica)
        self.last = nxt
        return nxt

    def observe(self, remote: Hlc, now_ms: int | None = None) -> None:
        """Move past a clock seen from another replica so later local writes order after it."""
        wall = int(time.time() * 1000) if now_ms is None else now_ms
        top = max(wall, self.last.ms, remote.ms)
        if top == self.last.ms == remote.ms:
            counter = max(self.last.counter, remote.counter) + 1
        elif top == self.last.ms:
            counter = self.last.counter + 1
        elif top == remote.ms:
            counter = remote.counter + 1
        else:
            counter = 0
        self.last = Hlc(top, counter, self.replica)
