"""`sfa today`: the day on one screen."""

from __future__ import annotations

import typer

from sfa.cli.common import JsonOpt, is_terminal, print_json, record_json, workspace
from sfa.cli.task import task_rows, tasks_json
from sfa.cli.visit import agenda_json, agenda_rows
from sfa.domain.entities import QUOTE
from sfa.services import reports

app = typer.Typer(help="Today: visits, tasks due or overdue, quotes expiring this week.")


@app.command()
def today(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Today's visits, open tasks due today or overdue, and quotes expiring within 7 days."""
    ws = workspace(ctx)
    day = reports.today(ws)
    quote_refs = ws.store.short_refs(QUOTE, [q["quote"]["id"] for q in day["quotes"]])
    from sfa.services import stalled as stalled_deals

    stuck = [s for s in stalled_deals.stalled(ws) if s.opp["owner"] in (None, ws.owner)]
    if as_json:
        print_json(
            {
                "stalled": [
                    {"id": s.opp["id"], "name": s.opp["name"], "stage": s.opp["stage"], "why": s.reasons}
                    for s in stuck
                ],
                "date": day["date"].isoformat(),
                "visits": agenda_json(ws, day["visits"]),
                "tasks": tasks_json(ws, day["tasks"]),
                "tasks_total": day["tasks_total"],
                "quotes_total": day["quotes_total"],
                "quotes_expiring": [
                    {**record_json(QUOTE, q["quote"], quote_refs[q["quote"]["id"]]), "account": q["account"]}
                    for q in day["quotes"]
                ],
            }
        )
        return
    bold = is_terminal()

    def heading(text: str) -> None:
        print(f"\033[1m{text}\033[0m" if bold else text)

    heading(f"Today {day['date']:%A %Y-%m-%d}")
    print()
    heading(f"Visits ({len(day['visits'])})")
    for row in agenda_rows(ws, day["visits"]):
        km = f"  +{row['km']} km" if row["km"] else ""
        purpose = f" — {row['purpose']}" if row["purpose"] else ""
        print(f"  {row['time']:>8}  {row['ref']:<6} {row['account']}{purpose} [{row['status']}]{km}")
    if not day["visits"]:
        print("  none")
    print()
    heading(f"Tasks due or overdue ({day['tasks_total']})")
    for row in task_rows(ws, day["tasks"]):
        account = f" ({row['account']})" if row["account"] else ""
        print(f"  {row['ref']:<6} {row['due']:<26} {row['priority']:<6} {row['title']}{account}")
    if day["tasks_total"] > len(day["tasks"]):
        print(f"  … and {day['tasks_total'] - len(day['tasks'])} more: sfa task list --due today / --overdue")
    if not day["tasks"]:
        print("  none")
    print()
    heading(f"Quotes expiring by {day['quotes_until']} ({day['quotes_total']})")
    for item in day["quotes"]:
        quote = item["quote"]
        print(
            f"  {quote_refs[quote['id']]:<6} {quote['number']}  {item['account']}  valid until "
            f"{quote['valid_until']} [{quote['status']}]"
        )
    if day["quotes_total"] > len(day["quotes"]):
        print(f"  … and {day['quotes_total'] - len(day['quotes'])} more")
    if not day["quotes"]:
        print("  none")
    print()
    heading(f"Stalled deals ({len(stuck)})")
    for item in stuck[:10]:
        print(f"  {item.opp['name']} [{item.opp['stage']}]: {'; '.join(item.reasons)}")
    if len(stuck) > 10:
        print(f"  … and {len(stuck) - 10} more: sfa opp list --stalled")
    if not stuck:
        print("  none")
