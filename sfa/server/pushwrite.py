"""A push's locked section on PostgreSQL as one statement (docs/sync-protocol.md, "A push in two
phases"; docs/deploy.md, "Limits").

The counter row's lock is the serialisation point of the whole deployment. Written as Python
statements (lock, check, write, commit), the lock holder waits for the network and for Python —
its thread's turn at the GIL, the CPU the machine gives it — between them. Here the whole locked
section is the PL/pgSQL function `sfa_push_write`, called in one autocommit statement: it locks the
counter row, checks that nothing the push's plan read has changed, writes the records, the log, the
counter and the client row from arrays (`unnest`, one statement per table), and returns. The commit
follows at the statement's end inside PostgreSQL, so no Python runs while the row is locked.

Why a function and not one data-modifying CTE: every part of one statement reads the snapshot taken
when the statement started, i.e. before it waited for the lock, so a CTE could not see what the
previous lock holder wrote (the record rows its staleness check must see). In a PL/pgSQL function
each statement takes a new snapshot (READ COMMITTED), so the checks after the lock see every push
that committed before it, exactly as the separate statements of the Python path do.

The function returns the counter's value before the batch (NULL when the check failed: the caller
plans the batch again under the lock, sfa/server/app.py) and how long it held the lock, measured in
PostgreSQL (`clock_timestamp()` right after the lock and at the end of the writes). Not included:
the commit, which follows the function inside the same statement: writing the commit record and,
with `synchronous_commit` on (the default), waiting for the WAL flush to disk; the row lock is
released at the end of the commit.
"""

from __future__ import annotations

from typing import Any

# Written once by migration 3 (sfa/server/storage.py); a change means a new migration that replaces it.
# (No percent sign in the body: it is sent through the driver's parameter syntax.)
FUNCTION = """
CREATE OR REPLACE FUNCTION sfa_push_write(
    p_client text, p_user text, p_owner text, p_last bigint, p_head bigint, p_floor bigint,
    p_looked text[], p_top bigint,
    c_rel bigint[], c_entity text[], c_id text[], c_fields text[], c_owner text[], c_team text[],
    c_prev_owner text[], c_prev_team text[], c_existed boolean[], c_origin text[], c_user text[],
    c_at text[],
    r_entity text[], r_id text[], r_fields text[], r_owner text[], r_team text[], r_deleted boolean[],
    r_flagged boolean[], r_at text[],
    p_last_seq bigint, p_results text, p_at text
) RETURNS TABLE (base bigint, held double precision)
LANGUAGE plpgsql AS $body$
DECLARE
    v_seq bigint;
    v_owner text;
    v_last bigint;
    v_floor text;
    t0 timestamptz;
BEGIN
    SELECT value INTO v_seq FROM counter WHERE name = 'seq' FOR UPDATE;
    t0 := clock_timestamp();
    -- Each statement from here on reads a snapshot taken after the lock.
    SELECT c.user_name, c.last_seq INTO v_owner, v_last FROM client c WHERE c.client_id = p_client;
    SELECT m.value INTO v_floor FROM server_meta m WHERE m.key = 'floor';
    IF v_owner IS DISTINCT FROM p_owner OR v_last IS DISTINCT FROM p_last
        OR coalesce(v_floor, '0')::bigint <> p_floor
        OR (v_seq <> p_head AND EXISTS (
            SELECT 1 FROM record r WHERE r.id = ANY (p_looked) AND r.seq > p_head)) THEN
        RETURN QUERY SELECT NULL::bigint, extract(epoch FROM clock_timestamp() - t0)::double precision;
        RETURN;
    END IF;
    INSERT INTO record(entity, id, fields, owner, team, deleted, flagged, seq, updated_at)
        SELECT u.e, u.i, u.f, u.o, u.t, u.d, u.g, v_seq + p_top, u.a
        FROM unnest(r_entity, r_id, r_fields, r_owner, r_team, r_deleted, r_flagged, r_at)
            AS u(e, i, f, o, t, d, g, a)
        ON CONFLICT (entity, id) DO UPDATE SET fields = excluded.fields, owner = excluded.owner,
            team = excluded.team, deleted = excluded.deleted, flagged = excluded.flagged,
            seq = excluded.seq, updated_at = excluded.updated_at;
    INSERT INTO change(seq, entity, id, fields, owner, team, prev_owner, prev_team, existed, origin,
            user_name, at)
        SELECT v_seq + u.s, u.e, u.i, u.f, u.o, u.t, u.po, u.pt, u.x, u.og, u.un, u.a
        FROM unnest(c_rel, c_entity, c_id, c_fields, c_owner, c_team, c_prev_owner, c_prev_team,
            c_existed, c_origin, c_user, c_at) AS u(s, e, i, f, o, t, po, pt, x, og, un, a);
    IF p_top <> 0 THEN
        UPDATE counter SET value = v_seq + p_top WHERE name = 'seq';
    END IF;
    -- A pull may have made the client row since the check (it does not take the counter lock).
    INSERT INTO client(client_id, user_name, last_seq, last_results, pulled, updated_at)
        VALUES (p_client, p_user, p_last_seq, p_results, 0, p_at)
        ON CONFLICT (client_id) DO UPDATE SET last_seq = excluded.last_seq,
            last_results = excluded.last_results, updated_at = excluded.updated_at;
    RETURN QUERY SELECT v_seq, extract(epoch FROM clock_timestamp() - t0)::double precision;
END
$body$
"""

CALL = (
    "SELECT base, held FROM sfa_push_write(%(client)s, %(user)s, %(owner)s, %(last)s, %(head)s,"
    " %(floor)s, %(looked)s::text[], %(top)s,"
    " %(c_rel)s::bigint[], %(c_entity)s::text[], %(c_id)s::text[], %(c_fields)s::text[],"
    " %(c_owner)s::text[], %(c_team)s::text[], %(c_prev_owner)s::text[], %(c_prev_team)s::text[],"
    " %(c_existed)s::boolean[], %(c_origin)s::text[], %(c_user)s::text[], %(c_at)s::text[],"
    " %(r_entity)s::text[], %(r_id)s::text[], %(r_fields)s::text[], %(r_owner)s::text[],"
    " %(r_team)s::text[], %(r_deleted)s::boolean[], %(r_flagged)s::boolean[], %(r_at)s::text[],"
    " %(last_seq)s, %(results)s, %(at)s)"
)

_CHANGE = {
    "c_rel": "seq",
    "c_entity": "entity",
    "c_id": "id",
    "c_fields": "fields",
    "c_owner": "owner",
    "c_team": "team",
    "c_prev_owner": "prev_owner",
    "c_prev_team": "prev_team",
    "c_existed": "existed",
    "c_origin": "origin",
    "c_user": "user_name",
    "c_at": "at",
}
_RECORD = {
    "r_entity": "e",
    "r_id": "i",
    "r_fields": "f",
    "r_owner": "o",
    "r_team": "t",
    "r_deleted": "d",
    "r_flagged": "g",
    "r_at": "u",
}


def params(
    *,
    client_id: str,
    user: str,
    read: tuple[str, int] | None,
    head: int,
    floor: int,
    looked: set[str],
    top: int,
    changes: list[dict[str, Any]],
    records: list[dict[str, Any]],
    last_seq: int,
    results: str,
    at: str,
) -> dict[str, Any]:
    """The call's parameters: the client row as the plan read it (`read`: user and last seq, None
    when there was none), the counter `head` and compaction `floor` it read, every record id it
    read, the batch's last seq and its changes' seqs counted from 0, and the rows to write."""
    out: dict[str, Any] = {
        "client": client_id,
        "user": user,
        "owner": read[0] if read else None,
        "last": read[1] if read else None,
        "head": head,
        "floor": floor,
        "looked": sorted(looked),
        "top": top,
        "last_seq": last_seq,
        "results": results,
        "at": at,
    }
    for name, key in _CHANGE.items():
        out[name] = [change[key] for change in changes]
    for name, key in _RECORD.items():
        out[name] = [row[key] for row in records]
    for name in ("looked", *_CHANGE, *_RECORD):
        values = out[name]
        if name in ("c_existed", "r_deleted", "r_flagged"):  # one array type, whatever the rows held
            out[name] = "{" + ",".join("t" if value else "f" for value in values) + "}"
        elif name == "c_rel":
            out[name] = "{" + ",".join(str(int(value)) for value in values) + "}"
        else:
            out[name] = _texts(values)
    return out


def _texts(values: list[str | None]) -> str:
    """array_literal for strings and None (the text arrays), without a type test per element."""
    return (
        "{"
        + ",".join(
            "NULL" if value is None else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            for value in values
        )
        + "}"
    )


def array_literal(values: list[Any]) -> str:
    """`values` (str, int, bool or None) as one PostgreSQL array literal, sent as a single text
    parameter that CALL casts (`::text[]`, `::bigint[]`, `::boolean[]`). psycopg escapes a list
    parameter element by element with a regular expression in Python, which cost more CPU than
    the rest of a push's planning (docs/performance.md, "Server CPU per request"); `str.replace`
    does the same escaping in C. In a quoted element only `"` and `\\` are special."""
    parts: list[str] = []
    for value in values:
        if value is None:
            parts.append("NULL")
        elif value is True or value is False:
            parts.append("t" if value else "f")
        elif isinstance(value, int):
            parts.append(str(value))
        else:
            parts.append('"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(parts) + "}"


def call(conn: Any, values: dict[str, Any]) -> tuple[int | None, float]:
    """Run the locked section as one autocommit statement; `conn` is a SQLAlchemy Connection of
    the writers' pool, or the writers' psycopg connection in autocommit (sfa/server/fastpath.py:
    no SQLAlchemy execution on the hot path). Returns the counter before the batch (None: the
    plan is stale, nothing was written) and the seconds the lock was held inside PostgreSQL."""
    driver = getattr(conn, "driver", None)
    if driver is not None:
        with driver.cursor() as cur:
            cur.execute(CALL, values)
            row = cur.fetchone()
        base, held = row
    else:
        autocommit = conn.execution_options(isolation_level="AUTOCOMMIT")
        base, held = autocommit.exec_driver_sql(CALL, values).one()
    return (None if base is None else int(base)), float(held)
