"""The sync server: FastAPI endpoints over the generic record store (docs/sync-protocol.md)."""

from __future__ import annotations

import functools
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware

from sfa.domain import ids
from sfa.domain.entities import ENTITIES
from sfa.protocol import (
    CONFLICT,
    DEFAULT_PAGE,
    GZIP_MIN,
    MAX_EPOCH,
    MAX_PAGE,
    MAX_SEQ,
    PROTOCOL,
    Fields,
    Mutation,
    ProtocolError,
    PushRequest,
    PushResponse,
    PushResult,
    client_id_problem,
    is_uuid,
)
from sfa.server import (
    blobs,
    compact,
    erp,
    fastpath,
    limits,
    lockstat,
    merged,
    pushwrite,
    roles,
    schema,
    scope,
    storage,
    wire,
)
from sfa.server import merge as rules
from sfa.server.merge import Invalid, User
from sfa.server.storage import hash_token, utc_iso

Scope = tuple[str | None, str | None]


class ApiError(HTTPException):
    def __init__(
        self, status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(status, message, headers=headers)
        self.extra = extra


# Statement objects by SQL text, made once: text() parses the placeholders of its SQL every time.
_sql = functools.lru_cache(maxsize=2048)(text)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def create_app(
    engine: Engine,
    blob_dir: Path | None = None,
    *,
    read_timeout: float | None = None,
    throttle: limits.TokenThrottle | None = None,
    reader: Engine | None = None,
) -> FastAPI:
    """The app over `engine`; document contents are kept in `blob_dir` (sfa/server/blobs.py).
    `read_timeout`: seconds a request body may stall (default $SFA_SERVER_READ_TIMEOUT, else
    limits.READ_TIMEOUT); `throttle`: the failed-token limit (default 20 a minute per address)."""
    app = FastAPI(title="sfa sync server", version=str(PROTOCOL), docs_url="/docs")
    # Level 1: a pull page compresses ~8 % worse than at 5 and costs the CPU-bound server a third
    # less (docs/performance.md, "Server CPU per request").
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN, compresslevel=1)
    postgres = engine.dialect.name == "postgresql"
    test_hooks = os.environ.get("SFA_SERVER_TEST_HOOKS") == "1"
    if read_timeout is None:
        read_timeout = float(os.environ.get("SFA_SERVER_READ_TIMEOUT") or limits.READ_TIMEOUT)
    body_timeout = max(read_timeout, limits.BODY_TIMEOUT)
    tokens = throttle or limits.TokenThrottle()
    # Pulls, token checks and the first phase of a push read through their own pool, which never
    # takes a write lock (storage.read_engine); only a push's second phase uses `engine`.
    read_engine = reader if reader is not None else storage.read_engine(engine)
    # At most two pushes of this process merge at once: more only compete for the GIL with the
    # thread that holds the counter lock (and with the worker's health-check thread).
    merging = threading.BoundedSemaphore(2)
    # Checked tokens, for push and pull (sfa/server/fastpath.py: each request's first statement
    # reads the token's user again, so a revoked token stops at once).
    users = fastpath.Users()

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
        row = conn.execute(_sql("SELECT value FROM server_meta WHERE key = :k"), {"k": key}).first()
        return str(row[0]) if row else ""

    def authenticate(request: Request) -> User:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        address = request.client.host if request.client else ""
        wait = tokens.retry_after(address)
        if wait is not None:
            raise ApiError(
                429, "too many unknown tokens from this address; wait", headers={"Retry-After": str(wait)}
            )
        with read_engine.connect() as conn:
            row = conn.execute(
                _sql("SELECT name, role, team FROM app_user WHERE token_hash = :h AND revoked = :f"),
                {"h": hash_token(token.strip()), "f": False},
            ).first()
            user = scope.widen(conn, User(row[0], row[1], row[2])) if row is not None else None
            conn.rollback()
        if user is None:
            tokens.failed(address)
            raise ApiError(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
        users.put(hash_token(token.strip()), user)
        return user

    async def current_user(request: Request) -> User:
        return await run_in_threadpool(authenticate, request)

    async def caller(request: Request) -> fastpath.Caller:
        """current_user for push and pull: a token checked in the last seconds is taken from the
        cache, in the event loop (no thread, no statement); `recheck` confirms it against the
        request's first statement."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        hashed = hash_token(token.strip())
        if scheme.lower() == "bearer" and token.strip():
            user = users.get(hashed)
            if user is not None and tokens.retry_after(request.client.host if request.client else "") is None:
                return fastpath.Caller(user, hashed, True)
        return fastpath.Caller(await run_in_threadpool(authenticate, request), hashed, False)

    def recheck(who: fastpath.Caller, found: fastpath.Head, address: str, conn: Any) -> User:
        """The caller's user as the request's first statement read it: a token revoked since it
        was checked is refused now, a role or team changed since is taken as it is now."""
        if found.same_user(who.user):
            return who.user
        users.drop(who.token_hash)
        if found.user is None:
            tokens.failed(address)
            raise ApiError(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
        return scope.widen(conn, User(*found.user))

    @app.get("/v1/health", responses=schema.replies("Health"))
    def health() -> dict[str, Any]:
        with read_engine.connect() as conn:
            epoch = meta(conn, "epoch")
            conn.rollback()
        return {"ok": True, "protocol": PROTOCOL, "epoch": epoch}

    @app.get("/v1/me", responses=schema.replies("Me", 401, 429))
    def me(user: User = Depends(current_user)) -> dict[str, Any]:
        return {"user": user.name, "role": user.role, "team": user.team, "teams": sorted(user.teams)}

    # -- push -------------------------------------------------------------------------------
    @app.post(
        "/v1/push",
        openapi_extra=schema.body("PushRequest"),
        responses=schema.replies("PushResponse", 400, 401, 403, 408, 409, 413, 429),
    )
    async def push(request: Request) -> JSONResponse:
        # The arrival time and the caller, taken here rather than as FastAPI dependencies (whose
        # solving costs CPU on every request; neither appears in the OpenAPI document).
        arrived = rules.now_ms()
        who = await caller(request)
        try:
            raw = await limits.read_body(request, read_timeout, body_timeout)
            body = PushRequest.parse(limits.parse_json(raw))
        except limits.BodyError as exc:
            headers = {"Connection": "close"} if exc.status in (408, 413) else None
            raise ApiError(exc.status, str(exc), headers=headers) from None
        except ProtocolError as exc:
            raise ApiError(400, wire.safe_text(str(exc))) from None
        delay = 0.0
        if test_hooks:
            delay = float(request.headers.get("x-test-delay-commit", "0") or 0)
        address = request.client.host if request.client else ""
        result = await run_in_threadpool(apply_push, who, body, delay, arrived, address)
        return JSONResponse(result.to_json(), headers=_observed(who.user, body.client_id, result.results))

    def apply_push(
        who: fastpath.Caller, body: PushRequest, delay: float, arrived: int, address: str
    ) -> PushResponse:
        """Merge outside the counter lock, then lock, check nothing read has changed, write.

        Phase 1 (read pool, no lock): the client row, the counter's value `head`, every record the
        batch touches; every per-row decision (validation, merge, scope) is made in memory with
        change seqs relative to 0. Phase 2 (the counter row locked): when the counter is still at
        `head`, or no record the batch read was written since, the planned rows get their seqs
        (one range for the batch) and are written with one statement per table; otherwise the
        batch is planned again under the lock, as every push was before (docs/sync-protocol.md,
        "Server sequence")."""
        # PostgreSQL: the psycopg connection in autocommit (each read its own snapshot, as under
        # READ COMMITTED; phase 2 checks them all under the lock). SQLite: a deferred transaction.
        reading: Any = fastpath.raw(read_engine, autocommit=True) if postgres else read_engine.connect()
        with merging, reading as conn:
            read: tuple[list[Any], list[Any]] | None = None
            ids = sorted({m.id for m in body.mutations if is_uuid(m.id)})
            refs = sorted(_merge_refs(body.mutations))
            if postgres and len(ids) <= 500 and len(refs) <= 500:
                # HEAD, the records the batch touches and the merged-away ones it refers to: one statement
                found, read = _head_and_records(conn, body.client_id, who.token_hash, ids, refs)
            else:
                found = fastpath.head(conn, body.client_id, who.token_hash)
            user = recheck(who, found, address, conn)
            head, epoch, client = found.seq, found.epoch, found.client
            plan = _Plan.make(conn, user, body, client, arrived, found.floor, read)
            if not postgres:
                conn.rollback()  # the plan's reads end here; phase 2 checks them under the lock
        hook = getattr(app.state, "after_plan", None)
        if hook is not None:  # tests: another push commits between the two phases
            hook()
        batch = plan.batch
        if postgres and batch is not None and not batch.moved and not delay:
            # The locked section as one statement: no Python runs while the row is locked.
            values = pushwrite.params(
                client_id=body.client_id,
                user=user.name,
                read=_row_key(client),
                head=head,
                floor=batch.floor,
                looked=batch.looked,
                top=batch.seq,
                changes=batch.changes,
                records=batch.record_rows(),
                last_seq=plan.last_seq,
                results=plan.payload,
                at=batch.at,
            )
            with fastpath.raw(engine, autocommit=True) as conn:
                base, held = pushwrite.call(conn, values)
            lockstat.held(held, "statement" if base is not None else "stale")
            if base is not None:
                return PushResponse(epoch, plan.last_seq, sorted(plan.results, key=lambda r: r.seq))
            # Something the plan read has changed: planned again under the lock, below.
        locked = 0.0
        with engine.begin() as conn:
            # One round trip: the lock, the counter, and the client row as it is now (pushes of one
            # client are serialised by the counter lock too, so its row needs no lock of its own).
            lock = " FOR UPDATE OF n" if postgres else ""
            seq, owner, last, floor = conn.execute(
                _sql(
                    "SELECT n.value, c.user_name, c.last_seq,"
                    " (SELECT value FROM server_meta WHERE key = 'floor') FROM counter n"
                    f" LEFT JOIN client c ON c.client_id = :c WHERE n.name = 'seq'{lock}"
                ),
                {"c": body.client_id},
            ).one()
            locked = time.perf_counter()
            now_key = None if owner is None else (str(owner), int(last))
            moved = plan.batch is not None and plan.batch.floor != int(floor or 0)  # a compaction ran
            if (
                now_key != _row_key(client)
                or moved
                or (seq != head and plan.batch is not None and plan.batch.stale(conn, head))
            ):
                plan = _Plan.make(
                    conn, user, body, _client_row(conn, body.client_id, ""), arrived, int(floor or 0)
                )
            plan.write(conn, int(seq), now_key is not None)
            if delay:
                time.sleep(min(delay, 30.0))
        lockstat.held(time.perf_counter() - locked)
        return PushResponse(epoch, plan.last_seq, sorted(plan.results, key=lambda r: r.seq))

    # -- pull -------------------------------------------------------------------------------
    @app.get("/v1/pull", responses=schema.replies("PullResponse", 400, 401, 403, 409, 429))
    def pull(
        request: Request,
        cursor: int = Query(0, ge=0, le=MAX_SEQ),
        limit: int = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE),
        epoch: str | None = Query(None, max_length=MAX_EPOCH),
        client_id: str | None = Query(None, min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.:-]+$"),
        own: int = Query(0, ge=0, le=1),
        who: fastpath.Caller = Depends(caller),
    ) -> Response:
        if client_id is not None and client_id_problem(client_id) is not None:
            raise ApiError(400, f"client_id: {client_id_problem(client_id)}")
        address = request.client.host if request.client else ""
        upsert = (
            "INSERT INTO client(client_id, user_name, last_seq, last_results, pulled, updated_at,"
            " snapshot) VALUES (:c, :u, 0, '{}', :p, :t, :s) ON CONFLICT (client_id) DO UPDATE"
            " SET pulled = excluded.pulled, updated_at = excluded.updated_at,"
            " snapshot = excluded.snapshot WHERE client.user_name = excluded.user_name"
        )

        def attempt(conn: Any, fast: bool) -> tuple[str, int, int, list[str], User, dict[str, Any]] | None:
            """The page, read through `conn`. `fast` (PostgreSQL): the counter, epoch, floor, client
            row, token's user and the log page in one autocommit statement (one snapshot, so no
            transaction); None when the page needs the transaction below instead (a snapshot page,
            a record entering the user's scope, a user changed since the token was cached)."""
            rows: list[Any] | None = None
            wrote = False
            if fast:
                found, rows, wrote = _head_and_log(conn, who, client_id, cursor, limit, epoch)
            else:
                # One statement: the counter, the epoch, the floor, the client row, the token's user.
                found = fastpath.head(conn, client_id, who.token_hash)
            user = recheck(who, found, address, conn)
            head, server_epoch = found.seq, found.epoch
            if epoch and epoch != server_epoch:
                raise ApiError(409, "the server is not the one this laptop synced with", reset="epoch")
            if cursor > head:
                raise ApiError(
                    409, "the server is behind this laptop (restored from a backup?)", reset="ahead"
                )
            client = None
            if client_id and found.client is not None:
                client = (found.client[0], found.client[3], found.client[4])  # user, pulled, snapshot
            if client_id:
                if client is not None and client[0] != user.name:
                    raise ApiError(403, "this client id belongs to another user; log in again on this laptop")
                if cursor > 0 and (client is None or int(client[1]) < cursor):
                    raise ApiError(
                        409, "the server does not know this laptop's cursor (restored?)", reset="behind"
                    )
            floor = found.floor
            snapshot = cursor < floor
            if snapshot and cursor > 0 and client is not None and not client[2]:
                raise ApiError(
                    409,
                    "the server compacted its log past this laptop's cursor; it syncs again from the start",
                    reset="compacted",
                )
            if fast and (snapshot or user is not who.user or rows is None or _enters_scope(user, rows)):
                return None
            if snapshot:
                changes, new_cursor = _snapshot_page(conn, user, cursor, floor, limit)
            else:
                changes, new_cursor = _log_page(conn, user, cursor, head, limit, client_id, own, rows)
            in_snapshot = snapshot and new_cursor < floor
            moved = client is None or int(client[1]) != new_cursor or bool(client[2]) != in_snapshot
            values = {"c": client_id, "u": user.name, "p": new_cursor, "t": utc_iso(), "s": in_snapshot}
            if not (client_id and moved):
                values = {}
            if postgres:
                if not fast:
                    conn.end_snapshot()
                if values and not wrote:  # the cursor given: one autocommit write on this connection
                    conn.execute(_sql(upsert), values)
            else:
                conn.rollback()
            return server_epoch, new_cursor, head, changes, user, values

        if postgres:
            with fastpath.raw(read_engine, autocommit=True) as db:
                answer = attempt(db, True)
            if answer is None:
                # A snapshot read (REPEATABLE READ, read-only) through the read pool: no write lock.
                with fastpath.raw(read_engine, snapshot=True) as db:
                    answer = attempt(db, False)
        else:
            with read_engine.connect() as conn:  # a deferred transaction: a WAL snapshot, no lock
                answer = attempt(conn, False)
        assert answer is not None
        server_epoch, new_cursor, head, changes, user, values = answer
        if not postgres and values:
            # The cursor given, in a one-row write of its own (the read above took no lock).
            with engine.begin() as conn:
                conn.execute(_sql(upsert), values)
        head_json = _dumps(
            {"epoch": server_epoch, "cursor": new_cursor, "head": head, "more": new_cursor < head}
        )
        return Response(
            head_json[:-1] + ',"changes":[' + ",".join(changes) + "]}",
            media_type="application/json",
            headers=_observed(user, client_id or "", []),
        )

    # Push and pull beside FastAPI's routing and dependency solving (a few % of the server's CPU per
    # request, docs/performance.md "Server load", round 3): the same endpoint functions, called from
    # a dispatcher in front of the router, below the middleware and the exception handlers (an
    # ApiError they raise is answered as from the route). A pull whose query is not plainly valid,
    # and any other request, goes to the router; the routes stay, and declare the OpenAPI document.
    routed = app.router.middleware_stack

    async def dispatch(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            path, method = scope["path"], scope["method"]
            if path == "/v1/push" and method == "POST":
                response: Response = await push(Request(scope, receive))
                await response(scope, receive, send)
                return
            if path == "/v1/pull" and method == "GET":
                request = Request(scope, receive)
                query = fastpath.pull_query(request.query_params.multi_items(), DEFAULT_PAGE)
                if query is not None:
                    who = await caller(request)
                    response = await run_in_threadpool(functools.partial(pull, request, who=who, **query))
                    await response(scope, receive, send)
                    return
        await routed(scope, receive, send)

    app.router.middleware_stack = dispatch
    app.openapi = lambda: schema.openapi(app)  # type: ignore[method-assign]
    erp.register(app, engine, current_user)  # the ERP hand-off (sfa/server/erp.py)
    blobs.register(app, engine, current_user, blob_dir)  # document contents (sfa/server/blobs.py)
    return app


def _observed(user: User, client_id: str, results: list[Any]) -> dict[str, str]:
    """What sfa/server/observe.py logs and counts; it strips these headers before they leave.
    Quoted, so any user or client name is a valid header value."""
    headers = {"x-sfa-user": quote(user.name), "x-sfa-client": quote(client_id)}
    if results:
        headers["x-sfa-mutations"] = str(len(results))
        for status in ("applied", "rejected", "conflict"):
            headers[f"x-sfa-{status}"] = str(sum(1 for r in results if r.status == status))
    return headers


def _change_json(seq: int, entity: str, record_id: str, fields: str) -> str:
    # Entity names and record ids are plain ASCII (checked on the way in) and need no escaping;
    # anything else is escaped by json.dumps. A pull page builds thousands of these.
    quoted_entity = _QUOTED_ENTITIES.get(entity) or json.dumps(entity)
    quoted_id = f'"{record_id}"' if _PLAIN_ID.fullmatch(record_id) else json.dumps(record_id)
    return f'{{"seq":{int(seq)},"entity":{quoted_entity},"id":{quoted_id},"fields":{fields}}}'


_QUOTED_ENTITIES = {name: json.dumps(name) for name in (*ENTITIES, CONFLICT)}
_PLAIN_ID = re.compile(r"[0-9A-Za-z_.:-]*")


def _teams_in(user: User, params: dict[str, Any]) -> str:
    """The placeholders of the user's team and, for a manager, their territory's subtree
    (sfa/server/scope.py), added to `params` with the user's name as `:u`."""
    teams = [user.team, *sorted(user.teams)]
    params.update({f"t{n}": team for n, team in enumerate(teams)}, u=user.name)
    return ", ".join(f":t{n}" for n in range(len(teams)))


def _scope_terms(user: User, params: dict[str, Any], prev: bool) -> list[tuple[str, str]]:
    """The conditions of the user's scope on a row of `record` or (`prev`: with the scope it left)
    of `change`, OR-ed together, each with the column of the `(column, seq)` index that reads it
    (sfa/server/storage.py, schema v2)."""
    teams = _teams_in(user, params).split(", ")
    terms = [("owner = :u", "owner"), *((f"team = {t}", "team") for t in teams)]
    if prev:
        terms += [("prev_owner = :u", "prev_owner"), *((f"prev_team = {t}", "prev_team") for t in teams)]
    return [*terms, ("owner IS NULL AND team IS NULL", "owner")]


def _scoped(sql: str, table: str, terms: list[tuple[str, str]], window: str, sqlite: bool) -> str:
    """`sql` (`SELECT … FROM table WHERE window`) limited to the rows matching any of `terms`, the
    first `:n` by seq, in seq order: the union of the first `:n` of each term, each read as a range
    of its `(column, seq)` index, joined back by key. A user who sees little reads little, however
    long the log (an OR of the terms is read along the whole seq range instead). The first `:n` by
    seq of the union of the terms' rows are among those read, ties on the `:n`-th seq included.
    SQLite is told the index (`INDEXED BY`): with statistics from a log where no row matches a term
    (`owner IS NULL`, a user with nothing) its planner reads the whole seq range instead."""
    key = ("seq",) if table == "change" else ("entity", "id")  # a push writes its records with one seq
    columns = ", ".join(key)
    union = " UNION ".join(
        f"SELECT {columns} FROM (SELECT {columns} FROM {table}"
        + (f" INDEXED BY {table}_by_{column}" if sqlite else "")
        + f" WHERE {_range(term, column, window, sqlite)} LIMIT :n) AS s{n}"
        for n, (term, column) in enumerate(terms)
    )
    selected = sql[len("SELECT ") : sql.index(" FROM ")]
    qualified = ", ".join(f"x.{column.strip()}" for column in selected.split(","))
    if not sqlite:
        # Each row looked up by its key: a LATERAL subquery with a LIMIT is not flattened into a
        # join, so a plan made without the parameters' values (the read pool's generic plans,
        # sfa/server/storage.py) cannot merge-join the union with the whole table instead.
        match = " AND ".join(f"y.{k} = u.{k}" for k in key)
        row = f"LATERAL (SELECT * FROM {table} y WHERE {match} LIMIT 1) AS x"
        return f"SELECT {qualified} FROM ({union}) AS u CROSS JOIN {row} ORDER BY x.seq LIMIT :n"
    join = " AND ".join(f"x.{k} = u.{k}" for k in key)
    return f"SELECT {qualified} FROM ({union}) AS u JOIN {table} x ON {join} ORDER BY x.seq LIMIT :n"


@functools.lru_cache(maxsize=256)
def _range(term: str, column: str, window: str, sqlite: bool) -> str:
    """One term of `_scoped` over its seq window, in index order. On PostgreSQL a term `column =
    :v` over `seq > :c AND seq <= :h` is written as the range of its `(column, seq)` index,
    `(column, seq) > (:v, :c) AND (column, seq) <= (:v, :h)`, ordered by `column, seq`: the same
    rows in the same order, but a plan made without the parameters' values (the read pool's generic
    plans) can read them only through that index. Written as `column = :v`, such a plan reads the
    seq index filtering by the column, which for a team with few changes reads the whole window."""
    equal = re.fullmatch(rf"{column} = (:\w+)", term)
    bounds = re.fullmatch(r"seq > (:\w+) AND seq <= (:\w+)", window)
    if sqlite or equal is None or bounds is None:
        return f"{term} AND {window} ORDER BY seq"
    value, low, high = equal.group(1), bounds.group(1), bounds.group(2)
    return (
        f"({column}, seq) > ({value}, {low}) AND ({column}, seq) <= ({value}, {high}) ORDER BY {column}, seq"
    )


def _log_query(user: User, cursor: int, limit: int, sqlite: bool) -> tuple[str, dict[str, Any]]:
    """The statement of a log page above `cursor` up to the head `:h`, as the user may see it."""
    sql = (
        "SELECT seq, entity, id, fields, owner, team, prev_owner, prev_team, existed, origin"
        " FROM change WHERE seq > :c AND seq <= :h"
    )
    params: dict[str, Any] = {"c": cursor, "n": limit}
    if user.role != "admin":
        terms = _scope_terms(user, params, prev=True)
        sql = _scoped(sql, "change", terms, "seq > :c AND seq <= :h", sqlite)
    else:
        sql += " ORDER BY seq LIMIT :n"
    return sql, params


def _head_and_log(
    conn: Any, who: fastpath.Caller, client_id: str | None, cursor: int, limit: int, epoch: str | None
) -> tuple[fastpath.Head, list[Any], bool]:
    """PostgreSQL, a pull in one autocommit statement (one snapshot, one round trip): HEAD, the
    caller's log page above `cursor` up to the counter it read, and the client row's `pulled` set
    to the cursor the page gives, written only when every check of the pull passes (the same checks
    `pull` makes in Python, which it makes again on what this returns: the rows of the page after
    HEAD's columns, and whether the client row was written)."""
    page, params = _log_query(who.user, cursor, limit, sqlite=False)
    page = re.sub(r":h\b", "(SELECT h_seq FROM h)", page)
    sql = (
        f"WITH h AS ({fastpath.HEAD}), p AS ({page}),"
        " k AS (SELECT CASE WHEN count(*) = :n THEN max(seq) ELSE (SELECT h_seq FROM h) END AS cur FROM p),"
        " w AS (INSERT INTO client(client_id, user_name, last_seq, last_results, pulled, updated_at, snapshot)"
        " SELECT CAST(:pc AS text), CAST(:pu AS text), 0, '{}', k.cur, CAST(:pt AS text), FALSE FROM h, k"
        " WHERE CAST(:pc AS text) IS NOT NULL AND h.u_name = CAST(:pu AS text)"
        " AND h.u_role = CAST(:pr AS text) AND h.u_team IS NOT DISTINCT FROM CAST(:pm AS text)"
        " AND (CAST(:pe AS text) IS NULL OR h.h_epoch = CAST(:pe AS text)) AND :c <= h.h_seq"
        " AND (h.c_user IS NULL OR h.c_user = CAST(:pu AS text)) AND (:c = 0 OR h.c_pulled >= :c)"
        " AND :c >= CAST(coalesce(h.h_floor, '0') AS bigint)"
        " AND (h.c_user IS NULL OR h.c_pulled <> k.cur OR h.c_snapshot)"
        " ON CONFLICT (client_id) DO UPDATE SET pulled = excluded.pulled, updated_at = excluded.updated_at,"
        " snapshot = excluded.snapshot WHERE client.user_name = excluded.user_name RETURNING 1)"
        " SELECT h.*, (SELECT count(*) FROM w), p.* FROM h LEFT JOIN p ON TRUE ORDER BY p.seq"
    )
    params.update(fastpath.head_params(client_id, who.token_hash))
    user = who.user
    params.update(pc=client_id, pu=user.name, pr=user.role, pm=user.team, pe=epoch or None, pt=utc_iso())
    rows = conn.execute(_sql(sql), params).all()
    width = fastpath.HEAD_COLUMNS
    found = fastpath.Head.of(rows[0][:width])
    return found, [row[width + 1 :] for row in rows if row[width + 1] is not None], bool(rows[0][width])


def _head_and_records(
    conn: Any, client_id: str, token_hash: str, ids: list[str], refs: list[str]
) -> tuple[fastpath.Head, tuple[list[Any], list[Any]]]:
    """PostgreSQL, in one statement: HEAD, the stored records with these ids (as `_RECORDS`) and
    the deleted ones among `refs` (entity, id, fields: _Batch._preload_merged)."""
    sql = (
        f"SELECT h.*, r.* FROM ({fastpath.HEAD}) AS h LEFT JOIN LATERAL ("
        "SELECT 'r' AS k, entity, id, fields, owner, team, deleted, flagged, seq FROM record"
        " WHERE id = ANY (CAST(:ids AS text[])) UNION ALL"
        " SELECT 'm', entity, id, fields, NULL, NULL, deleted, flagged, seq FROM record"
        " WHERE id = ANY (CAST(:refs AS text[])) AND deleted) AS r ON TRUE"
    )
    params = {
        **fastpath.head_params(client_id, token_hash),
        "ids": pushwrite.array_literal(list(ids)),
        "refs": pushwrite.array_literal(list(refs)),
    }
    rows = conn.execute(_sql(sql), params).all()
    width = fastpath.HEAD_COLUMNS
    records = [row[width + 1 :] for row in rows if row[width] == "r"]
    gone = [row[width + 1 : width + 4] for row in rows if row[width] == "m"]
    return fastpath.Head.of(rows[0][:width]), (records, gone)


def _merge_refs(mutations: list[Mutation]) -> set[str]:
    """The record ids these mutations refer to that a merge may have taken away (sfa/server/merged.py)."""
    wanted: set[str] = set()
    for m in mutations:
        for name, _ in merged.ref_fields(m.entity):
            value = m.fields.get(name, [None])[0]
            if isinstance(value, str) and is_uuid(value):
                wanted.add(value)
        if merged.names_its_record(m.entity):
            value = m.fields.get("record_id", [None])[0]
            if isinstance(value, str) and is_uuid(value):
                wanted.add(value)
        for name, _ in merged.list_ref_fields(m.entity):
            values = m.fields.get(name, [None])[0]
            if isinstance(values, list):
                wanted.update(v for v in values if isinstance(v, str) and is_uuid(v))
    return wanted


def _enters_scope(user: User, rows: list[Any]) -> bool:
    """Whether a log row brings a record into the user's scope (its page then reads the record's
    full fields, which must be read in the page's snapshot: the transaction path)."""
    return any(
        row[8]
        and rules.visible(user, row[4], row[5], row[1])
        and not rules.visible(user, row[6], row[7], row[1])
        for row in rows
    )


def _log_page(
    conn: Any,
    user: User,
    cursor: int,
    head: int,
    limit: int,
    client_id: str | None,
    own: int,
    rows: list[Any] | None = None,
) -> tuple[list[str], int]:
    """A page of the change log above `cursor` (at or above the floor) as the user may see it
    (`rows`: the page's rows, already read by _head_and_log)."""
    if rows is None:
        sql, params = _log_query(user, cursor, limit, conn.dialect.name == "sqlite")
        params["h"] = head
        rows = conn.execute(_sql(sql), params).all()
    changes: list[str] = []  # JSON text: the stored fields are passed through unparsed
    for row in rows:
        now_visible = rules.visible(user, row[4], row[5], row[1])
        before = bool(row[8]) and rules.visible(user, row[6], row[7], row[1])
        if client_id and row[9] == client_id and now_visible and not own:
            continue  # the client's own write, as it made it (a move out of scope still removes)
        if now_visible and (before or not row[8]):
            changes.append(_change_json(row[0], row[1], row[2], row[3]))
        elif now_visible:
            full = conn.execute(
                _sql("SELECT fields FROM record WHERE entity = :e AND id = :i"),
                {"e": row[1], "i": row[2]},
            ).scalar_one()
            changes.append(_change_json(row[0], row[1], row[2], full))
        elif before:
            changes.append(_dumps({"seq": row[0], "entity": row[1], "id": row[2], "remove": True}))
    return changes, int(rows[-1][0]) if len(rows) == limit else head


def _snapshot_page(conn: Any, user: User, cursor: int, floor: int, limit: int) -> tuple[list[str], int]:
    """Below the floor: the records the user sees with seq in (cursor, floor], by seq, each whole,
    tombstones included; the last seq's group whole (docs/sync-protocol.md, "Snapshot and compaction")."""
    sql = "SELECT seq, entity, id, fields, owner, team FROM record WHERE seq > :c AND seq <= :f"
    params: dict[str, Any] = {"c": cursor, "f": floor, "n": limit}
    where = ""
    if user.role != "admin":
        terms = _scope_terms(user, params, prev=False)
        where = " AND (" + " OR ".join(f"({term})" for term, _ in terms) + ")"
        sql = _scoped(sql, "record", terms, "seq > :c AND seq <= :f", conn.dialect.name == "sqlite")
    else:
        sql += " ORDER BY seq LIMIT :n"
    rows = conn.execute(_sql(sql), params).all()
    new_cursor = floor
    if len(rows) == limit:
        new_cursor = int(rows[-1][0])
        rows = [row for row in rows if int(row[0]) < new_cursor]
        group = "SELECT seq, entity, id, fields, owner, team FROM record WHERE seq = :s"
        rows += conn.execute(_sql(group + where + " ORDER BY entity, id"), {**params, "s": new_cursor}).all()
    changes = [
        _change_json(row[0], row[1], row[2], row[3])
        for row in rows
        if rules.visible(user, row[4], row[5], row[1])
    ]
    return changes, new_cursor


def _client_row(conn: Connection, client_id: str, lock: str) -> Any:
    return conn.execute(
        _sql(f"SELECT user_name, last_seq, last_results, pulled FROM client WHERE client_id = :c{lock}"),
        {"c": client_id},
    ).first()


def _row_key(row: Any) -> tuple[str, int] | None:
    """What a push's plan depends on in the client row (a pull moving `pulled` does not matter:
    the plan used the older cursor, which only sends more own changes back)."""
    return None if row is None else (str(row[0]), int(row[1]))


class _Plan:
    """One push decided: the results, and the merged batch whose rows phase 2 writes."""

    def __init__(self, results: list[PushResult], batch: _Batch | None, last_seq: int, payload: str) -> None:
        self.results, self.batch, self.last_seq, self.payload = results, batch, last_seq, payload

    def _write_pipelined(
        self, conn: Connection, base: int, top: int, exists: bool, values: dict[str, Any]
    ) -> None:
        """PostgreSQL: the same statements sent in one pipeline (psycopg), so the lock holder waits
        for the network, the server and the GIL once instead of once per table."""
        assert self.batch is not None
        rows = self.batch.record_rows()
        raw: Any = conn.connection.driver_connection
        with raw.pipeline(), raw.cursor() as cur:
            if rows:
                cur.executemany(
                    "INSERT INTO record(entity, id, fields, owner, team, deleted, flagged, seq, updated_at)"
                    " VALUES (%(e)s, %(i)s, %(f)s, %(o)s, %(t)s, %(d)s, %(g)s, %(s)s, %(u)s)"
                    " ON CONFLICT (entity, id) DO UPDATE SET fields = excluded.fields, owner = excluded.owner,"
                    " team = excluded.team, deleted = excluded.deleted, flagged = excluded.flagged,"
                    " seq = excluded.seq, updated_at = excluded.updated_at",
                    rows,
                )
            if self.batch.changes:
                cur.executemany(
                    "INSERT INTO change(seq, entity, id, fields, owner, team, prev_owner, prev_team, existed,"
                    " origin, user_name, at) VALUES (%(seq)s, %(entity)s, %(id)s, %(fields)s, %(owner)s,"
                    " %(team)s, %(prev_owner)s, %(prev_team)s, %(existed)s, %(origin)s, %(user_name)s, %(at)s)",
                    self.batch.changes,
                )
            if top != base:
                cur.execute("UPDATE counter SET value = %(v)s WHERE name = 'seq'", {"v": top})
            if exists:
                cur.execute(
                    "UPDATE client SET last_seq = %(s)s, last_results = %(r)s, updated_at = %(t)s"
                    " WHERE client_id = %(c)s",
                    values,
                )
            else:
                cur.execute(
                    "INSERT INTO client(client_id, user_name, last_seq, last_results, pulled, updated_at)"
                    " VALUES (%(c)s, %(u)s, %(s)s, %(r)s, 0, %(t)s)",
                    {**values, "u": self.batch.user.name},
                )

    @classmethod
    def make(
        cls,
        conn: Any,
        user: User,
        body: PushRequest,
        client: Any,
        arrived: int,
        floor: int | None = None,
        read: tuple[list[Any], list[Any]] | None = None,
    ) -> _Plan:
        if client is not None and client[0] != user.name:
            raise ApiError(403, "this client id belongs to another user; log in again on this laptop")
        last_seq = int(client[1]) if client else 0
        if body.acked > last_seq:
            raise ApiError(
                409, "the server lost changes it had acknowledged (restored from a backup?)", reset="behind"
            )
        stored: dict[str, Any] = json.loads(client[2]) if client else {}
        results: list[PushResult] = []
        fresh = [m for m in body.mutations if m.seq > last_seq]
        for m in body.mutations:
            if m.seq <= last_seq:
                old = stored.get(str(m.seq))
                results.append(PushResult.parse(old) if old else PushResult(m.seq, "applied", duplicate=True))
        if not fresh:
            return cls(results, None, last_seq, "")
        # Where the laptop's pull stands: what is logged after it, it has not seen yet.
        since = int(client[3]) if client else 0
        if body.cursor is not None:
            since = min(since, body.cursor)
        batch = _Batch(conn, user, body.client_id, 0, body.now, arrived, floor)
        batch.preload(fresh, since, read)
        for m in fresh:
            results.append(batch.apply(m))
        batch.prepare()
        payload = _dumps({str(r.seq): r.to_json() for r in results if r.seq > last_seq})
        return cls(results, batch, fresh[-1].seq, payload)

    def write(self, conn: Connection, base: int, exists: bool) -> None:
        """Under the counter lock: the batch's seqs become base+1 … base+n; one statement per table."""
        if self.batch is None:
            return
        self.batch.conn = conn
        top = self.batch.rebase(base)
        values = {"c": self.batch.client_id, "s": self.last_seq, "r": self.payload, "t": self.batch.at}
        if conn.dialect.name == "postgresql":
            self._write_pipelined(conn, base, top, exists, values)
            return
        self.batch.flush()
        if top != base:
            conn.execute(_sql("UPDATE counter SET value = :v WHERE name = 'seq'"), {"v": top})
        if exists:
            conn.execute(
                _sql(
                    "UPDATE client SET last_seq = :s, last_results = :r, updated_at = :t WHERE client_id = :c"
                ),
                values,
            )
        else:
            conn.execute(
                _sql(
                    "INSERT INTO client(client_id, user_name, last_seq, last_results, pulled, updated_at)"
                    " VALUES (:c, :u, :s, :r, 0, :t)"
                ),
                {**values, "u": self.batch.user.name},
            )


# Records whose scope is their parent's (merge.parent_of names the parent) and follows it when the
# parent moves. (A conflict record keeps the scope it was made in: laptops do not take `remove` of
# a conflict.)
_RECORDS = "SELECT entity, id, fields, owner, team, deleted, flagged, seq FROM record"

_CHILDREN = ("timeline", "quote_line", "order_line", "contract_line", "stage_change", "document")


class _Batch:
    """The records one push touches, merged in memory and written at the end of the transaction."""

    def __init__(
        self,
        conn: Any,
        user: User,
        client_id: str,
        seq: int,
        client_now: int | None,
        arrived: int | None = None,
        floor: int | None = None,
    ) -> None:
        # A SQLAlchemy Connection, or on PostgreSQL's hot path a fastpath.RawPg (the same calls).
        self.conn: Any = conn
        self.user = user
        self.client_id = client_id
        self.seq = seq
        self.now = rules.now_ms()
        # The laptop's skew is measured against the server's clock when the request arrived (before
        # its token check and body): the laptop took `now` just before sending, so the time the
        # server spends on the request does not count as skew.
        self.skew = rules.skew_of(client_now, arrived if arrived is not None else self.now)
        self.at = utc_iso()
        # (entity, id) -> [fields, owner, team, deleted, flagged, existed_in_db, dirty]
        self.records: dict[tuple[str, str], list[Any]] = {}
        self.changes: list[dict[str, Any]] = []
        self.loaded: set[tuple[str, str]] = set()  # keys already looked up (found or not)
        # Records with a logged change the pushing laptop has not pulled yet: its own changes to
        # them are sent back (see "Own changes" in docs/sync-protocol.md).
        self.unseen: set[tuple[str, str]] = set()
        self.survivors: dict[str, str] = {}  # merged-away id -> survivor id (sfa/server/merged.py)
        self.teams: dict[str, str | None] = {}  # user name -> team ("" none), None: no such user
        self.moved: dict[str, Scope] = {}  # parent id -> its new scope (children follow in flush)
        self.children_moved = False
        self.rows: list[dict[str, Any]] | None = None  # prepared record rows (see prepare)
        self.looked: set[str] = set()  # every record id read: phase 2 checks none was written since
        # The compaction point, and the seq each stored record was last written at: a record last
        # written at or below the floor has its next change logged whole (docs/sync-protocol.md,
        # "Snapshot and compaction").
        self.floor = compact.floor(conn) if floor is None else floor
        self.row_seq: dict[tuple[str, str], int] = {}

    def stale(self, conn: Connection, head: int) -> bool:
        """Whether a push committed after `head` wrote a record this batch read (or created one it
        looked for and did not find), so that its plan must be made again under the lock. A batch
        that moved a parent scanned for its children by content: always planned again."""
        if self.moved:
            return True
        wanted = sorted(self.looked)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            params: dict[str, Any] = {f"i{n}": v for n, v in enumerate(chunk)}
            params["h"] = head
            marks = ", ".join(f":i{n}" for n in range(len(chunk)))
            found = conn.execute(
                _sql(f"SELECT 1 FROM record WHERE id IN ({marks}) AND seq > :h LIMIT 1"), params
            ).first()
            if found is not None:
                return True
        return False

    def rebase(self, base: int) -> int:
        """Changes logged with seqs counted from 0 (planned before the lock) move to base+1 …"""
        for change in self.changes:
            change["seq"] += base
        self.seq += base
        return self.seq

    def preload(
        self, mutations: list[Mutation], since: int, read: tuple[list[Any], list[Any]] | None = None
    ) -> None:
        """Read every record the batch touches in a few queries instead of one each, and which of
        them changed after `since` (the pushing laptop's pull cursor). A record's `seq` is at least
        that of every change logged for it: each logging path marks the record dirty. `read`: the
        rows of `_RECORDS` for at least these ids, and the deleted records among at least the ids
        they refer to, read already (with HEAD, in one statement: _head_and_records)."""
        wanted = sorted({m.id for m in mutations if is_uuid(m.id)})
        self.looked.update(wanted)
        chunks: list[Any] = []
        if read is not None:
            keep = set(wanted)
            chunks.append([row for row in read[0] if row[1] in keep])
        else:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                params: dict[str, Any] = {f"i{n}": v for n, v in enumerate(chunk)}
                marks = ", ".join(f":i{n}" for n in range(len(chunk)))
                chunks.append(self.conn.execute(_sql(f"{_RECORDS} WHERE id IN ({marks})"), params))
        for rows in chunks:
            for row in rows:
                if int(row[7]) > since:  # changed after the laptop's cursor (by anyone: conservative)
                    self.unseen.add((row[0], row[1]))
                self.row_seq[(row[0], row[1])] = int(row[7])
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
        self._preload_merged(mutations, read[1] if read is not None else None)

    def _preload_merged(self, mutations: list[Mutation], read: list[Any] | None = None) -> None:
        """Which records the batch refers to were merged away, and into what (one query per 500;
        `read`: the deleted records among at least these refs, read already with HEAD)."""
        wanted = _merge_refs(mutations)
        for (entity, record_id), entry in self.records.items():
            survivor = merged.survivor_of(entry[0], entry[3]) if entity in merged.MERGEABLE else None
            if survivor:
                self.survivors[record_id] = survivor
        ordered = sorted(wanted - set(self.survivors))
        self.looked.update(ordered)
        chunks: list[Any] = []
        if read is not None:
            keep = set(ordered)
            chunks.append([row for row in read if row[1] in keep])
        else:
            for start in range(0, len(ordered), 500):
                chunk = ordered[start : start + 500]
                params: dict[str, Any] = {f"i{n}": v for n, v in enumerate(chunk)}
                params["t"] = True
                marks = ", ".join(f":i{n}" for n in range(len(chunk)))
                chunks.append(
                    self.conn.execute(
                        _sql(f"SELECT entity, id, fields FROM record WHERE id IN ({marks}) AND deleted = :t"),
                        params,
                    )
                )
        for rows in chunks:
            for row in rows:
                survivor = (
                    merged.survivor_of(json.loads(row[2]), True) if row[0] in merged.MERGEABLE else None
                )
                if survivor:
                    self.survivors[row[1]] = survivor

    def _survivor(self, entity: str, record_id: str) -> str | None:
        """The live record a merged-away one ended in (following merges of survivors), else None."""
        found = None
        for _ in range(merged.MAX_CHAIN):
            nxt = self.survivors.get(record_id)
            if nxt is None:
                entry = self.load(entity, record_id) if found else None
                nxt = merged.survivor_of(entry[0], entry[3]) if entry else None
            if nxt is None or nxt == found:
                break
            found = record_id = nxt
        return found

    def _follow_merges(self, m: Mutation) -> tuple[Mutation, dict[str, Any] | None]:
        """Refs to merged-away records point at the survivor; an edit of a merged-away record goes to
        its survivor; a merge opposite to one already made is refused with a conflict."""
        if m.problem is not None:
            return m, None
        for name, points_at in merged.ref_fields(m.entity):
            pair = m.fields.get(name)
            if pair and isinstance(pair[0], str):
                survivor = self._survivor(points_at, pair[0])
                if survivor:
                    m.fields[name] = [survivor, pair[1]]
                    self.unseen.add((m.entity, m.id))  # the writer gets the survivor back
        for name, points_at in merged.list_ref_fields(m.entity):
            pair = m.fields.get(name)
            if pair and isinstance(pair[0], list):
                ids = merged.repointed(pair[0], functools.partial(self._survivor, points_at))
                if ids is not None:
                    m.fields[name] = [ids, pair[1]]
                    self.unseen.add((m.entity, m.id))
        if merged.names_its_record(m.entity):
            self._follow_owner(m)
        if m.entity not in merged.MERGEABLE:
            return m, None
        current = self.load(m.entity, m.id)
        if "merged_into" in m.fields:
            into = m.fields["merged_into"][0]
            into_entry = self.load(m.entity, into) if isinstance(into, str) and is_uuid(into) else None
            if into_entry is None or not merged.opposite(m, into_entry[0], into_entry[3]):
                return m, None
            kept = (current[0] if current else {}).get("merged_into", [None, ""])
            data = merged.conflict_data(m, list(kept))
            clocks = [c for _, c in m.fields.values()] + [
                c for _, c in (current[0] if current else {}).values()
            ]
            tick = rules.server_tick(self.now, *clocks)
            m.fields["merged_into"], m.fields["deleted"] = [None, tick], [False, tick]
            self.unseen.add((m.entity, m.id))  # the merging laptop gets the record back alive
            return m, data
        if current is None or merged.BOOKKEEPING & set(m.fields):
            return m, None
        survivor = self._survivor(m.entity, m.id) if merged.survivor_of(current[0], current[3]) else None
        if survivor is None:
            return m, None
        target_entry = self.load(m.entity, survivor)
        moved = merged.redirected(m, survivor, current[0], target_entry[0] if target_entry else None)
        self.unseen.add((m.entity, survivor))
        return moved, None

    def _follow_owner(self, m: Mutation) -> None:
        """A document written for a merged-away record belongs to the survivor."""
        pair = m.fields.get("record_id")
        if not pair or not isinstance(pair[0], str):
            return
        owner = m.fields.get("record_entity", [None])[0]
        if owner is None:
            current = self.load(m.entity, m.id)
            owner = (current[0] if current else {}).get("record_entity", [None])[0]
        if owner not in merged.MERGEABLE:
            return
        survivor = self._survivor(str(owner), pair[0])
        if survivor:
            m.fields["record_id"] = [survivor, pair[1]]
            self.unseen.add((m.entity, m.id))

    def load(self, entity: str, record_id: str) -> list[Any] | None:
        key = (entity, record_id)
        if key in self.loaded and key not in self.records:
            return None
        if key not in self.records:
            self.looked.add(record_id)
            row = self.conn.execute(
                _sql(
                    "SELECT fields, owner, team, deleted, flagged, seq FROM record"
                    " WHERE entity = :e AND id = :i"
                ),
                {"e": entity, "i": record_id},
            ).first()
            if row is None:
                return None
            self.row_seq[key] = int(row[5])
            self.records[key] = [json.loads(row[0]), row[1], row[2], bool(row[3]), bool(row[4]), True, False]
        return self.records[key]

    def scope_of_id(self, record_id: str) -> Scope | None:
        for (_, rid), entry in self.records.items():
            if rid == record_id:
                return entry[1], entry[2]
        self.looked.add(record_id)
        row = self.conn.execute(
            _sql("SELECT owner, team FROM record WHERE id = :i"), {"i": record_id}
        ).first()
        return None if row is None else (row[0], row[1])

    def scope(self, entity: str, state: Fields) -> Scope:
        """A record's (owner, team): its own, or, for a child (a timeline entry, a quote line), its
        parent's whatever the child says, or the writer's while the parent is unknown."""
        own = rules.own_scope(entity, state)
        if own is not None:
            return own
        parent = rules.parent_of(entity, state)
        inherited = self.scope_of_id(parent) if parent else None
        return inherited if inherited is not None else (self.user.name, self.user.team)

    def team_of(self, name: str) -> str | None:
        """The team of server user `name` ("" for a user without a team, None if there is none)."""
        if name not in self.teams:
            row = self.conn.execute(
                _sql("SELECT team FROM app_user WHERE name = :n AND revoked = :f"), {"n": name, "f": False}
            ).first()
            self.teams[name] = None if row is None else (row[0] or "")
        return self.teams[name]

    def move_children(self) -> None:
        """Parents moved in this batch (`self.moved`): their children (`_CHILDREN`) move with
        them, each logged with its full fields so that who gains it gets it and who loses it gets
        `remove`. One query per 100 moved parents, at the end of the batch."""
        if not self.moved or self.children_moved:
            return
        self.children_moved = True
        kinds = ", ".join(f"'{e}'" for e in _CHILDREN)
        parents = sorted(self.moved)
        keys: list[tuple[str, str]] = []
        for start in range(0, len(parents), 100):
            chunk = parents[start : start + 100]
            where = " OR ".join(f"fields LIKE :p{n}" for n in range(len(chunk)))
            params = {f"p{n}": f'%"{parent}"%' for n, parent in enumerate(chunk)}
            rows = self.conn.execute(
                _sql(f"SELECT entity, id FROM record WHERE entity IN ({kinds}) AND ({where})"), params
            )
            keys.extend((row[0], row[1]) for row in rows)
        keys.extend(key for key in self.records if key[0] in _CHILDREN)
        for entity, child_id in dict.fromkeys(keys):
            entry = self.load(entity, child_id)
            parent = rules.parent_of(entity, entry[0]) if entry is not None else None
            if entry is None or parent not in self.moved or (entry[1], entry[2]) == self.moved[parent]:
                continue
            before, after = (entry[1], entry[2]), self.moved[parent]
            entry[1], entry[2], entry[6] = after[0], after[1], True
            self.log(entity, child_id, entry[0], before, after, None)

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
        key = (entity, record_id)
        if self.floor and self.row_seq.get(key, self.floor + 1) <= self.floor and key in self.records:
            # The record's first change above the floor: logged whole (the snapshot relies on it).
            fields = {name: list(pair) for name, pair in self.records[key][0].items()}
            self.row_seq[key] = self.floor + 1
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
        m, merge_conflict = self._follow_merges(m)
        current = self.load(m.entity, m.id) if m.entity and m.id else None
        before: Scope | None = (current[1], current[2]) if current else None
        try:
            rules.validate(m, current is not None, current[0] if current else None)
            if m.entity == CONFLICT and current is None:
                self._lost_conflict_target(m)
        except Invalid as exc:
            self._revert(m, current, before)
            return PushResult(m.seq, "rejected", reason=wire.safe_text(str(exc)))
        outcome = rules.merge(
            m.entity, m.id, current[0] if current else None, m.fields, m.base, m.known, self.now, self.skew
        )
        if merge_conflict is not None:
            outcome.conflicts.append(merge_conflict)
            outcome.flagged = True
        after = before if m.entity == CONFLICT and before else self.scope(m.entity, outcome.state)
        spec = ENTITIES.get(m.entity)
        movable = spec is not None and "team" in spec.by_name
        reason = rules.may_write(
            self.user, before, after, self.team_of if movable else None, change=self.change_of(m, current)
        ) or roles.problem(
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
            self.user.teams,
        )
        if reason is not None:
            self._revert(m, current, before)
            return PushResult(m.seq, "rejected", reason=wire.safe_text(reason))
        entry = current or [{}, None, None, False, False, False, False]
        entry[0], entry[1], entry[2] = outcome.state, after[0], after[1]
        entry[3] = outcome.state.get("deleted", [False])[0] is True
        entry[4] = entry[4] or outcome.flagged
        entry[6] = True
        self.records[(m.entity, m.id)] = entry
        if before is not None and after != before and m.entity not in (*_CHILDREN, CONFLICT):
            self.moved[m.id] = after
        if m.entity == CONFLICT and outcome.state.get("status", [None])[0] == "resolved":
            target = self.load(str(outcome.state["entity"][0]), str(outcome.state["record_id"][0]))
            if target is not None:
                target[4], target[6] = False, True
        elif m.entity == CONFLICT and current is None and outcome.state["kind"][0] == "flag":
            target = self.load(str(outcome.state["entity"][0]), str(outcome.state["record_id"][0]))
            if target is not None:  # a re-created open flagged conflict flags its record again
                target[4], target[6] = True, True
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

    def _lost_conflict_target(self, m: Mutation) -> None:
        """A conflict re-sent after a restore lost it is about a record the server holds (it takes
        that record's scope, and who may write the record may re-create it)."""
        entity, record_id = m.fields["entity"][0], m.fields["record_id"][0]
        if self.load(str(entity), str(record_id)) is None:
            raise Invalid("record_id: the conflict's record is not on the server")

    def change_of(self, m: Mutation, current: list[Any] | None) -> rules.RecordChange:
        """The mutation as the document rules see it (a line with its parent's stored fields)."""
        ref = rules.parent_ref(m.entity, m.fields, current[0] if current else None)
        entry = self.load(*ref) if ref is not None else None
        parent = entry[0] if entry else None
        return rules.RecordChange(m.entity, current[0] if current else None, m.fields, parent)

    def _revert(self, m: Mutation, current: list[Any] | None, before: Scope | None) -> None:
        """A rejected edit of a record the user sees: send the server's values back. A rejected write
        to a record the user does not see (a copy it kept after the record left its scope, re-sent
        after a reset, docs/sync-protocol.md "Snapshot and compaction"): log the record as leaving
        the writer's scope, so its next pull removes the copy."""
        if current is None or before is None:
            return
        if not rules.visible(self.user, *before, m.entity):
            if m.entity != CONFLICT:
                fields = {name: list(pair) for name, pair in current[0].items()}
                self.log(m.entity, m.id, fields, (self.user.name, self.user.team), before, None)
                current[6] = True
            return
        fields = {k: v for k, v in current[0].items() if k in m.fields}
        unset = [k for k in m.fields if k not in current[0]]
        if unset and m.entity != CONFLICT:
            # A field the server never had: "no value" returns, with a clock after the rejected one.
            clock = rules.server_tick(self.now, *(pair[1] for pair in m.fields.values()))
            for name in unset:
                current[0][name] = fields[name] = [None, clock]
        if fields:
            self.log(m.entity, m.id, fields, before, before, None)
            current[6] = True  # rewritten with the batch's seq: the revert counts as a change

    def prepare(self) -> None:
        """The record rows to write, serialised (before the lock, for a push); `flush` sets their seq."""
        self.move_children()
        self.rows = [
            {
                "e": entity,
                "i": record_id,
                "f": _dumps(entry[0]),
                "o": entry[1],
                "t": entry[2],
                "d": entry[3],
                "g": entry[4],
                "u": self.at,
            }
            for (entity, record_id), entry in self.records.items()
            if entry[6]
        ]

    def record_rows(self) -> list[dict[str, Any]]:
        """The prepared record rows, with the batch's (last) seq."""
        if self.rows is None:
            self.prepare()
        rows = self.rows or []
        for row in rows:
            row["s"] = self.seq
        return rows

    def flush(self) -> int:
        rows = self.record_rows()
        if rows:
            # One statement for new and existing records alike (one round trip per table).
            self.conn.execute(
                _sql(
                    "INSERT INTO record(entity, id, fields, owner, team, deleted, flagged, seq, updated_at)"
                    " VALUES (:e, :i, :f, :o, :t, :d, :g, :s, :u) ON CONFLICT (entity, id) DO UPDATE SET"
                    " fields = excluded.fields, owner = excluded.owner, team = excluded.team,"
                    " deleted = excluded.deleted, flagged = excluded.flagged, seq = excluded.seq,"
                    " updated_at = excluded.updated_at"
                ),
                rows,
            )
        if self.changes:
            self.conn.execute(
                _sql(
                    "INSERT INTO change(seq, entity, id, fields, owner, team, prev_owner, prev_team,"
                    " existed, origin, user_name, at) VALUES (:seq, :entity, :id, :fields, :owner, :team,"
                    " :prev_owner,"
                    " :prev_team, :existed, :origin, :user_name, :at)"
                ),
                self.changes,
            )
        return self.seq
