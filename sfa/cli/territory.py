"""`sfa territory ...`: territories, their rules, and moving accounts by them (docs/policy.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from sfa.cli.common import JsonOpt, emit_table, print_json, record_json, workspace
from sfa.domain.entities import ACCOUNT, TERRITORY
from sfa.domain.money import format_money
from sfa.services import records, territories

app = typer.Typer(
    help="Territories: rules that place accounts, a tree, preview and activate.", no_args_is_help=True
)

Opt = typer.Option
Name = Annotated[str, typer.Argument(help="Territory name.")]
Parent = Annotated[str | None, Opt("--parent", help="Parent territory ('' for none).")]
Manager = Annotated[str | None, Opt("--manager", help="User name of its manager.")]
Rules = Annotated[
    list[str] | None,
    Opt("--rule", help="postcode 80000-87999, country DE, industry Construction, city Rosenheim (repeat)."),
]
Priority = Annotated[int | None, Opt("--priority", help="The higher wins when several territories match.")]
Members = Annotated[list[str] | None, Opt("--member", help="USER owner or USER overlay (repeat).")]


def _joined(items: list[str] | None) -> str | None:
    return None if items is None else "\n".join(items)


@app.command("add")
def add(
    ctx: typer.Context,
    name: Name,
    parent: Parent = None,
    manager: Manager = None,
    rule: Rules = None,
    priority: Priority = None,
    member: Members = None,
) -> None:
    """Add a territory (admins)."""
    ws = workspace(ctx)
    record = territories.add(
        ws,
        name,
        parent=parent,
        manager=manager,
        rules_text=_joined(rule),
        priority=priority,
        members=_joined(member),
    )
    print(f"territory {records.short_ref(ws, TERRITORY, record['id'])} added: {record['name']}")


@app.command("edit")
def edit(
    ctx: typer.Context,
    name: Name,
    parent: Parent = None,
    manager: Manager = None,
    rule: Rules = None,
    priority: Priority = None,
    member: Members = None,
) -> None:
    """Change a territory; --rule and --member replace all its rules / members (admins)."""
    ws = workspace(ctx)
    record = territories.edit(
        ws,
        name,
        parent=parent,
        manager=manager,
        rules_text=_joined(rule),
        priority=priority,
        members=_joined(member),
    )
    print(f"territory {record['name']} updated")


@app.command("list")
def list_(
    ctx: typer.Context,
    tree: Annotated[bool, Opt("--tree", help="As a tree under their parents.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List territories."""
    ws = workspace(ctx)
    rows = territories.all_territories(ws)
    if as_json:
        refs = records.short_refs(ws, TERRITORY, [r["id"] for r in rows])
        print_json([record_json(TERRITORY, r, refs[r["id"]]) for r in rows])
        return
    if tree:
        lines = territories.tree_lines(ws)
        print("\n".join(lines) if lines else "no territories")
        return
    shown = [
        {
            "name": r["name"],
            "parent": r["parent"] or "",
            "manager": r["manager"] or "",
            "priority": str(r["priority"] or 0),
            "rules": "; ".join((r["rules"] or "").splitlines()),
            "members": "; ".join((r["members"] or "").splitlines()),
        }
        for r in rows
    ]
    columns = [
        ("name", "Name"),
        ("parent", "Parent"),
        ("manager", "Manager"),
        ("priority", "Prio"),
        ("rules", "Rules"),
        ("members", "Members"),
    ]
    emit_table(shown, columns, empty="no territories")


@app.command("assign")
def assign(
    ctx: typer.Context,
    account: Annotated[str, Opt("--account", help="Account ref.")],
    territory: Annotated[str, Opt("--territory", help="Territory name.")],
) -> None:
    """Put an account (its contacts and open deals) in a territory by hand; rules never move it."""
    ws = workspace(ctx)
    moved = territories.assign(ws, account, territory)
    print(f"account {records.short_ref(ws, ACCOUNT, moved['id'])} now in {moved['team']}: {moved['name']}")


def _moves_json(moves: list[territories.Move]) -> list[dict[str, object]]:
    return [
        {
            "account_id": m.account["id"],
            "account": m.account["name"],
            "territory": m.territory,
            "rule": m.rule,
            "from_team": m.from_team,
            "from_owner": m.from_owner,
            "to_owner": m.to_owner,
            "open_pipeline": {c: str(v) for c, v in m.pipeline.items()},
        }
        for m in moves
    ]


def _emit_moves(moves: list[territories.Move], as_json: bool, empty: str) -> None:
    if as_json:
        print_json(_moves_json(moves))
        return
    rows = [
        {
            "account": m.account["name"],
            "from": f"{m.from_team or '-'} / {m.from_owner or '-'}",
            "to": f"{m.territory} / {m.to_owner or '-'}",
            "rule": m.rule,
            "pipeline": ", ".join(format_money(v, c) for c, v in sorted(m.pipeline.items())),
        }
        for m in moves
    ]
    columns = [
        ("account", "Account"),
        ("from", "From"),
        ("to", "To"),
        ("rule", "Rule"),
        ("pipeline", "Open pipeline"),
    ]
    emit_table(rows, columns, empty=empty)


@app.command("preview")
def preview(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Which accounts (and open pipeline) the rules would move, to whom; nothing is written."""
    _emit_moves(territories.preview(workspace(ctx)), as_json, "no account would move")


@app.command("activate")
def activate(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Apply the rules: move the accounts the preview shows (admins)."""
    moves = territories.activate(workspace(ctx))
    _emit_moves(moves, as_json, "no account moved")
