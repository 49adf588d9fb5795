"""`sfa server init|run|user ...`: the central sync server (needs the `server` extra)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer

from sfa.cli.common import JsonOpt, emit_table, message, print_json
from sfa.domain.errors import ConfigError, NotFoundError, StateError
from sfa.store.config import data_home

app = typer.Typer(help="The central sync server.", no_args_is_help=True)
user_app = typer.Typer(help="Server users and their tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db", metavar="URL", help="sqlite:///PATH or postgresql://... (default: the one init used)."
    ),
]


def _home(ctx: typer.Context) -> Path:
    root = ctx.find_root()
    return data_home((root.obj or {}).get("home"))


def _admin() -> ModuleType:
    try:
        from sfa.server import admin
    except ImportError as exc:
        raise ConfigError(f"the server needs the server extra (pip install 'sfa[server]'): {exc}") from None
    return admin


def _existing_db(ctx: typer.Context, db: str | None) -> str | None:
    """The user commands work on a database `sfa server init` made: a SQLite file that is not there
    is an error (exit 1), not a new empty file beside it."""
    from sfa.server import storage

    url = storage.resolve_db_url(_home(ctx), db)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        if not path.is_file():
            raise NotFoundError(f"no server database at {path}: run 'sfa server init' first")
    return db


@contextmanager
def _database_errors() -> Iterator[None]:
    """A database the server cannot open or use is one line (exit 1), not the driver's traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise ConfigError(f"server database: {reason}") from None


@app.command("init")
def init(
    ctx: typer.Context,
    db: DbOpt = None,
    new_epoch: Annotated[
        bool, typer.Option("--new-epoch", help="After restoring a backup: make every laptop resync.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create or upgrade the server database."""
    admin = _admin()
    with _database_errors():
        result = admin.init(_home(ctx), db, new_epoch=new_epoch)
    if as_json:
        print_json(result)
        return
    print(f"server database {result['db']} at schema {result['schema']} (epoch {result['epoch']})")


@app.command("run")
def run(
    ctx: typer.Context,
    db: DbOpt = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8765,
    workers: Annotated[
        int, typer.Option("--workers", help="Processes sharing the port (PostgreSQL only).")
    ] = 1,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", metavar="FILE", help="Serve HTTPS with this certificate.")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", metavar="FILE", help="The certificate's key.")
    ] = None,
    log_format: Annotated[
        str, typer.Option("--log-format", metavar="off|json", help="json: one line per request on stderr.")
    ] = "off",
    metrics: Annotated[
        bool, typer.Option("--metrics", help="Serve /metrics (Prometheus text format).")
    ] = False,
) -> None:
    """Serve /v1/push, /v1/pull, /v1/health and /v1/ready until interrupted (SIGTERM finishes the
    requests in flight)."""
    admin = _admin()
    admin.parse_port(port)
    with _database_errors():
        admin.check_run_options(
            admin.storage.resolve_db_url(_home(ctx), db), workers, tls_cert, tls_key, log_format
        )
        scheme = "https" if tls_cert else "http"
        message(
            f"sfa server listening on {scheme}://{host}:{port}"
            + (f" ({workers} workers)" if workers > 1 else "")
        )
        admin.run(
            _home(ctx),
            db,
            host,
            port,
            workers=workers,
            tls_cert=tls_cert,
            tls_key=tls_key,
            log_format=log_format,
            metrics=metrics,
        )


@app.command("backup")
def backup(
    ctx: typer.Context,
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="FILE", help="Where to write the backup.")
    ],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Copy the server database while it runs (SQLite backup API, or pg_dump for PostgreSQL)."""
    with _database_errors():
        result = _admin().backup(_home(ctx), _existing_db(ctx, db), output)
    if as_json:
        print_json(result)
    else:
        message(
            f"backed up the {result['kind']} server database to {result['output']} ({result['bytes']} bytes)"
        )


@app.command("restore")
def restore(
    ctx: typer.Context,
    backup_file: Annotated[Path, typer.Argument(metavar="FILE", help="A file `sfa server backup` wrote.")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace the server database with a backup and start a new epoch (laptops reset and re-send)."""
    with _database_errors():
        result = _admin().restore(_home(ctx), db, backup_file)
    if as_json:
        print_json(result)
    else:
        message(
            f"restored {result['restored']}; new epoch {result['epoch']}: every laptop resets on its next sync"
        )


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    name: str,
    db: DbOpt = None,
    role: Annotated[str, typer.Option("--role", help="rep, manager or admin.")] = "rep",
    team: Annotated[str | None, typer.Option("--team", help="Team or territory.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a user and print their token (shown only this once)."""
    admin = _admin()
    with _database_errors():
        result = admin.add_user(_home(ctx), _existing_db(ctx, db), name, role, team)
    if as_json:
        print_json(result)
        return
    message(f"user {result['name']} added ({result['role']}); the token is shown only once:")
    print(result["token"])


@user_app.command("list")
def user_list(ctx: typer.Context, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List users (never their tokens)."""
    admin = _admin()
    with _database_errors():
        users = admin.list_users(_home(ctx), _existing_db(ctx, db))
    if as_json:
        print_json(users)
        return
    emit_table(
        users,
        [
            ("name", "Name"),
            ("role", "Role"),
            ("team", "Team"),
            ("revoked", "Revoked"),
            ("created_at", "Created"),
        ],
        empty="no users",
    )


@user_app.command("revoke")
def user_revoke(ctx: typer.Context, name: str, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Revoke a user's token: their next request gets 401."""
    admin = _admin()
    with _database_errors():
        result = admin.revoke_user(_home(ctx), _existing_db(ctx, db), name)
    if as_json:
        print_json(result)
        return
    message(f"user {name} revoked")


@user_app.command("rotate")
def user_rotate(ctx: typer.Context, name: str, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Issue a new token for a user (shown only this once); the old token stops working.

    A revoked user gets a token again: rotating is also how a revoked user is let back in.
    """
    admin = _admin()
    with _database_errors():
        result = admin.rotate_user(_home(ctx), _existing_db(ctx, db), name)
    if as_json:
        print_json(result)
        return
    message(f"user {name} has a new token; it is shown only once:")
    print(result["token"])


@app.command("repair")
def repair(
    ctx: typer.Context,
    entity: Annotated[str, typer.Option("--entity", help="Record type, e.g. quote.")],
    record_id: Annotated[str, typer.Option("--id", help="The record's full id.")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace a record's values that no laptop can store with valid ones (one corrective change)."""
    admin = _admin()
    with _database_errors():
        result = admin.repair(_home(ctx), _existing_db(ctx, db), entity, record_id)
    if as_json:
        print_json(result)
        return
    if not result["fixed"]:
        message(f"{entity} {record_id} holds nothing to repair")
        return
    for reason in result["fixed"].values():
        message(f"repaired: {reason}")
    message(
        f"{entity} {record_id}: corrective change {result['seq']} written; laptops get it on their next sync"
    )


@app.command("compact")
def compact(
    ctx: typer.Context,
    keep_days: Annotated[
        float,
        typer.Option(
            "--keep-days", metavar="DAYS", help="Keep the changes of the last DAYS days (default 30)."
        ),
    ] = 30,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fold old changes into the records so the log stops growing; new laptops start from a snapshot."""
    admin = _admin()
    with _database_errors():
        result = admin.compact(_home(ctx), _existing_db(ctx, db), keep_days)
    if as_json:
        print_json(result)
    elif result["floor"] == result["previous"]:
        message(f"nothing to compact: the log starts after change {result['floor']}")
    else:
        message(
            f"compacted the log up to change {result['floor']}: {result['deleted']} change(s) folded into"
            f" the records, {result['rewritten']} record(s) logged whole after it"
        )


erp_app = typer.Typer(help="The ERP hand-off without code: export submitted orders, import answers.")
app.add_typer(erp_app, name="erp")


@erp_app.command("export")
def erp_export(
    ctx: typer.Context,
    output: Annotated[str, typer.Option("--output", metavar="DIR", help="Folder for the file.")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    since_cursor: Annotated[
        int | None, typer.Option("--since-cursor", help="Default: where the last export stopped.", min=0)
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the submitted orders since the last export, one order a line."""
    admin = _admin()
    from sfa.server import erp

    with _database_errors():
        engine = admin.open_engine(_home(ctx), _existing_db(ctx, db))
        try:
            result = erp.export_files(engine, fmt.strip().lower(), Path(output).expanduser(), since_cursor)
        finally:
            engine.dispose()
    if as_json:
        print_json(result)
        return
    if result["file"]:
        print(result["file"])
    message(f"{result['orders']} submitted orders (cursor {result['since']} -> {result['cursor']})")


@erp_app.command("ack")
def erp_ack(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="JSON lines or CSV (.csv).")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record the ERP's answers (status, ERP reference, message, delivered/invoiced per line)."""
    admin = _admin()
    from sfa.server import erp

    with _database_errors():
        engine = admin.open_engine(_home(ctx), _existing_db(ctx, db))
        try:
            results = erp.ack_file(engine, Path(file).expanduser())
        finally:
            engine.dispose()
    rows = [{"id": r.id, "result": r.result, "reason": r.reason} for r in results]
    if as_json:
        print_json(rows)
    else:
        emit_table(rows, [("id", "Order"), ("result", "Result"), ("reason", "Reason")])
    refused = sum(1 for r in results if r.result == "rejected")
    if refused:
        raise StateError(
            f"{refused} of {len(results)} answers were rejected (see the table); the rest are recorded"
        )
