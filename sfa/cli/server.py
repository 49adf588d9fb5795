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
) -> None:
    """Serve /v1/push, /v1/pull and /v1/health until interrupted."""
    admin = _admin()
    admin.parse_port(port)
    message(f"sfa server listening on http://{host}:{port}")
    admin.run(_home(ctx), db, host, port)


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
