"""The sync server: FastAPI endpoints over the generic record store (docs/sync-protocol.md)."""

from __future__ import annotations

import json
import os
import time
import zlib
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware

from sfa.domain import ids
from sfa.protocol import (
    CONFLICT,
    DEFAULT_PAGE,
    GZIP_MIN,
    MAX_BODY,
    MAX_CLIENT_ID,
    MAX_EPOCH,
    MAX_PAGE,
    PROTOCOL,
    Fields,
    Mutation,
    ProtocolError,
    PushRequest,
    PushResponse,
    PushResult,
    is_uuid,
)
from sfa.server import merge as rules
from sfa.server import roles, schema
from sfa.server.merge import Invalid, User
from sfa.server.storage import hash_token, utc_iso

Scope = tuple[str | None, str | None]


class ApiError(HTTPException):
    def __init__(
        self, status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(status, message, headers=headers)
        self.extra = extra


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def create_app(engine: Engine) -> FastAPI:
    app = FastAPI(title="sfa sync server", version=str(PROTOCOL), docs_url="/docs")
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN, compresslevel=5)
    postgres = engine.dialect.name == "postgresql"
    test_hooks = os.environ.get("SFA_SERVER_TEST_HOOKS") == "1"

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        body = {"error": exc.detail, **getattr(exc, "extra", {})}
        return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "body"))
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid')}"}, status_code=400)

    def meta(conn: Connection, key: str) -> str:
        row = conn.execute(text("SELECT value FROM server_meta WHERE key = :k"), {"k": key}).first()
        return str(row[0]) if row else ""

    def authenticate(request: Request) -> User:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT name, role, team FROM app_user WHERE token_hash = :h AND revoked = :f"),
                {"h": hash_token(token.strip()), "f": False},
            ).first()
            conn.rollback()
        if row is None:
            raise ApiError(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
        return User(row[0], row[1], row[2])

    async def current_user(request: Request) -> User:
        return await run_in_threadpool(authenticate, request)

    @app.get("/v1/health", responses=schema.replies("Health"))
    def health() -> dict[str, Any]:
        with engine.connect() as conn:
            epoch = meta(conn, "epoch")
            conn.rollback()
        return {"ok": True, "protocol": PROTOCOL, "epoch": epoch}

    @app.get("/v1/me", responses=schema.replies("Me", 401))
    def me(user: User = Depends(current_user)) -> dict[str, Any]:
        return {"user": user.name, "role": user.role, "team": user.team}

    # -- push -------------------------------------------------------------------------------
    @app.post(
        "/v1/push",
        openapi_extra=schema.body("PushRequest"),
        responses=schema.replies("PushResponse", 400, 401, 403, 409, 413),
    )
    async def push(request: Request, user: User = Depends(current_user)) -> JSONResponse:
        try:
            body = PushRequest.parse(await _read_json(request))
        except ProtocolError as exc:
            raise ApiError(400, str(exc)) from None
        delay = 0.0
        if test_hooks:
            delay = float(request.headers.get("x-test-delay-commit", "0") or 0)
        result = await run_in_threadpool(apply_push, user, body, delay)
        return JSONResponse(result.to_json())

    def apply_push(user: User, body: PushRequest, delay: float) -> PushResponse:
        client_id, mutations, acked = body.client_id, body.mutations, body.acked
        with engine.begin() as conn:
            lock = " FOR UPDATE" if postgres else ""
            seq = int(conn.execute(text(f"SELECT value FROM counter WHERE name = 'seq'{lock}")).scalar_one())
            epoch = meta(conn, "epoch")
            client = conn.execute(
                text(
                    f"SELECT user_name, last_seq, last_results, pulled FROM client WHERE client_id = :c{lock}"
                ),
                {"c": client_id},
            ).first()
            if client is not None and client[0] != user.name:
                raise ApiError(403, "this client id belongs to another user; log in again on this laptop")
            last_seq = int(client[1]) if client else 0
            if acked > last_seq:
                raise ApiError(
                    409,
                    "the server lost changes it had acknowledged (restored from a backup?)",
                    reset="behind",
                )
            stored: dict[str, Any] = json.loads(client[2]) if client else {}
            results: list[PushResult] = []
            fresh = [m for m in mutations if m.seq > last_seq]
            for m in mutations:
                if m.seq <= last_seq:
                    old = stored.get(str(m.seq))
                    results.append(
                        PushResult.parse(old) if old else PushResult(m.seq, "applied", duplicate=True)
                    )
            if fresh:
                # Where the laptop's pull stands: what is logged after it, it has not seen yet.
                since = int(client[3]) if client else 0
                if body.cursor is not None:
                    since = min(since, body.cursor)
                batch = _Batch(conn, user, client_id, seq, body.now)
                batch.preload(fresh, since)
                for m in fresh:
                    results.append(batch.apply(m))
                seq = batch.flush()
                conn.execute(text("UPDATE counter SET value = :v WHERE name = 'seq'"), {"v": seq})
                last = fresh[-1].seq
                payload = _dumps({str(r.seq): r.to_json() for r in results if r.seq > last_seq})
                now = utc_iso()
                if client is None:
                    conn.execute(
                        text(
                            "INSERT INTO client(client_id, user_name, last_seq, last_results, pulled,"
                            " updated_at)"
                            " VALUES (:c, :u, :s, :r, 0, :t)"
                        ),
                        {"c": client_id, "u": user.name, "s": last, "r": payload, "t": now},
                    )
                else:
                    conn.execute(
                        text(
                            "UPDATE client SET last_seq = :s, last_results = :r, updated_at = :t"
                            " WHERE client_id = :c"
                        ),
                        {"c": client_id, "s": last, "r": payload, "t": now},
                    )
                last_seq = last
            if delay:
                time.sleep(min(delay, 30.0))
        results.sort(key=lambda r: r.seq)
        return PushResponse(epoch, last_seq, results)

    # -- pull -------------------------------------------------------------------------------
    @app.get("/v1/pull", responses=schema.replies("PullResponse", 400, 401, 403, 409))
    def pull(
        cursor: int = Query(0, ge=0),
        limit: int = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE),
        epoch: str | None = Query(None, max_length=MAX_EPOCH),
        client_id: str | None = Query(None, max_length=MAX_CLIENT_ID),
        user: User = Depends(current_user),
    ) -> Response:
        with engine.begin() as conn:
            head = int(conn.execute(text("SELECT value FROM counter WHERE name = 'seq'")).scalar_one())
            server_epoch = meta(conn, "epoch")
            if epoch and epoch != server_epoch:
                raise ApiError(409, "the server is not the one this laptop synced with", reset="epoch")
            if cursor > head:
                raise ApiError(
                    409, "the server is behind this laptop (restored from a backup?)", reset="ahead"
                )
            client = None
            if client_id:
                client = conn.execute(
                    text("SELECT user_name, pulled FROM client WHERE client_id = :c"), {"c": client_id}
                ).first()
                if client is not None and client[0] != user.name:
                    raise ApiError(403, "this client id belongs to another user; log in again on this laptop")
                if cursor > 0 and (client is None or int(client[1]) < cursor):
                    raise ApiError(
                        409, "the server does not know this laptop's cursor (restored?)", reset="behind"
                    )
            sql = (
                "SELECT seq, entity, id, fields, owner, team, prev_owner, prev_team, existed, origin"
                " FROM change WHERE seq > :c AND seq <= :h"
            )
            params: dict[str, Any] = {"c": cursor, "h": head, "n": limit}
            if user.role != "admin":
                sql += (
                    " AND (owner = :u OR team = :t OR prev_owner = :u OR prev_team = :t"
                    " OR (owner IS NULL AND team IS NULL))"
                )
                params.update(u=user.name, t=user.team)
            rows = conn.execute(text(sql + " ORDER BY seq LIMIT :n"), params).all()
            changes: list[str] = []  # JSON text: the stored fields are passed through unparsed
            for row in rows:
                now_visible = rules.visible(user, row[4], row[5])
                before = bool(row[8]) and rules.visible(user, row[6], row[7])
                if client_id and row[9] == client_id and now_visible:
                    continue  # the client's own write, as it made it (a move out of scope still removes)
                if now_visible and (before or not row[8]):
                    changes.append(_change_json(row[0], row[1], row[2], row[3]))
                elif now_visible:
                    full = conn.execute(
                        text("SELECT fields FROM record WHERE entity = :e AND id = :i"),
                        {"e": row[1], "i": row[2]},
                    ).scalar_one()
                    changes.append(_change_json(row[0], row[1], row[2], full))
                elif before:
                    changes.append(_dumps({"seq": row[0], "entity": row[1], "id": row[2], "remove": True}))
            new_cursor = int(rows[-1][0]) if len(rows) == limit else head
            if client_id and (client is None or int(client[1]) != new_cursor):
                if client is None:
                    conn.execute(
                        text(
                            "INSERT INTO client(client_id, user_name, last_seq, last_results, pulled,"
                            " updated_at)"
                            " VALUES (:c, :u, 0, '{}', :p, :t)"
                        ),
                        {"c": client_id, "u": user.name, "p": new_cursor, "t": utc_iso()},
                    )
                else:
                    conn.execute(
                        text("UPDATE client SET pulled = :p WHERE client_id = :c"),
                        {"p": new_cursor, "c": client_id},
                    )
        head_json = _dumps(
            {"epoch": server_epoch, "cursor": new_cursor, "head": head, "more": new_cursor < head}
        )
        return Response(
            head_json[:-1] + ',"changes":[' + ",".join(changes) + "]}", media_type="application/json"
        )

    app.openapi = lambda: schema.openapi(app)  # type: ignore[method-assign]
    return app


def _change_json(seq: int, entity: str, record_id: str, fields: str) -> str:
    return (
        f'{{"seq":{int(seq)},"entity":{json.dumps(entity)},"id":{json.dumps(record_id)},"fields":{fields}}}'
    )


async def _read_json(request: Request) -> Any:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY:
        raise ApiError(413, f"the body is larger than {MAX_BODY} bytes")
    raw = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":
        try:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = inflater.decompress(raw, MAX_BODY + 1)
        except zlib.error:
            raise ApiError(400, "the body is not valid gzip") from None
        if len(raw) > MAX_BODY:
            raise ApiError(413, f"the body is larger than {MAX_BODY} bytes uncompressed")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the body is not JSON: {exc}") from None


class _Batch:
    """The records one push touches, merged in memory and written at the end of the transaction."""

    def __init__(
        self, conn: Connection, user: User, client_id: str, seq: int, client_now: int | None
    ) -> None:
        self.conn = conn
        self.user = user
        self.client_id = client_id
        self.seq = seq
        self.now = rules.now_ms()
        self.skew = rules.skew_of(client_now, self.now)
        self.at = utc_iso()
        # (entity, id) -> [fields, owner, team, deleted, flagged, existed_in_db, dirty]
        self.records: dict[tuple[str, str], list[Any]] = {}
        self.changes: list[dict[str, Any]] = []
        self.loaded: set[tuple[str, str]] = set()  # keys already looked up (found or not)
        # Records with a logged change the pushing laptop has not pulled yet: its own changes to
        # them are sent back (see "Own changes" in docs/sync-protocol.md).
        self.unseen: set[tuple[str, str]] = set()

    def preload(self, mutations: list[Mutation], since: int) -> None:
        """Read every record the batch touches in a few queries instead of one each, and which of
        them changed after `since` (the pushing laptop's pull cursor). A record's `seq` is at least
        that of every change logged for it: each logging path marks the record dirty."""
        wanted = sorted({m.id for m in mutations if is_uuid(m.id)})
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            params: dict[str, Any] = {f"i{n}": v for n, v in enumerate(chunk)}
            marks = ", ".join(f":i{n}" for n in range(len(chunk)))
            for row in self.conn.execute(
                text(
                    "SELECT entity, id, fields, owner, team, deleted, flagged, seq FROM record"
                    f" WHERE id IN ({marks})"
                ),
                params,
            ):
                if int(row[7]) > since:  # changed after the laptop's cursor (by anyone: conservative)
                    self.unseen.add((row[0], row[1]))
                self.records[(row[0], row[1])] = [
                    json.loads(row[2]),
                    row[3],
                    row[4],
                    bool(row[5]),
                    bool(row[6]),
                    True,
                    False,
                ]
        self.loaded = {(m.entity, m.id) for m in mutations}

    def load(self, entity: str, record_id: str) -> list[Any] | None:
        key = (entity, record_id)
        if key in self.loaded and key not in self.records:
            return None
        if key not in self.records:
            row = self.conn.execute(
                text(
                    "SELECT fields, owner, team, deleted, flagged FROM record WHERE entity = :e AND id = :i"
                ),
                {"e": entity, "i": record_id},
            ).first()
            if row is None:
                return None
            self.records[key] = [json.loads(row[0]), row[1], row[2], bool(row[3]), bool(row[4]), True, False]
        return self.records[key]

    def scope_of_id(self, record_id: str) -> Scope | None:
        for (_, rid), entry in self.records.items():
            if rid == record_id:
                return entry[1], entry[2]
        row = self.conn.execute(
            text("SELECT owner, team FROM record WHERE id = :i"), {"i": record_id}
        ).first()
        return None if row is None else (row[0], row[1])

    def scope(self, entity: str, state: Fields) -> Scope:
        own = rules.own_scope(entity, state)
        if own is not None:
            return own
        parent = rules.parent_of(entity, state)
        inherited = self.scope_of_id(parent) if parent else None
        if entity == "timeline":
            owner = state.get("owner", [None])[0] or (inherited[0] if inherited else self.user.name)
            return owner, inherited[1] if inherited else self.user.team
        return inherited if inherited is not None else (self.user.name, self.user.team)

    def log(
        self,
        entity: str,
        record_id: str,
        fields: Fields,
        before: Scope | None,
        after: Scope,
        origin: str | None,
    ) -> None:
        if origin is None:
            self.unseen.add((entity, record_id))
        self.seq += 1
        self.changes.append(
            {
                "seq": self.seq,
                "entity": entity,
                "id": record_id,
                "fields": _dumps(fields),
                "owner": after[0],
                "team": after[1],
                "prev_owner": before[0] if before else None,
                "prev_team": before[1] if before else None,
                "existed": before is not None,
                "origin": origin,
                "user_name": self.user.name,
                "at": self.at,
            }
        )

    def apply(self, m: Mutation) -> PushResult:
        current = self.load(m.entity, m.id) if m.entity and m.id else None
        before: Scope | None = (current[1], current[2]) if current else None
        try:
            rules.validate(m, current is not None)
        except Invalid as exc:
            self._revert(m, current, before)
            return PushResult(m.seq, "rejected", reason=str(exc))
        assert current is not None or m.entity != CONFLICT
        outcome = rules.merge(
            m.entity, m.id, current[0] if current else None, m.fields, m.base, m.known, self.now, self.skew
        )
        after = before if m.entity == CONFLICT and before else self.scope(m.entity, outcome.state)
        reason = rules.may_write(self.user, before, after) or roles.problem(
            self.user.name,
            self.user.role,
            self.user.team,
            m.entity,
            m.fields,
            current[0] if current else None,
            outcome.state,
            before,
            after,
            self.scope_of_id,
        )
        if reason is not None:
            self._revert(m, current, before)
            return PushResult(m.seq, "rejected", reason=reason)
        entry = current or [{}, None, None, False, False, False, False]
        entry[0], entry[1], entry[2] = outcome.state, after[0], after[1]
        entry[3] = outcome.state.get("deleted", [False])[0] is True
        entry[4] = entry[4] or outcome.flagged
        entry[6] = True
        self.records[(m.entity, m.id)] = entry
        if m.entity == CONFLICT and outcome.state.get("status", [None])[0] == "resolved":
            target = self.load(str(outcome.state["entity"][0]), str(outcome.state["record_id"][0]))
            if target is not None:
                target[4], target[6] = False, True
        if outcome.changed:
            exact = (
                not outcome.conflicts and outcome.changed == m.fields and (m.entity, m.id) not in self.unseen
            )
            self.log(m.entity, m.id, outcome.changed, before, after, self.client_id if exact else None)
        conflict_ids = []
        for data in outcome.conflicts:
            conflict_id = ids.uuid7()
            fields = rules.conflict_fields(data, self.now, self.at)
            self.records[(CONFLICT, conflict_id)] = [fields, after[0], after[1], False, False, False, True]
            self.log(CONFLICT, conflict_id, fields, None, after, None)
            conflict_ids.append(conflict_id)
        if conflict_ids:
            return PushResult(m.seq, "conflict", conflict_ids)
        return PushResult(m.seq, "applied")

    def _revert(self, m: Mutation, current: list[Any] | None, before: Scope | None) -> None:
        """A rejected edit of a record the user sees: send the server's values back."""
        if current is None or before is None or not rules.visible(self.user, *before):
            return
        fields = {k: v for k, v in current[0].items() if k in m.fields}
        if fields:
            self.log(m.entity, m.id, fields, before, before, None)
            current[6] = True  # rewritten with the batch's seq: the revert counts as a change

    def flush(self) -> int:
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for (entity, record_id), entry in self.records.items():
            if not entry[6]:
                continue
            row = {
                "e": entity,
                "i": record_id,
                "f": _dumps(entry[0]),
                "o": entry[1],
                "t": entry[2],
                "d": entry[3],
                "g": entry[4],
                "s": self.seq,
                "u": self.at,
            }
            (updates if entry[5] else inserts).append(row)
        if inserts:
            self.conn.execute(
                text(
                    "INSERT INTO record(entity, id, fields, owner, team, deleted, flagged, seq, updated_at)"
                    " VALUES (:e, :i, :f, :o, :t, :d, :g, :s, :u)"
                ),
                inserts,
            )
        if updates:
            self.conn.execute(
                text(
                    "UPDATE record SET fields = :f, owner = :o, team = :t, deleted = :d, flagged = :g,"
                    " seq = :s, updated_at = :u WHERE entity = :e AND id = :i"
                ),
                updates,
            )
        if self.changes:
            self.conn.execute(
                text(
                    "INSERT INTO change(seq, entity, id, fields, owner, team, prev_owner, prev_team,"
                    " existed, origin, user_name, at) VALUES (:seq, :entity, :id, :fields, :owner, :team,"
                    " :prev_owner,"
                    " :prev_team, :existed, :origin, :user_name, :at)"
                ),
                self.changes,
            )
        return self.seq
