"""`sfa contract ...`"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from sfa.cli.common import (
    JsonOpt,
    LimitOpt,
    QuietOpt,
    emit_export,
    emit_table,
    print_json,
    record_json,
    timeline_json,
    timeline_rows,
    when,
    workspace,
)
from sfa.domain import contracts as rules
from sfa.domain import quotes as quote_rules
from sfa.domain.entities import ACCOUNT, APPROVAL, CONTRACT, CONTRACT_LINE, OPPORTUNITY, TASK
from sfa.domain.money import format_money
from sfa.services import contracts, records
from sfa.store.db import Record
from sfa.store.workspace import Workspace

app = typer.Typer(help="Contracts: approval, release, renewal, termination.", no_args_is_help=True)

Opt = typer.Option
CRef = Annotated[str, typer.Argument(metavar="CREF", help="Contract number (latest revision) or short ref.")]
Comment = Annotated[str | None, Opt("--comment", help="A note kept with the approval record.")]

LIST_COLUMNS = [
    ("ref", "Ref"),
    ("number", "Number"),
    ("revision", "Rev"),
    ("account", "Account"),
    ("title", "Title"),
    ("state", "State"),
    ("start_date", "Start"),
    ("end_date", "End"),
    ("value", "Value"),
]


def _json(ws: Workspace, contract: Record) -> dict[str, Any]:
    data = record_json(CONTRACT, contract, records.short_ref(ws, CONTRACT, contract["id"]))
    data["state"] = contracts.state_of(ws, contract)
    return data


def _written(ws: Workspace, contract: Record, verb: str, *, as_json: bool, quiet: bool) -> None:
    if quiet:
        print(contract["id"])
        return
    if as_json:
        print_json(_json(ws, contract))
        return
    ref = records.short_ref(ws, CONTRACT, contract["id"])
    print(f"contract {ref} {verb}: {contracts.label(contract)} ({contracts.state_of(ws, contract)})")


@app.command("new")
def new(
    ctx: typer.Context,
    from_quote: Annotated[
        str | None, Opt("--from-quote", metavar="QREF", help="A sent or accepted quote.")
    ] = None,
    account: Annotated[str | None, Opt("--account", help="Account ref (no quote).")] = None,
    start: Annotated[str | None, Opt("--start", help="Start date (default today with --from-quote).")] = None,
    term: Annotated[str | None, Opt("--term", help="Term: 24m, 2y (default 12m).")] = None,
    auto_renew: Annotated[bool, Opt("--auto-renew", help="Renews itself unless terminated.")] = False,
    notice: Annotated[str | None, Opt("--notice", help="Notice period: 90d (default 90d).")] = None,
    title: Annotated[str | None, Opt("--title")] = None,
    value: Annotated[
        str | None, Opt("--value", help="Contract value (default: the lines' net total).")
    ] = None,
    billing: Annotated[str | None, Opt("--billing", help="once, monthly, quarterly or yearly.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Draft a contract from a quote (its lines and terms) or for an account."""
    ws = workspace(ctx)
    contract = contracts.new_contract(
        ws,
        quote_ref=from_quote,
        account_ref=account,
        start=start,
        term=term,
        auto_renew=auto_renew,
        notice=notice,
        title=title,
        value=value,
        billing=billing,
    )
    _written(ws, contract, "drafted", as_json=as_json, quiet=quiet)


@app.command("edit")
def edit(
    ctx: typer.Context,
    cref: CRef,
    title: Annotated[str | None, Opt("--title")] = None,
    start: Annotated[str | None, Opt("--start")] = None,
    term: Annotated[str | None, Opt("--term", help="24m, 2y.")] = None,
    end: Annotated[str | None, Opt("--end", help='End date ("" derives it from start and term).')] = None,
    notice: Annotated[str | None, Opt("--notice", help="90d.")] = None,
    renewal_lead: Annotated[
        str | None, Opt("--renewal-lead", help="Renewal due this long before the end: 90d.")
    ] = None,
    auto_renew: Annotated[bool | None, Opt("--auto-renew/--no-auto-renew")] = None,
    value: Annotated[str | None, Opt("--value")] = None,
    billing: Annotated[str | None, Opt("--billing")] = None,
    terms: Annotated[str | None, Opt("--terms")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Change a draft contract."""
    ws = workspace(ctx)
    contract = contracts.edit_contract(
        ws,
        cref,
        title=title,
        start=start,
        term=term,
        end=end,
        notice=notice,
        renewal_lead=renewal_lead,
        auto_renew=auto_renew,
        value=value,
        billing=billing,
        terms=terms,
    )
    _written(ws, contract, "updated", as_json=as_json, quiet=quiet)


@app.command("add-line")
def add_line(
    ctx: typer.Context,
    cref: CRef,
    product: Annotated[str | None, Opt("--product", help="SKU or ref: its name, price, tax.")] = None,
    description: Annotated[str | None, Opt("--description")] = None,
    price: Annotated[str | None, Opt("--price")] = None,
    qty: Annotated[str | None, Opt("--qty")] = None,
    discount: Annotated[str | None, Opt("--discount", help="10% or an amount off.")] = None,
    tax: Annotated[str | None, Opt("--tax")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Append a line to a draft contract (its value follows the lines)."""
    ws = workspace(ctx)
    line = contracts.add_line(
        ws,
        cref,
        product_ref=product,
        description=description,
        price=price,
        qty=qty,
        discount=discount,
        tax=tax,
    )
    if quiet:
        print(line["id"])
    elif as_json:
        print_json(record_json(CONTRACT_LINE, line))
    else:
        print(f"line {line['position']} added: {line['description']}")


@app.command("remove-line")
def remove_line(
    ctx: typer.Context,
    cref: CRef,
    position: Annotated[int, typer.Argument(metavar="N", help="Line number.")],
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Remove line N of a draft contract."""
    ws = workspace(ctx)
    line = contracts.remove_line(ws, cref, position)
    if quiet:
        print(line["id"])
    elif as_json:
        print_json(record_json(CONTRACT_LINE, {**line, "deleted": True}))
    else:
        print(f"line {position} removed: {line['description']}")


@app.command("revise")
def revise(ctx: typer.Context, cref: CRef, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """The next revision as a draft (lines copied); the old one is kept as history."""
    ws = workspace(ctx)
    _written(ws, contracts.revise(ws, cref), "revised", as_json=as_json, quiet=quiet)


@app.command("submit")
def submit(
    ctx: typer.Context, cref: CRef, comment: Comment = None, as_json: JsonOpt = False, quiet: QuietOpt = False
) -> None:
    """Send a draft for approval."""
    ws = workspace(ctx)
    _written(ws, contracts.submit(ws, cref, comment), "submitted", as_json=as_json, quiet=quiet)


@app.command("release")
def release(
    ctx: typer.Context, cref: CRef, comment: Comment = None, as_json: JsonOpt = False, quiet: QuietOpt = False
) -> None:
    """Release a contract in approval: it is activated (a manager of the team or an admin)."""
    ws = workspace(ctx)
    _written(ws, contracts.release(ws, cref, comment), "released", as_json=as_json, quiet=quiet)


@app.command("reject")
def reject(
    ctx: typer.Context,
    cref: CRef,
    reason: Annotated[str, Opt("--reason", help="Why; the rep sees it.")],
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Send a contract in approval back to draft (a manager of the team or an admin)."""
    ws = workspace(ctx)
    _written(ws, contracts.reject(ws, cref, reason), "rejected", as_json=as_json, quiet=quiet)


@app.command("sign")
def sign(
    ctx: typer.Context,
    cref: CRef,
    customer: Annotated[str, Opt("--customer", help="Who signed for the customer.")],
    on: Annotated[str, Opt("--on", help="Date signed.")],
    company: Annotated[str | None, Opt("--company", help="Who signed for us.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Record the customer's signature."""
    ws = workspace(ctx)
    _written(ws, contracts.sign(ws, cref, customer, on, company), "signed", as_json=as_json, quiet=quiet)


@app.command("terminate")
def terminate(
    ctx: typer.Context,
    cref: CRef,
    on: Annotated[str, Opt("--on", help="Termination date.")],
    reason: Annotated[str, Opt("--reason")],
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Terminate an activated contract."""
    ws = workspace(ctx)
    _written(ws, contracts.terminate(ws, cref, on, reason), "terminated", as_json=as_json, quiet=quiet)


@app.command("renew")
def renew(ctx: typer.Context, cref: CRef, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Draft the renewal, with a renewal opportunity and a call task (one each, on any laptop)."""
    ws = workspace(ctx)
    result = contracts.renew(ws, cref)
    if quiet:
        print(result.contract["id"])
        return
    if as_json:
        print_json(
            {
                "contract": _json(ws, result.contract),
                "opportunity": record_json(OPPORTUNITY, result.opportunity),
                "task": record_json(TASK, result.task),
            }
        )
        return
    _written(ws, result.contract, "drafted", as_json=False, quiet=False)
    print(f"opportunity: {result.opportunity['name']} (closes {result.opportunity['close_date']})")
    print(f"task: {result.task['title']} (due {result.task['due_date']})")


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        Opt(
            "--status",
            help="draft, in-approval, pending, active, renewal-due, expired, renewed, terminated, cancelled.",
        ),
    ] = None,
    renewal_due: Annotated[
        str | None, Opt("--renewal-due", metavar="DAYS", help="Renewals due within DAYS (90d), or now.")
    ] = None,
    account: Annotated[str | None, Opt("--account", help="Account ref.")] = None,
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List contracts (latest revisions), with the state computed for today."""
    ws = workspace(ctx)
    days = rules.parse_days(renewal_due, "renewal-due") if renewal_due is not None else None
    shown = ("number", "revision", "account_id", "title", "value", "currency")
    rows = contracts.list_contracts(
        ws,
        status=status,
        renewal_due_days=days,
        account_ref=account,
        limit=limit,
        fields=None if as_json else shown,
    )
    refs = records.short_refs(ws, CONTRACT, [r["id"] for r, _ in rows])
    if as_json:
        print_json([{**record_json(CONTRACT, r, refs[r["id"]]), "state": state} for r, state in rows])
        return
    names = records.titles_of(ws, ACCOUNT, {str(r["account_id"]) for r, _ in rows})
    table = [
        {
            "ref": refs[r["id"]],
            "number": r["number"],
            "revision": r["revision"],
            "account": names.get(r["account_id"], ""),
            "title": r["title"],
            "state": state,
            "start_date": r["start_date"],
            "end_date": r["end_date"],
            "value": format_money(r["value"], r["currency"] or "") if r["value"] is not None else "",
        }
        for r, state in rows
    ]
    emit_table(table, LIST_COLUMNS, empty="no contracts")


@app.command("show")
def show(ctx: typer.Context, cref: CRef, as_json: JsonOpt = False) -> None:
    """Show a contract: dates, state, signatures, approvals, lines."""
    ws = workspace(ctx)
    view = contracts.view(ws, cref)
    contract = view.contract
    timeline = records.timeline_of(ws, contract["id"])
    if as_json:
        data = _json(ws, contract)
        data["lines"] = [record_json(CONTRACT_LINE, line) for line in view.lines]
        data["totals"] = quote_rules.totals_json(view.totals)
        data["approvals"] = [record_json(APPROVAL, a) for a in view.approvals]
        data["timeline"] = timeline_json(timeline)
        print_json(data)
        return
    ref = records.short_ref(ws, CONTRACT, contract["id"])
    print(f"contract {ref}  {contracts.label(contract)}  ({view.state})")
    currency = contract["currency"] or ""
    fields = [
        ("title", contract["title"]),
        ("account", view.account["name"]),
        ("contact", view.contact["name"] if view.contact else None),
        ("start", contract["start_date"]),
        ("term", f"{contract['term_months']} months" if contract["term_months"] else None),
        ("end", contract["end_date"]),
        ("auto-renew", "yes" if contract["auto_renew"] else None),
        ("notice", f"{contract['notice_days']} days" if contract["notice_days"] is not None else None),
        ("renewal due from", _due_from(ws, contract)),
        ("value", format_money(contract["value"], currency) if contract["value"] is not None else None),
        ("billing", contract["billing"]),
        ("customer signed", _signed(contract)),
        ("company signed by", contract["company_signed_by"]),
        (
            "activated",
            f"{when(contract['activated_at'])} by {contract['activated_by']}"
            if contract["activated_at"]
            else None,
        ),
        ("reject reason", contract["reject_reason"] if contract["status"] == rules.DRAFT else None),
        (
            "terminated",
            f"{contract['terminated_on']} ({contract['termination_reason']})"
            if contract["terminated_on"]
            else None,
        ),
        ("terms", contract["terms"]),
    ]
    for label, value in fields:
        if value not in (None, ""):
            print(f"  {label}: {value}")
    print(f"  id: {contract['id']}")
    if view.lines:
        print()
        print(f"lines ({len(view.lines)})")
        rows = [
            {
                "position": line["position"],
                "description": line["description"],
                "qty": quote_rules.plain_number(line["quantity"]),
                "unit_price": format_money(line["unit_price"], currency),
                "net": format_money(net, currency),
            }
            for line, net in zip(view.lines, view.totals.line_nets, strict=True)
        ]
        emit_table(
            rows,
            [
                ("position", "#"),
                ("description", "Description"),
                ("qty", "Qty"),
                ("unit_price", "Unit price"),
                ("net", "Net"),
            ],
        )
    if view.approvals:
        print()
        print(f"approvals ({len(view.approvals)})")
        emit_table(
            [
                {"at": when(a["at"]), "action": a["action"], "by": a["by"], "comment": a["comment"] or ""}
                for a in view.approvals
            ],
            [("at", "When"), ("action", "Action"), ("by", "By"), ("comment", "Comment")],
        )
    if timeline:
        print()
        print(f"timeline ({len(timeline)})")
        emit_table(timeline_rows(timeline), [("at", "When"), ("text", "What")])


def _due_from(ws: Workspace, contract: Record) -> str | None:
    if contract["end_date"] is None:
        return None
    from datetime import timedelta

    due: date = contract["end_date"] - timedelta(days=contracts.lead_days(ws, contract))
    return due.isoformat()


def _signed(contract: Record) -> str | None:
    if not contract["customer_signed_by"]:
        return None
    on = f" on {contract['customer_signed_on']}" if contract["customer_signed_on"] else ""
    return f"{contract['customer_signed_by']}{on}"


@app.command("export")
def export(
    ctx: typer.Context,
    cref: CRef,
    output: Annotated[str, Opt("--output", "-o", metavar="FILE", help="FILE.pdf, FILE.md or FILE.html.")],
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write the contract as a document (PDF, Markdown or HTML)."""
    from sfa.services import contract_export

    ws = workspace(ctx)
    result = contract_export.export(ws, cref, output)
    emit_export(result, as_json=as_json, quiet=quiet)
