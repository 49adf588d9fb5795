"""Server administration use cases: init, run, users. The CLI in sfa/cli/server.py calls these."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from sfa.domain.errors import NotFoundError, UsageError, ValidationError
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
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
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


def run(home: Path, db: str | None, host: str, port: int) -> None:
    import os

    import uvicorn

    from sfa.server.app import create_app

    engine = open_engine(home, db)
    blob_dir = Path(os.environ.get("SFA_BLOB_DIR") or home / "blobs")  # document contents
    uvicorn.run(create_app(engine, blob_dir), host=host, port=port, log_level="warning", access_log=False)


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


def parse_port(port: int) -> int:
    if not 1 <= port <= 65535:
        raise UsageError(f"port {port} is outside 1..65535")
    return port
