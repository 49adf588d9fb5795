"""Server administration use cases: init, run, users. The CLI in sfa/cli/server.py calls these."""

from __future__ import annotations

import inspect
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from sfa.domain import private
from sfa.domain.errors import ConfigError, NotFoundError, UsageError, ValidationError
from sfa.server import storage
from sfa.server.merge import ROLES


def open_engine(home: Path, db: str | None, *, check: bool = True) -> Engine:
    engine = storage.make_engine(storage.resolve_db_url(home, db))
    if check:
        storage.check_schema(engine)
    return engine


def init(home: Path, db: str | None, *, new_epoch: bool = False) -> dict[str, Any]:
    url = storage.resolve_db_url(home, db)
    if url.startswith("sqlite:///"):
        private.private_file(Path(url[len("sqlite:///") :]))
    engine = storage.make_engine(url)
    try:
        before = storage.migrate(engine)
        with engine.begin() as conn:
            if new_epoch:
                conn.execute(
                    text("UPDATE server_meta SET value = :e WHERE key = 'epoch'"), {"e": secrets.token_hex(8)}
                )
            epoch = conn.execute(text("SELECT value FROM server_meta WHERE key = 'epoch'")).scalar_one()
    finally:
        engine.dispose()
    if db:
        storage.remember_db_url(home, url)
    return {"db": _redact(url), "schema": storage.LATEST, "was": before, "epoch": epoch}


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}"
    return url


def run(
    home: Path,
    db: str | None,
    host: str,
    port: int,
    *,
    workers: int = 1,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    log_format: str = "off",
    metrics: bool = False,
) -> None:
    """Serve until SIGINT/SIGTERM; uvicorn then stops accepting, finishes the requests in flight
    (up to ``GRACEFUL_SECONDS``) and exits (docs/deploy.md)."""
    import uvicorn

    url = storage.resolve_db_url(home, db)
    check_run_options(url, workers, tls_cert, tls_key, log_format)
    open_engine(home, db).dispose()  # a wrong URL or an old schema fails here, once, not per worker
    os.environ[_ENV_URL] = url
    os.environ[_ENV_METRICS] = "1" if metrics else ""
    os.environ[_ENV_LOG] = log_format
    os.environ[_ENV_BLOBS] = str(Path(os.environ.get("SFA_BLOB_DIR") or home / "blobs"))  # documents
    # A worker that does not answer the supervisor's ping within the health-check timeout is killed
    # and its connections dropped; a busy worker's ping thread waits for the GIL, so give it 30 s
    # (uvicorn >= 0.30; older ones have a fixed timeout). docs/deploy.md, "Limits".
    extra: dict[str, Any] = {}
    if "timeout_worker_healthcheck" in inspect.signature(uvicorn.run).parameters:
        extra["timeout_worker_healthcheck"] = HEALTHCHECK_SECONDS
    uvicorn.run(
        "sfa.server.admin:service_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        # Laptops (and the load bench's reps) sync every few seconds on one connection; uvicorn's
        # 5 s idle timeout closed connections a loaded server had not yet read the next request
        # from (ReadError on the client), so idle connections are kept for 65 s.
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        **extra,
    )


GRACEFUL_SECONDS = 30
HEALTHCHECK_SECONDS = 30
KEEP_ALIVE_SECONDS = 65
LOG_FORMATS = ("off", "json")
_ENV_URL = "SFA_SERVER_SERVE_URL"
_ENV_METRICS = "SFA_SERVER_SERVE_METRICS"
_ENV_LOG = "SFA_SERVER_SERVE_LOG"
_ENV_BLOBS = "SFA_SERVER_SERVE_BLOBS"


def check_run_options(
    url: str, workers: int, tls_cert: Path | None, tls_key: Path | None, log_format: str
) -> None:
    if not 1 <= workers <= 64:
        raise ValidationError("workers", f"{workers} is outside 1..64")
    if workers > 1 and url.startswith("sqlite"):
        raise ValidationError(
            "workers", "SQLite serves from one process; use PostgreSQL to run several workers"
        )
    if (tls_cert is None) != (tls_key is None):
        raise ValidationError("tls_cert", "give both the certificate and its key, or neither")
    for name, path in (("tls_cert", tls_cert), ("tls_key", tls_key)):
        if path is not None and not path.is_file():
            raise NotFoundError(f"{name}: no file at {path}")
    if log_format not in LOG_FORMATS:
        raise ValidationError(
            "log_format", f"{log_format!r} is not accepted; use one of {', '.join(LOG_FORMATS)}"
        )


def service_app() -> Any:
    """The app each worker process builds (uvicorn's factory): create_app wrapped for operations."""
    from sfa.server.app import create_app
    from sfa.server.observe import wrap

    # A push holds the counter lock across a few database round trips; after each its thread must
    # get the GIL back from the threads merging other pushes. A 1 ms switch interval (default 5 ms)
    # bounds that wait (docs/deploy.md, "Limits"). Not on PostgreSQL, where the locked section is one
    # statement (sfa/server/pushwrite.py) and the shorter interval only costs CPU in GIL hand-offs.
    if not os.environ[_ENV_URL].startswith("postgres"):
        sys.setswitchinterval(0.001)
    if os.environ.get("SFA_SERVER_PROFILE"):  # cProfile of this worker (sfa/server/profiling.py)
        from sfa.server import profiling

        profiling.start(os.environ["SFA_SERVER_PROFILE"])
    engine = storage.make_engine(os.environ[_ENV_URL])
    blobs = os.environ.get(_ENV_BLOBS)
    return wrap(
        create_app(engine, Path(blobs) if blobs else None),
        engine,
        metrics=os.environ.get(_ENV_METRICS) == "1",
        log_format=os.environ.get(_ENV_LOG, "off"),
    )


def backup(home: Path, db: str | None, output: Path) -> dict[str, Any]:
    """A consistent copy of a running server's database: SQLite's online backup API, or pg_dump's
    custom format. Written beside ``output`` and renamed into place, so a cut leaves no half file."""
    url = storage.resolve_db_url(home, db)
    if output.exists() and output.is_dir():
        raise ValidationError("output", f"{output} is a directory; give a file name")
    if not output.parent.is_dir():
        raise NotFoundError(f"output: no folder {output.parent}")
    partial = output.with_name(output.name + ".partial")
    try:
        kind = _backup_to(url, partial)
        os.chmod(partial, 0o600)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)  # a failed or cut backup leaves nothing behind
    return {"output": str(output), "kind": kind, "bytes": output.stat().st_size}


def _backup_to(url: str, partial: Path) -> str:
    if url.startswith("sqlite:///"):
        source_path = Path(url[len("sqlite:///") :])
        if not source_path.is_file():
            raise NotFoundError(f"no server database at {source_path}")
        partial.unlink(missing_ok=True)
        source = sqlite3.connect(source_path)
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return "sqlite"
    _pg_tool("pg_dump", "--format=custom", f"--file={partial}", _libpq_url(url))
    return "postgresql"


def restore(home: Path, db: str | None, source: Path) -> dict[str, Any]:
    """Replace the server's database with a backup and start a new epoch: every laptop then resets
    and re-sends what the backup lost (docs/sync-protocol.md, "Reset")."""
    url = storage.resolve_db_url(home, db)
    if not source.is_file():
        raise NotFoundError(f"no backup file at {source}")
    if url.startswith("sqlite:///"):
        target_path = Path(url[len("sqlite:///") :])
        target_path.parent.mkdir(parents=True, exist_ok=True)
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            if backup_db.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise ValidationError("backup", f"{source} is not an intact SQLite database")
            target = sqlite3.connect(target_path)
            try:
                backup_db.backup(target)
            finally:
                target.close()
        except sqlite3.DatabaseError as exc:
            raise ValidationError("backup", f"{source} is not a SQLite server backup: {exc}") from None
        finally:
            backup_db.close()
    else:
        _pg_tool(
            "pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={_libpq_url(url)}", str(source)
        )
    result = init(home, db, new_epoch=True)
    return {"restored": str(source), "epoch": result["epoch"], "schema": result["schema"]}


def _libpq_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def _pg_tool(name: str, *args: str) -> None:
    tool = shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None
    )
    if tool is None:
        raise ConfigError(f"{name} not found: install the PostgreSQL client tools")
    done = subprocess.run([tool, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise ConfigError(f"{name} failed: {lines[0] if lines else 'exit ' + str(done.returncode)}")


def add_user(home: Path, db: str | None, name: str, role: str, team: str | None) -> dict[str, Any]:
    if role not in ROLES:
        raise ValidationError("role", f"{role!r} is not accepted; use one of {', '.join(ROLES)}")
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError("name", "give a user name of 1 to 100 characters")
    token = storage.new_token()
    engine = open_engine(home, db)
    try:
        with engine.begin() as conn:
            exists = conn.execute(text("SELECT 1 FROM app_user WHERE name = :n"), {"n": name}).first()
            if exists:
                raise ValidationError("name", f"user {name!r} already exists; pick another name")
            conn.execute(
                text(
                    "INSERT INTO app_user(name, role, team, token_hash, revoked, created_at)"
                    " VALUES (:n, :r, :t, :h, :f, :c)"
                ),
                {
                    "n": name,
                    "r": role,
                    "t": team or None,
                    "h": storage.hash_token(token),
                    "f": False,
                    "c": storage.utc_iso(),
                },
            )
    finally:
        engine.dispose()
    return {"name": name, "role": role, "team": team or None, "token": token}


def list_users(home: Path, db: str | None) -> list[dict[str, Any]]:
    engine = open_engine(home, db)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT name, role, team, revoked, created_at FROM app_user ORDER BY name")
            ).all()
    finally:
        engine.dispose()
    return [
        {"name": r[0], "role": r[1], "team": r[2], "revoked": bool(r[3]), "created_at": r[4]} for r in rows
    ]


def revoke_user(home: Path, db: str | None, name: str) -> dict[str, Any]:
    engine = open_engine(home, db)
    try:
        with engine.begin() as conn:
            found = conn.execute(
                text("UPDATE app_user SET revoked = :t, token_hash = :h WHERE name = :n"),
                {"t": True, "h": "revoked:" + secrets.token_hex(16), "n": name},
            )
            if found.rowcount == 0:
                raise NotFoundError(f"no server user named {name!r}")
    finally:
        engine.dispose()
    return {"name": name, "revoked": True}


def rotate_user(home: Path, db: str | None, name: str) -> dict[str, Any]:
    """A new token for user `name` (revoked or not: rotating reinstates); the old one stops working."""
    token = storage.new_token()
    engine = open_engine(home, db)
    try:
        with engine.begin() as conn:
            found = conn.execute(
                text("UPDATE app_user SET revoked = :f, token_hash = :h WHERE name = :n"),
                {"f": False, "h": storage.hash_token(token), "n": name},
            )
            if found.rowcount == 0:
                raise NotFoundError(f"no server user named {name!r}")
    finally:
        engine.dispose()
    return {"name": name, "token": token}


def repair(home: Path, db: str | None, entity: str, record_id: str) -> dict[str, Any]:
    """Write a corrective change for a record holding values today's checks refuse (repair.py)."""
    from sfa.server import repair as repairs

    engine = open_engine(home, db)
    try:
        return repairs.repair(engine, entity, record_id)
    finally:
        engine.dispose()


def compact(home: Path, db: str | None, keep_days: float) -> dict[str, Any]:
    """Fold the change log older than `keep_days` days into the records (compact.py)."""
    from sfa.server import compact as compaction

    engine = open_engine(home, db)
    try:
        return compaction.compact(engine, keep_days)
    finally:
        engine.dispose()


def parse_port(port: int) -> int:
    if not 1 <= port <= 65535:
        raise UsageError(f"port {port} is outside 1..65535")
    return port
