"""Server storage: SQLModel tables, the engine for SQLite or PostgreSQL, versioned migrations.

One code path for both databases. Writes that touch the change log lock the counter row first, so
log rows commit in server_seq order (docs/sync-protocol.md, "Server sequence").
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, inspect, text
from sqlalchemy import exc as exc_module
from sqlalchemy.engine import Connection
from sqlmodel import Field, Index, SQLModel, create_engine

from sfa.domain import private
from sfa.domain.errors import ConfigError


def utc_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ServerMeta(SQLModel, table=True):
    __tablename__ = "server_meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str


class AppUser(SQLModel, table=True):
    __tablename__ = "app_user"
    name: str = Field(primary_key=True, max_length=100)
    role: str = Field(max_length=16)
    team: str | None = Field(default=None, max_length=100)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    revoked: bool = False
    created_at: str


class Counter(SQLModel, table=True):
    __tablename__ = "counter"
    name: str = Field(primary_key=True, max_length=32)
    value: int


class ClientState(SQLModel, table=True):
    __tablename__ = "client"
    client_id: str = Field(primary_key=True, max_length=64)
    user_name: str = Field(max_length=100)
    last_seq: int = 0
    last_results: str = "{}"
    pulled: int = 0  # the last cursor this client was given; a client ahead of it means a restore
    updated_at: str


class RecordRow(SQLModel, table=True):
    __tablename__ = "record"
    __table_args__ = (Index("record_by_id", "id"),)
    entity: str = Field(primary_key=True, max_length=32)
    id: str = Field(primary_key=True, max_length=36)
    fields: str
    owner: str | None = Field(default=None, max_length=100)
    team: str | None = Field(default=None, max_length=100)
    deleted: bool = False
    flagged: bool = False
    seq: int
    updated_at: str


class ChangeRow(SQLModel, table=True):
    __tablename__ = "change"
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    entity: str = Field(max_length=32)
    id: str = Field(max_length=36)
    fields: str
    owner: str | None = Field(default=None, max_length=100)
    team: str | None = Field(default=None, max_length=100)
    prev_owner: str | None = Field(default=None, max_length=100)
    prev_team: str | None = Field(default=None, max_length=100)
    existed: bool = False
    origin: str | None = Field(default=None, max_length=64)
    user_name: str = Field(max_length=100)
    at: str


def _v1(conn: Connection) -> None:
    tables = [ServerMeta, AppUser, Counter, ClientState, RecordRow, ChangeRow]
    SQLModel.metadata.create_all(conn, tables=[t.__table__ for t in tables])  # type: ignore[attr-defined]
    conn.execute(text("INSERT INTO counter(name, value) VALUES ('seq', 0)"))
    conn.execute(
        text("INSERT INTO server_meta(key, value) VALUES ('epoch', :e)"), {"e": secrets.token_hex(8)}
    )


def _v2(conn: Connection) -> None:
    """Snapshot and compaction (docs/sync-protocol.md): the compaction point, which clients are in
    their snapshot, and the indexes a pull reads its scope through."""
    boolean = (
        "BOOLEAN NOT NULL DEFAULT FALSE"
        if conn.dialect.name == "postgresql"
        else "BOOLEAN NOT NULL DEFAULT 0"
    )
    conn.execute(text(f"ALTER TABLE client ADD COLUMN snapshot {boolean}"))
    for name, table, columns in (
        ("record_by_seq", "record", "seq"),
        ("record_by_owner", "record", "owner, seq"),
        ("record_by_team", "record", "team, seq"),
        ("change_by_owner", "change", "owner, seq"),
        ("change_by_team", "change", "team, seq"),
        ("change_by_prev_owner", "change", "prev_owner, seq"),
        ("change_by_prev_team", "change", "prev_team, seq"),
    ):
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})"))
    conn.execute(text("INSERT INTO server_meta(key, value) VALUES ('floor', '0')"))


def _v3(conn: Connection) -> None:
    """PostgreSQL: a push's locked section as one function, called in one autocommit statement
    (sfa/server/pushwrite.py). SQLite: nothing."""
    if conn.dialect.name == "postgresql":
        from sfa.server import pushwrite

        conn.exec_driver_sql(pushwrite.FUNCTION)


# Versioned migrations: entry N brings the schema from version N-1 to N. Never edit a shipped one.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_v1, _v2, _v3)
LATEST = len(MIGRATIONS)


def make_engine(url: str) -> Engine:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60})
            _sqlite_pragmas(engine)
        else:
            # Writers only (a push's second phase, admin writes); reads use read_engine's pool.
            engine = create_engine(url, pool_size=6, max_overflow=6)
            _ping_when_idle(engine)
    except Exception as exc:
        raise ConfigError(f"cannot use database {url!r}: {exc}") from None
    return engine


def read_engine(engine: Engine) -> Engine:
    """A second engine on the same database for reads: pulls, token checks and the first phase of
    a push. On SQLite its transactions are deferred (`BEGIN`: a WAL snapshot taken at the first
    read, no write lock), so readers never queue behind a push; on PostgreSQL it is a separate pool,
    so pulls never wait for a connection behind pushes waiting for the counter row."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "sqlite":
        reader = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60})
        _sqlite_pragmas(reader, immediate=False)
        return reader
    # A statement run twice on a connection is prepared (psycopg's default waits for five runs,
    # and the pool hands requests round its 24 connections, so a worker planned each hot statement
    # ~120 times before the first reuse of a plan).
    reader = create_engine(url, pool_size=12, max_overflow=12, connect_args={"prepare_threshold": 1})
    _ping_when_idle(reader)
    _generic_plans(reader)
    return reader


# The read pool's session settings (docs/performance.md, "Server load", round 3). Its statements
# are the pull's page, the push's first statement and a few key lookups; prepared (psycopg, at the
# second run on a connection: above), PostgreSQL still planned the two large ones anew at every
# run (its default `auto` keeps "custom" plans when a plan made without the parameters' values is
# estimated dearer): 0.5 ms a push and up to 1.6 ms a pull of planning. Their generic
# plans read the same index ranges (sfa/server/app.py, `_range`). JIT is off: the generic plans'
# estimates can pass its cost threshold, and compiling a plan cost 45 ms where running it costs 0.3.
READ_SETTINGS = ("SET plan_cache_mode = force_generic_plan", "SET jit = off")


def _generic_plans(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cursor:
            for statement in READ_SETTINGS:
                cursor.execute(statement)
        dbapi_conn.commit()


# A pooled PostgreSQL connection idle longer than this is pinged before use (a restarted or
# failed-over database dropped it); one in steady use is not, which saves a round trip per request
# (docs/performance.md, "Server CPU per request").
PING_AFTER = 2.0


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pool_pre_ping, but only for connections idle over PING_AFTER seconds: a failed
    ping makes the pool replace the connection (DisconnectionError), as pre-ping does."""

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since <= PING_AFTER:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise exc_module.DisconnectionError() from exc


def _sqlite_pragmas(engine: Engine, immediate: bool = True) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers: one at a time, taken up front (no deadlock on lock upgrade, and log rows commit
        # in server_seq order). Readers: a deferred transaction, a snapshot without a lock.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def schema_version(conn: Connection) -> int:
    if not inspect(conn).has_table("server_meta"):
        return 0
    row = conn.execute(text("SELECT value FROM server_meta WHERE key = 'schema_version'")).first()
    return int(row[0]) if row else 0


def migrate(engine: Engine) -> int:
    """Bring the database to the latest schema; returns the version it was at."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(4242)"))
        before = schema_version(conn)
    if before > LATEST:
        raise ConfigError(f"the server database has schema {before}; this sfa knows up to {LATEST}")
    for number in range(before + 1, LATEST + 1):
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(4242)"))
            if schema_version(conn) >= number:
                continue
            MIGRATIONS[number - 1](conn)
            conn.execute(text("DELETE FROM server_meta WHERE key = 'schema_version'"))
            conn.execute(
                text("INSERT INTO server_meta(key, value) VALUES ('schema_version', :v)"), {"v": str(number)}
            )
    return before


def check_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        version = schema_version(conn)
        conn.rollback()
    if version != LATEST:
        raise ConfigError(
            f"the server database is at schema {version}, this sfa needs {LATEST}: run 'sfa server init'"
        )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


# -- where the server keeps its data -------------------------------------------------------------


def server_dir(home: Path) -> Path:
    return home / "server"


def resolve_db_url(home: Path, explicit: str | None) -> str:
    """--db URL, else $SFA_SERVER_DB, else the URL `sfa server init` recorded, else SQLite in the dir."""
    if explicit:
        return explicit
    env = os.environ.get("SFA_SERVER_DB")
    if env:
        return env
    saved = server_dir(home) / "db-url"
    if saved.exists():
        return saved.read_text().strip()
    return f"sqlite:///{server_dir(home) / 'server.db'}"


def remember_db_url(home: Path, url: str) -> None:
    directory = server_dir(home)
    private.private_dir(directory)
    path = directory / "db-url"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(url + "\n")
