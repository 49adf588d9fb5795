"""Bounds on what one client can make the server do: the request body it reads (size, time, depth)
and the tokens it may try (docs/sync-protocol.md, "Limits").

- The body: at most `MAX_BODY` bytes as they arrive (with or without Content-Length, chunked or not)
  and at most `MAX_BODY` bytes once gunzipped; a body that stalls for `read_timeout` seconds, or is not
  complete after `body_timeout`, is answered 408 and the connection dropped; JSON nested deeper than
  `MAX_DEPTH` is refused (400) before any code walks it recursively.
- Tokens: a client address that sent `attempts` unknown tokens within `window` seconds is answered
  429 with Retry-After, for every token, until the oldest of those failures is `window` old.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import threading
import time
import zlib
from collections import OrderedDict, deque
from typing import Any

from starlette.requests import Request

from sfa.protocol import MAX_BODY

MAX_DEPTH = 64  # nesting of JSON arrays and objects in a request body
READ_TIMEOUT = 30.0  # seconds without a byte of the body
BODY_TIMEOUT = 300.0  # seconds for the whole body
MAX_ADDRESSES = 10_000  # client addresses the token throttle remembers


class BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_body(
    request: Request, read_timeout: float = READ_TIMEOUT, body_timeout: float = BODY_TIMEOUT
) -> bytes:
    """The request body, bounded in bytes read, bytes inflated and time (BodyError otherwise)."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY:
        raise BodyError(413, f"the body is larger than {MAX_BODY} bytes")
    gzipped = request.headers.get("content-encoding", "").lower() == "gzip"
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + body_timeout
    chunks = request.stream().__aiter__()
    parts: list[bytes] = []
    received = inflated = 0
    while True:
        wait = min(read_timeout, deadline - loop.time())
        try:
            if wait <= 0:
                raise TimeoutError
            chunk = await asyncio.wait_for(chunks.__anext__(), wait)
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise BodyError(408, "the body did not arrive in time") from None
        received += len(chunk)
        if received > MAX_BODY:
            raise BodyError(413, f"the body is larger than {MAX_BODY} bytes")
        if inflater is not None:
            try:
                chunk = inflater.decompress(chunk, MAX_BODY + 1 - inflated)
            except zlib.error:
                raise BodyError(400, "the body is not valid gzip") from None
            inflated += len(chunk)
            if inflated > MAX_BODY:
                raise BodyError(413, f"the body is larger than {MAX_BODY} bytes uncompressed")
        parts.append(chunk)
    return b"".join(parts)


def parse_json(raw: bytes) -> Any:
    """JSON text to a value, refusing nesting deeper than MAX_DEPTH (BodyError 400)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise BodyError(400, f"the body is nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(400, f"the body is not JSON: {str(exc)[:200]}") from None
    over = text_depth_over(raw, MAX_DEPTH)
    if over is None:
        over = depth_over(value, MAX_DEPTH)
    if over:
        raise BodyError(400, f"the body is nested deeper than {MAX_DEPTH} levels")
    return value


# A JSON string (valid JSON: an escape is a backslash and one character, no raw control characters).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
# Brackets kept, `{` and `}` made `[` and `]`, every other byte deleted.
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def text_depth_over(raw: bytes, limit: int) -> bool | None:
    """`depth_over` of the value `raw` (JSON text that parsed) holds, read from the text with a few
    passes of C string methods instead of a walk of the value in Python (a push body's walk cost
    ~1 % of the server's CPU): strings are cut out, the brackets kept, and each pass removes the
    innermost pairs, one level of nesting; the text nests deeper than `limit` if brackets are left
    after `limit` passes. None when the text is not UTF-8 (json.loads also reads UTF-16 and 32)."""
    if json.detect_encoding(raw) != "utf-8":
        return None
    brackets = _JSON_STRING.sub(b"", raw).translate(_BRACKETS, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return False
        brackets = brackets.replace(b"[]", b"")
    return bool(brackets)


def depth_over(value: Any, limit: int) -> bool:
    """True if `value` nests lists and objects deeper than `limit` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class TokenThrottle:
    """Failed token attempts per client address in a sliding window."""

    def __init__(self, attempts: int = 20, window: float = 60.0) -> None:
        self.attempts = attempts
        self.window = window
        self.failures: OrderedDict[str, deque[float]] = OrderedDict()
        self.lock = threading.Lock()  # tokens are checked in the thread pool

    def _recent(self, address: str, now: float) -> deque[float] | None:
        times = self.failures.get(address)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self.failures[address]
            return None
        return times

    def retry_after(self, address: str) -> int | None:
        """Seconds the address must wait before a token is checked again, or None."""
        now = time.monotonic()
        with self.lock:
            times = self._recent(address, now)
            if times is None or len(times) < self.attempts:
                return None
            return max(1, math.ceil(times[0] + self.window - now))

    def failed(self, address: str) -> None:
        now = time.monotonic()
        with self.lock:
            times = self._recent(address, now)
            if times is None:
                times = self.failures[address] = deque()
                while len(self.failures) > MAX_ADDRESSES:
                    self.failures.popitem(last=False)
            times.append(now)
            while len(times) > self.attempts:
                times.popleft()
