"""`sfa today`: the day on one screen."""

from __future__ import annotations

from collections.abc import Callable

import typer

from sfa.cli.common import JsonOpt, is_terminal, print_json, record_json, when, workspace
from sfa.cli.task import task_rows, tasks_json
from sfa.cli.visit import agenda_json, agenda_rows
from sfa.domain.entities import CAMPAIGN, CONTRACT, ORDER, QUOTE
from sfa.services import contracts, orders, records, reports
from sfa.store.db import Record

app = typer.Typer(help="Today: visits, tasks due or overdue, quotes expiring this week.")


@app.command()
def today(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Today's visits, open tasks due today or overdue, and quotes expiring within 7 days."""
    ws = workspace(ctx)
    day = reports.today(ws)
    quote_refs = records.short_refs(ws, QUOTE, [q["quote"]["id"] for q in day["quotes"]])
    waiting = orders.attention(ws)
    renewals = [c for c, _ in contracts.renewals_due(ws)]
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
                "events": [record_json(CAMPAIGN, e) for e in day["events"]],
                "orders_rejected": [record_json(ORDER, o) for o in waiting["rejected"]],
                "orders_unacknowledged": [record_json(ORDER, o) for o in waiting["unacknowledged"]],
                "contracts_renewal_due": [record_json(CONTRACT, c) for c in renewals],
            }
        )
        return
    bold = is_terminal()

    def heading(text: str) -> None:
        print(f"\033[1m{text}\033[0m" if bold else text)

    heading(f"Today {day['date']:%A %Y-%m-%d}")
    print()
    if day["events"]:  # shown only on a day with an event
        heading(f"Events ({len(day['events'])})")
        for event in day["events"]:
            place = f" — {event['venue']}" if event["venue"] else ""
            booth = f", booth {event['booth']}" if event["booth"] else ""
            print(f"  {event['name']} [{event['kind']}]{place}{booth}")
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
    _orders(waiting, heading)
    if renewals:
        print()
        heading(f"Contracts due for renewal ({len(renewals)})")
        for contract in renewals:
            print(
                f"  {contract['number']}  {contract['title']}  ends {contract['end_date']}  (sfa contract renew)"
            )

    print()
    heading(f"Stalled deals ({len(stuck)})")
    for item in stuck[:10]:
        print(f"  {item.opp['name']} [{item.opp['stage']}]: {'; '.join(item.reasons)}")
    if len(stuck) > 10:
        print(f"  … and {len(stuck) - 10} more: sfa opp list --stalled")
    if not stuck:
        print("  none")


def _orders(waiting: dict[str, list[Record]], heading: Callable[[str], None]) -> None:
    """ERP rejections and orders waiting for the ERP (shown only when there are some)."""
    if waiting["rejected"]:
        print()
        heading(f"Orders rejected by the ERP ({len(waiting['rejected'])})")
        for order in waiting["rejected"]:
            print(f"  {order['number']}  {order['erp_message'] or ''}".rstrip())
    if waiting["unacknowledged"]:
        print()
        heading(f"Orders unacknowledged for more than 2 days ({len(waiting['unacknowledged'])})")
        for order in waiting["unacknowledged"]:
            print(f"  {order['number']}  submitted {when(order['submitted_at'])}")
