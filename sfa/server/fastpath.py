"""The fixed cost of a push and a pull, cut (issue 19; docs/performance.md "Server load", "Server CPU
per request").

Three things, each used by sfa/server/app.py:

- ``Users``: the token check, cached for a few seconds per process, so a push or a pull whose
  token was seen lately is not handed to the thread pool and sent to the database just to learn
  who it is. The cache only saves the separate check: the request's first statement (``HEAD``)
  reads the token's user again in the same round trip as the counter and the client row, and a
  request whose token was revoked (or whose user changed) since it was cached is answered as
  without the cache (401, or the new role and team). So a revoked token stops at once, as before.
- ``HEAD``: the counter, the epoch, the compaction floor, the client row and the token's user in
  one statement (they were five).
- ``RawPg``: on PostgreSQL, the statements of the hot paths run on the pooled psycopg connection
  itself, not through SQLAlchemy's execution machinery (statement objects, compiled-cache keys,
  result metadata: about half the CPU of a small statement). It answers the few calls the push
  planner and the pull page make (``execute(text(...), params)`` and ``first``/``all``/``one``/
  ``scalar_one``/iteration), so that code runs unchanged on either. Reads end with ``COMMIT``
  (or run in autocommit), never ``ROLLBACK``: psycopg forgets its prepared statements at every
  ``ROLLBACK``, and a statement it has run five times on a connection is prepared on the server.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, text

from sfa.protocol import MAX_EPOCH, MAX_PAGE, MAX_SEQ
from sfa.server.merge import User

# Seconds a checked token is trusted without its own statement (it is still read again by the
# request's first statement, HEAD, so revocation is not delayed by it).
TOKEN_SECONDS = 10.0
MAX_TOKENS = 10_000

# One statement for what every push and pull reads first. `:hc` the client id (NULL: none), `:ht`
# the token's hash, `:hf` False (SQLite and PostgreSQL spell booleans differently).
HEAD = (
    "SELECT n.value AS h_seq, e.value AS h_epoch, f.value AS h_floor, c.user_name AS c_user,"
    " c.last_seq AS c_last, c.last_results AS c_results, c.pulled AS c_pulled,"
    " c.snapshot AS c_snapshot, u.name AS u_name, u.role AS u_role, u.team AS u_team FROM counter n"
    " LEFT JOIN server_meta e ON e.key = 'epoch'"
    " LEFT JOIN server_meta f ON f.key = 'floor'"
    " LEFT JOIN client c ON c.client_id = :hc"
    " LEFT JOIN app_user u ON u.token_hash = :ht AND u.revoked = :hf"
    " WHERE n.name = 'seq'"
)
HEAD_COLUMNS = 11


def head_params(client_id: str | None, token_hash: str) -> dict[str, Any]:
    return {"hc": client_id, "ht": token_hash, "hf": False}


@dataclass(frozen=True)
class Head:
    """What HEAD read: the counter, epoch and floor; the client row (None: no such client) as
    (user_name, last_seq, last_results, pulled, snapshot); the token's user as (name, role, team)."""

    seq: int
    epoch: str
    floor: int
    client: tuple[Any, ...] | None
    user: tuple[str, str, str | None] | None

    @classmethod
    def of(cls, row: Sequence[Any]) -> Head:
        client = None if row[3] is None else (row[3], row[4], row[5], row[6], row[7])
        user = None if row[8] is None else (str(row[8]), str(row[9]), row[10])
        return cls(int(row[0]), str(row[1] or ""), int(row[2] or 0), client, user)

    def same_user(self, user: User) -> bool:
        return self.user == (user.name, user.role, user.team)


_HEAD = text(HEAD)


def head(conn: Any, client_id: str | None, token_hash: str) -> Head:
    """Run HEAD on `conn` (a SQLAlchemy Connection or a RawPg)."""
    row = conn.execute(_HEAD, head_params(client_id, token_hash)).one()
    return Head.of(row)


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the user, the hash of the token, and whether it came from the cache."""

    user: User
    token_hash: str
    cached: bool


class Users:
    """Checked tokens by hash -> (user, when checked). Thread-safe; at most MAX_TOKENS entries.
    Managers are not kept (their teams come from the territory records, read per request)."""

    def __init__(self, seconds: float = TOKEN_SECONDS) -> None:
        self.seconds = seconds
        self._users: dict[str, tuple[User, float]] = {}
        self._lock = threading.Lock()

    def get(self, token_hash: str) -> User | None:
        if self.seconds <= 0:
            return None
        found = self._users.get(token_hash)
        if found is None or time.monotonic() - found[1] > self.seconds:
            return None
        return found[0]

    def put(self, token_hash: str, user: User) -> None:
        if self.seconds <= 0 or user.role == "manager":
            return
        with self._lock:
            if len(self._users) >= MAX_TOKENS:
                self._users.clear()
            self._users[token_hash] = (user, time.monotonic())

    def drop(self, token_hash: str) -> None:
        with self._lock:
            self._users.pop(token_hash, None)


# -- PostgreSQL: the pooled psycopg connection, without SQLAlchemy's execution ----------------------


@lru_cache(maxsize=512)
def pyformat(sql: str) -> str:
    """`:name` placeholders (SQLAlchemy's text()) as psycopg's `%(name)s`."""
    return re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", r"%(\1)s", sql)


class RawResult:
    """The rows of one statement, with the few methods of SQLAlchemy's Result the hot paths use."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def first(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def all(self) -> list[tuple[Any, ...]]:
        return self.rows

    def one(self) -> tuple[Any, ...]:
        if len(self.rows) != 1:
            raise LookupError(f"expected one row, got {len(self.rows)}")
        return self.rows[0]

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)


_TUPLES_OK = 2  # psycopg.pq.ExecStatus.TUPLES_OK (libpq's PGRES_TUPLES_OK)


class _Dialect:
    name = "postgresql"


class RawPg:
    """A psycopg connection answering `execute(text(sql), params)` as the hot paths call it."""

    dialect = _Dialect()

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def execute(self, clause: Any, params: Any = None) -> RawResult:
        sql = pyformat(str(getattr(clause, "text", clause)))
        with self.driver.cursor() as cur:
            if isinstance(params, list):
                cur.executemany(sql, params)
                return RawResult([])
            cur.execute(sql, params or {})
            # (Not `cur.description`: it builds a Column object per column, per statement.)
            result = cur.pgresult
            rows = result is not None and result.status == _TUPLES_OK
            return RawResult(cur.fetchall() if rows else [])

    def end_snapshot(self) -> None:
        """Commit the read transaction; what follows runs in autocommit (one write, one round trip)."""
        self.driver.commit()
        self.driver.read_only = None
        self.driver.isolation_level = None
        self.driver.autocommit = True


@contextlib.contextmanager
def raw(engine: Engine, *, autocommit: bool = False, snapshot: bool = False) -> Iterator[RawPg]:
    """A pooled PostgreSQL connection as a RawPg: `autocommit` (each statement its own
    transaction), or one transaction, `snapshot` (REPEATABLE READ, read-only) or not, committed at
    the end (rolled back on an error). The connection goes back to the pool as it came."""
    import psycopg  # the server's PostgreSQL driver (SQLite-only servers never get here)

    fairy = engine.raw_connection()
    driver: Any = fairy.driver_connection
    try:
        if autocommit:
            driver.autocommit = True
        elif snapshot:
            driver.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            driver.read_only = True
        try:
            yield RawPg(driver)
            if not driver.autocommit:
                driver.commit()
        except BaseException:
            if not driver.closed:
                driver.rollback()
            raise
        finally:
            if not driver.closed and driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                driver.autocommit = False
                driver.isolation_level = None
                driver.read_only = None
    finally:
        fairy.close()


# -- push and pull beside FastAPI's routing ---------------------------------------------------------

_DIGITS = re.compile(r"[0-9]{1,10}")
_CLIENT_ID = re.compile(r"[0-9A-Za-z_.:-]{1,64}")
PULL_QUERY = ("cursor", "limit", "epoch", "client_id", "own")


def pull_query(items: list[tuple[str, str]], default_limit: int) -> dict[str, Any] | None:
    """A pull's query parameters as the FastAPI route declares them (sfa/server/app.py, `pull`),
    when each is present at most once, known and plainly valid; None for anything else (a repeated
    or unknown parameter, a bound crossed, a number written any other way than digits, an empty
    value), which the declared route then answers as always, its validation errors included."""
    query: dict[str, Any] = {"cursor": 0, "limit": default_limit, "epoch": None, "client_id": None, "own": 0}
    seen: set[str] = set()
    for key, value in items:
        if key in seen or key not in query or not value:
            return None
        seen.add(key)
        if key == "epoch":
            if len(value) > MAX_EPOCH:
                return None
            query[key] = value
        elif key == "client_id":
            if _CLIENT_ID.fullmatch(value) is None:
                return None
            query[key] = value
        else:
            if _DIGITS.fullmatch(value) is None:
                return None
            number = int(value)
            top = {"cursor": MAX_SEQ, "limit": MAX_PAGE, "own": 1}[key]
            if number > top or (key == "limit" and number < 1):
                return None
            query[key] = number
    return query
