"""`sfa config get|set|list`"""

from __future__ import annotations

import typer

from sfa.cli.common import JsonOpt, emit_table, print_json, workspace
from sfa.domain import settings
from sfa.services import config as config_service

app = typer.Typer(help="Read and change settings (config.toml beside the data).", no_args_is_help=True)


@app.command("get")
def get(ctx: typer.Context, key: str, as_json: JsonOpt = False) -> None:
    """Print a setting's value."""
    value = config_service.get(workspace(ctx), key)
    if as_json:
        print_json({"key": key, "value": value})
    else:
        print(value)


@app.command("set")
def set_(ctx: typer.Context, key: str, value: str, as_json: JsonOpt = False) -> None:
    """Change a setting; the value is checked first."""
    stored = config_service.set_value(workspace(ctx), key, value)
    if as_json:
        print_json({"key": key, "value": stored})
    else:
        print(f"{key} = {stored}")


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every setting with its value."""
    values = config_service.all_values(workspace(ctx))
    if as_json:
        print_json(values)
        return
    rows = [{"key": k, "value": v, "doc": settings.SETTINGS[k].doc} for k, v in values.items()]
    emit_table(rows, [("key", "Key"), ("value", "Value"), ("doc", "Meaning")])
