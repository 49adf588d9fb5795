"""Reports: pipeline, forecast, activity, win-loss; `sfa today`. Arithmetic lives in domain.reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sfa.domain import reports
from sfa.domain.dates import iso_utc, local_today, utc_now
from sfa.domain.entities import ACCOUNT, OPPORTUNITY, QUOTE, TASK, VISIT
from sfa.domain.money import money_context
from sfa.domain.schedule import day_range, week_of
from sfa.domain.stages import LOST, WON
from sfa.services import tasks, visits
from sfa.store.workspace import Workspace

# -- opportunity figures ------------------------------------------------------------------------


def _figures(ws: Workspace, where: str = "", params: tuple[Any, ...] = ()) -> list[reports.OppFigures]:
    """Opportunities grouped by stage, currency, probability, close month and lost reason.

    One figure per group (count, exact Decimal sum of amounts) keeps the reports fast on big stores;
    the close date of a group is the first of its month, which is all that month and quarter need.
    """
    default = ws.setting("currency")
    keys = ("stage", "currency", "coalesce(probability, 0)", "substr(close_date, 1, 7)", "lost_reason")
    figures = []
    with money_context():  # the sums are exact even for amounts an older sfa stored past the bounds
        groups = ws.store.grouped_sums(OPPORTUNITY, keys, "amount", where, params)
    for (stage, currency, probability, month, reason), count, total in groups:
        close = date(int(month[:4]), int(month[5:7]), 1) if month else None
        figures.append(
            reports.OppFigures(stage, total, currency or default, int(probability), close, reason, count)
        )
    return figures


Teams = str | frozenset[str] | None  # one team, or the teams of a territory's subtree


def scoped(
    where: str, params: tuple[Any, ...], owner: str | None = None, team: Teams = None
) -> tuple[str, tuple[Any, ...]]:
    """`where` narrowed to one owner and/or one team or set of teams (docs/policy.md: roll-ups)."""
    clauses = [where] if where else []
    if owner is not None:
        clauses.append("owner = ?")
        params += (owner,)
    if isinstance(team, frozenset):
        names = sorted(team)
        clauses.append(f"team IN ({', '.join('?' * len(names))})" if names else "0")
        params += tuple(names)
    elif team is not None:
        clauses.append("team = ?")
        params += (team,)
    return " AND ".join(f"({c})" for c in clauses), params


def teams_of(ws: Workspace, team: str | None, territory: str | None) -> Teams:
    """What `--team` and `--territory` narrow a report to: the territory's subtree (within the
    team, when both are given), else the team."""
    if territory is None:
        return team
    from sfa.services import territories

    found = frozenset(territories.subtree_of(ws, territory))
    return found & {team} if team is not None else found


def pipeline(ws: Workspace, *, owner: str | None = None, team: Teams = None) -> list[reports.StageRow]:
    where, params = scoped("stage NOT IN (?, ?)", (WON, LOST), owner, team)
    return reports.pipeline(_figures(ws, where, params), ws.stages)


def forecast(
    ws: Workspace, by: str = "month", *, owner: str | None = None, team: Teams = None
) -> list[reports.PeriodRow]:
    """From the current period on; open deals past their close date are shown as overdue."""
    reports.period_of(None, by)  # checks `by` before reading anything
    start = reports.period_start(local_today(), by)
    where, params = scoped("stage != ?", (LOST,), owner, team)
    return reports.forecast(_figures(ws, where, params), by, start)


def current_period(by: str) -> str:
    """The name of today's month or quarter, as the forecast rows name it."""
    return reports.period_of(local_today(), by)


def decided_since_clause(since: date | None) -> tuple[str, tuple[Any, ...]]:
    """Won and lost deals, decided on or after `since` (close date, else the last change's date)."""
    where = "stage IN (?, ?)"
    params: tuple[Any, ...] = (WON, LOST)
    if since is not None:
        where += " AND coalesce(close_date, substr(updated_at, 1, 10)) >= ?"
        params += (since.isoformat(),)
    return where, params


def win_loss(
    ws: Workspace, since: date | None = None, *, owner: str | None = None, team: Teams = None
) -> reports.WinLoss:
    where, params = scoped(*decided_since_clause(since), owner, team)
    return reports.win_loss(_figures(ws, where, params))


# -- activity -----------------------------------------------------------------------------------


@dataclass
class Activity:
    since: date
    visits_done: int
    visits_no_show: int
    visits_cancelled: int
    tasks_completed: int
    tasks_created: int
    tasks_overdue: int  # now, whatever their due date
    quotes_sent: int
    quotes_accepted: int
    quotes_rejected: int

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items()}


def default_since(now: datetime | None = None) -> date:
    """Monday of the current week."""
    return week_of(local_today(now))[0]


def activity(
    ws: Workspace,
    since: date | None = None,
    now: datetime | None = None,
    *,
    owner: str | None = None,
    team: Teams = None,
) -> Activity:
    current = now or utc_now()
    start_day = since or default_since(current)
    start = iso_utc(day_range(start_day)[0])
    store = ws.store

    def count(entity: Any, where: str, params: tuple[Any, ...]) -> int:
        return store.count(entity, *scoped(where, params, owner, team))

    def visits_with(status: str) -> int:
        return count(VISIT, "starts_at >= ? AND status = ?", (start, status))

    if owner is None and team is None:
        overdue = tasks.count_tasks(ws, "overdue", current)
    else:
        where, params, _order = tasks.task_filter("overdue", current)
        overdue = count(TASK, where, tuple(params))
    return Activity(
        since=start_day,
        visits_done=visits_with("done"),
        visits_no_show=visits_with("no-show"),
        visits_cancelled=visits_with("cancelled"),
        tasks_completed=count(TASK, "status = 'done' AND done_at >= ?", (start,)),
        tasks_created=count(TASK, "created_at >= ?", (start,)),
        tasks_overdue=overdue,
        quotes_sent=count(QUOTE, "sent_at >= ?", (start,)),
        quotes_accepted=count(QUOTE, "status = 'accepted' AND decided_at >= ?", (start,)),
        quotes_rejected=count(QUOTE, "status = 'rejected' AND decided_at >= ?", (start,)),
    )


# -- today --------------------------------------------------------------------------------------

TODAY_TASK_LIMIT = 10
TODAY_QUOTE_LIMIT = 10
QUOTE_HORIZON_DAYS = 7


def today(ws: Workspace, now: datetime | None = None, *, with_tasks: bool = True) -> dict[str, Any]:
    """One screenful: today's visits, open tasks due today or overdue, quotes expiring this week.
    `with_tasks=False` leaves the tasks out (empty, total 0): the dashboard lists them its own way
    (services/tasks.for_today), and on a store with 100,000 tasks they cost its first paint 55 ms."""
    current = now or datetime.now(UTC)
    day = local_today(current)
    agenda = visits.agenda(ws, day, day)
    due = tasks.list_tasks(ws, "due-or-overdue", limit=TODAY_TASK_LIMIT, now=current) if with_tasks else []
    due_total = len(due)
    if due_total == TODAY_TASK_LIMIT:
        due_total = tasks.count_tasks(ws, "due-or-overdue", current)
    horizon = day + timedelta(days=QUOTE_HORIZON_DAYS - 1)
    from sfa.services import quotes as quote_service

    expiring = quote_service.expiring(ws, horizon, day)  # sent, latest revisions, still valid
    quotes_total = len(expiring)
    quotes = expiring[:TODAY_QUOTE_LIMIT]
    quote_accounts = ws.store.titles(ACCOUNT, {q["account_id"] for q in quotes})
    return {
        "date": day,
        "now": current,
        "visits": agenda,
        "tasks": due,
        "tasks_total": due_total,
        "quotes": [{"quote": q, "account": quote_accounts.get(q["account_id"], "")} for q in quotes],
        "quotes_until": horizon,
        "quotes_total": quotes_total,
        "events": _events_on(ws, day),
    }


def _events_on(ws: Workspace, day: date) -> list[dict[str, Any]]:
    from sfa.services import events

    return events.on_day(ws, day)
