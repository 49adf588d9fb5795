"""Deal history and forecasts over the store: stage changes written with every move, the deals'
histories read back for the prediction methods (sfa/domain/prediction.py), the backtest and the
forecast range. Design and measured figures: docs/prediction.md.
"""

from __future__ import annotations

import gc
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sfa.domain import prediction
from sfa.domain import reports as report_rules
from sfa.domain.dates import local_today, utc_now
from sfa.domain.entities import (
    ACCOUNT,
    FORECAST_ADJUSTMENT,
    FORECAST_CATEGORIES,
    FORECAST_SNAPSHOT,
    OPPORTUNITY,
    STAGE_CHANGE,
    TASK,
    TIMELINE,
    VISIT,
)
from sfa.domain.errors import NotAllowedError, ValidationError
from sfa.domain.ids import timestamp_ms_of
from sfa.domain.money import round_money
from sfa.domain.prediction import DealHistory, StageStep
from sfa.domain.stages import LOST, WON, Stage
from sfa.domain.text import check_text
from sfa.services import authority, forecast_keep, forecast_summary
from sfa.store.db import Record
from sfa.store.workspace import Workspace


def stages_for(ws: Workspace) -> tuple[Stage, ...]:
    """The stage probabilities the methods start from: today the configured stages; a sales policy
    (issue 14) will feed its own here."""
    return tuple(ws.stages)


def _day(text: str) -> date:
    return date.fromisoformat(text[:10])


def histories(
    ws: Workspace, *, open_only: bool = False, context: bool = False, ids: Sequence[str] | None = None
) -> list[DealHistory]:
    """Every live opportunity (or only the open ones) as its stage_change rows recorded it.

    A deal without rows (imported, or pulled from a replica that predates stage changes) is one step:
    its stage today since its creation (the time in its UUIDv7 id). ``context``: also the model's
    context features (account, industry, dated activities and contacts; ``deal_context``), read
    only where the model is used (the backtest, the model method, a deal's score). ``ids``: only
    those deals (at most a few hundred: the report's deals settled today, the summary's marked ones).
    """
    changes: dict[str, list[tuple[str, str, str | None]]] = {}
    open_where = "stage NOT IN (?, ?)" if open_only else ""
    rows_where = (
        "opportunity_id IN (SELECT id FROM opportunity WHERE stage NOT IN (?, ?))" if open_only else ""
    )
    params: tuple[str, ...] = (WON, LOST) if open_only else ()
    if ids is not None:
        if len(ids) > 500:
            wanted = set(ids)
            return [d for d in histories(ws, open_only=open_only, context=context) if d.id in wanted]
        marks = ", ".join("?" * len(ids))
        open_where = " AND ".join(w for w in (open_where, f"id IN ({marks})") if w)
        rows_where = " AND ".join(w for w in (rows_where, f"opportunity_id IN ({marks})") if w)
        params = (*params, *ids)
    for opp_id, at, to_stage, close in ws.store.plain_rows(
        STAGE_CHANGE, ["opportunity_id", "at", "to_stage", "close_date"], where=rows_where, params=params
    ):
        found = changes.get(opp_id)
        if found is None:
            changes[opp_id] = [(at, to_stage, close)]
        else:
            found.append((at, to_stage, close))
    days: dict[str, date] = {}  # a few hundred distinct days among tens of thousands of rows

    def day_of(text: str) -> date:
        key = text[:10]
        found = days.get(key)
        if found is None:
            found = days[key] = date.fromisoformat(key)
        return found

    # Steps are immutable and few distinct (a stage on a day): one object each, shared by the deals
    # (docs/prediction.md, "Speed").
    step_of: dict[tuple[str, str], StageStep] = {}
    deals = []
    rows_of = ws.store.key_rows(
        OPPORTUNITY,
        ["stage", "amount", "currency", "close_date", "owner", "account_id", "contact_id"],
        where=open_where,
        params=params,
    )
    extra = deal_context(ws, rows_of, changes) if context else {}
    for opp_id, _name, stage, amount, currency, close, owner, _account, _contact in rows_of:
        rows = changes.get(opp_id)
        if rows:
            rows.sort()
            created = day_of(rows[0][0])
        else:
            created = datetime.fromtimestamp(timestamp_ms_of(opp_id) / 1000, UTC).date()
            rows = [(created.isoformat(), stage, close)]
        steps: list[StageStep] = []
        close_dates: list[tuple[date, date]] = []
        last_stage = last_close = None
        for at, to_stage, row_close in rows:
            if to_stage != last_stage:
                key = (to_stage, at[:10])
                step = step_of.get(key)
                if step is None:
                    step = step_of[key] = StageStep(to_stage, day_of(at))
                steps.append(step)
                last_stage = to_stage
            if row_close and row_close != last_close:
                close_dates.append((day_of(at), day_of(row_close)))
                last_close = row_close
        if not close_dates:
            close_dates.append((created, day_of(close) if close else created))
        deals.append(
            DealHistory(
                opp_id,
                created,
                Decimal(amount) if amount else Decimal(0),
                tuple(steps),
                tuple(close_dates),
                owner or "",
                "",
                currency or "",
                *extra.get(opp_id, ("", "", (), ())),
            )
        )
    return deals


def deal_context(
    ws: Workspace, opps: Sequence[tuple[Any, ...]], changes: dict[str, list[tuple[str, str, str | None]]]
) -> dict[str, tuple[str, str, tuple[date, ...], tuple[tuple[date, str], ...]]]:
    """Opportunity id → (account, industry, activity days, (day, contact) pairs): the model's context
    features, each dated (docs/prediction.md, "The model's features").

    Activities: the deal's completed tasks (on the day done) and notes on it, and the visits done at
    its account from the deal's creation to its close (a visit is to the account, not to one deal).
    Contacts: the deal's primary contact (from its creation: when it was set is not recorded), the
    contacts of its tasks and of those visits, each from the first day seen."""
    industry = {row[0]: row[1] or "" for row in ws.store.plain_rows(ACCOUNT, ["id", "industry"])}
    activities: dict[str, list[date]] = defaultdict(list)
    contacts: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for opp_id, done_at, contact in ws.store.plain_rows(
        TASK,
        ["opportunity_id", "done_at", "contact_id"],
        where="opportunity_id IS NOT NULL AND status = 'done' AND done_at IS NOT NULL",
    ):
        activities[opp_id].append(_day(done_at))
        if contact:
            contacts[opp_id].append((_day(done_at), contact))
    for opp_id, at in ws.store.plain_rows(
        TIMELINE, ["record_id", "at"], where="record_entity = 'opportunity' AND kind = 'note'"
    ):
        activities[opp_id].append(_day(at))
    visits: dict[str, list[tuple[date, list[str]]]] = defaultdict(list)
    for account_id, starts_at, people in ws.store.plain_rows(
        VISIT, ["account_id", "starts_at", "contact_ids"], where="status = 'done'"
    ):
        visits[account_id].append((_day(starts_at), json.loads(people) if people else []))
    found: dict[str, tuple[str, str, tuple[date, ...], tuple[tuple[date, str], ...]]] = {}
    for opp_id, _name, stage, _amount, _currency, _close, _owner, account_id, contact in opps:
        if not (contact or opp_id in activities or opp_id in contacts or visits.get(account_id or "")):
            found[opp_id] = (account_id or "", industry.get(account_id, ""), (), ())  # nothing dated
            continue
        rows = changes.get(opp_id)
        created = (
            _day(min(r[0] for r in rows))
            if rows
            else datetime.fromtimestamp(timestamp_ms_of(opp_id) / 1000, UTC).date()
        )
        ended = _day(max(r[0] for r in rows)) if rows and stage in (WON, LOST) else date.max
        days = activities.get(opp_id, [])
        people = list(contacts.get(opp_id, []))
        if contact:
            people.append((created, contact))
        opened = date.fromordinal(created.toordinal() - 1)  # UTC days: a date-only visit is at local midnight
        for day, met in visits.get(account_id or "", []):
            if opened <= day <= ended:
                days.append(day)
                people += [(day, c) for c in met]
        found[opp_id] = (
            account_id or "",
            industry.get(account_id, ""),
            tuple(sorted(days)),
            tuple(sorted(people)),
        )
    return found


def backtest(
    ws: Workspace, periods: int = 8, by: str = "quarter", today: date | None = None
) -> prediction.Backtest:
    """The backtest of the periods before today's; kept in the home (forecast-backtest.json) while
    nothing it read changed: it reads only what was known before the current period's start, so a
    deal moved today leaves it valid (forecast_keep; docs/prediction.md)."""
    day = today or local_today()
    current = report_rules.period_start(day, by)
    key = f"{forecast_keep.static_key()}|{current.isoformat()}|{periods}|{by}|{_stages_key(ws)}"
    kept, now = _kept(ws, BACKTEST_FILE, key, current, context=True)
    if kept is not None:
        try:
            return _backtest_from(kept)
        except (KeyError, TypeError, ValueError, ArithmeticError):
            pass  # a cache from another version: recompute
    with _paused_collector():
        result = prediction.backtest(histories(ws, context=True), stages_for(ws), day, periods, by)
    _write_cache(ws, BACKTEST_FILE, key, _backtest_to(result), now)
    return result


@contextmanager
def _paused_collector() -> Iterator[None]:
    """Python's cycle collector paused while a forecast makes its ~100,000 short-lived objects (the
    deals' histories, their snapshots, the fits' rows): they hold no cycles, yet each allocation
    burst triggers collections that walk every live object — a fifth of a cold backtest
    (docs/prediction.md, "Speed"). Nothing computed changes; it runs again when the last user that
    found it on is done."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


BACKTEST_FILE = "forecast-backtest.json"


def _stages_key(ws: Workspace) -> str:
    """The stages and their probabilities: every method starts from them."""
    return ",".join(f"{s.name}:{s.probability}" for s in stages_for(ws))


def _kept(
    ws: Workspace, name: str, key: str, horizon: date, context: bool
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the value kept under ``key`` if it is still what a fresh computation gives, the store's mark
    now). A kept value checked valid against changes made since its mark is kept again with the
    mark of now, so the next check starts there."""
    now = forecast_keep.mark(ws, context)
    data = _read_file(ws, name)
    if data is None or data.get("key") != key or not isinstance(data.get("value"), dict):
        return None, now
    value: dict[str, Any] = data["value"]
    if data.get("mark") != now:
        if not forecast_keep.unchanged_before(ws, data.get("mark"), now, horizon, context):
            return None, now
        _write_cache(ws, name, key, value, now)
    return value, now


def _backtest_to(result: prediction.Backtest) -> dict[str, Any]:
    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "periods": result.periods,
        "best": result.best,
        "scores": [
            {
                "method": s.method,
                "figures": [s.wmape, s.bias, s.coverage, s.brier, s.auc],
                "note": s.note,
                "rows": [
                    [name, str(point), str(actual), text(p10), text(p90)]
                    for name, point, actual, p10, p90 in s.periods
                ],
            }
            for s in result.scores.values()
        ],
    }


def _backtest_from(data: dict[str, Any]) -> prediction.Backtest:
    def number(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    scores = {}
    for entry in data["scores"]:
        wmape, bias, coverage, brier, auc = entry["figures"]
        rows = [(str(n), Decimal(p), Decimal(a), number(lo), number(hi)) for n, p, a, lo, hi in entry["rows"]]
        scores[str(entry["method"])] = prediction.MethodScore(
            str(entry["method"]), wmape, bias, coverage, brier, auc, str(entry["note"]), rows
        )
    return prediction.Backtest(int(data["periods"]), scores, str(data["best"]))


def backtest_json(result: prediction.Backtest) -> dict[str, Any]:
    """The shape of `sfa forecast backtest --json` (issue 16)."""

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    methods: dict[str, Any] = {}
    for name, score in result.scores.items():
        entry: dict[str, Any] = {
            "wmape": rounded(score.wmape),
            "bias": rounded(score.bias),
            "coverage": rounded(score.coverage),
            "brier": rounded(score.brier),
            "auc": rounded(score.auc),
        }
        if score.note:
            entry["note"] = score.note
        methods[name] = entry
    return {"periods": result.periods, "methods": methods, "best": result.best}


def period_rows(result: prediction.Backtest) -> Sequence[tuple[str, str, Decimal, Decimal, Any, Any]]:
    return [
        (method, period, point, actual, p10, p90)
        for method, score in result.scores.items()
        for period, point, actual, p10, p90 in score.periods
    ]


# -- the forecast report's prediction columns ------------------------------------------------------

FORECAST_METHODS = prediction.METHODS
MAX_PERIODS = 40


# Forecast categories from the deal's probability until a sales policy (issue 14) names them per
# stage: at or above COMMIT_FROM a deal is commit, at or above BEST_CASE_FROM best case, else pipeline.
COMMIT_FROM = 90
BEST_CASE_FROM = 50


def category_of(probability: int | None) -> str:
    if probability is None:
        return "pipeline"
    if probability >= COMMIT_FROM:
        return "commit"
    return "best case" if probability >= BEST_CASE_FROM else "pipeline"


OVERRIDES = ("pipeline", "best case", "commit", "omitted")


def categories_of(ws: Workspace) -> dict[str, str]:
    """Stage → forecast category from the sales policy in force (docs/policy.md)."""
    return {s.name: s.category for s in ws.policy.stages}


def deal_category(stage: str, probability: int | None, override: str | None, by_stage: dict[str, str]) -> str:
    """A deal's forecast category: the rep's or manager's override, else its stage's in the sales
    policy, else from its probability (a stage the policy does not have)."""
    if override:
        return override
    return by_stage.get(stage) or category_of(probability)


def set_category(ws: Workspace, ref: str, category: str) -> Record:
    """Override a deal's forecast category ("stage": back to its stage's)."""
    wanted = " ".join(category.strip().lower().replace("-", " ").replace("_", " ").split())
    if wanted not in (*OVERRIDES, "stage"):
        raise ValidationError(
            "category", f"{category!r} is not a category; accepted: {', '.join(OVERRIDES)}, stage"
        )
    opp = ws.store.resolve(OPPORTUNITY, ref)
    if opp["stage"] in (WON, LOST):
        raise ValidationError("category", f"the deal is {opp['stage']}: only open deals are forecast")
    value = None if wanted == "stage" else wanted
    if opp.get("forecast_category") == value:
        return opp
    return ws.store.update(OPPORTUNITY, opp["id"], {"forecast_category": value})


def check_method(method: str) -> str:
    value = method.strip().lower()
    if value not in FORECAST_METHODS:
        raise ValidationError(
            "method", f"{method!r} is not a method; accepted: {', '.join(FORECAST_METHODS)}"
        )
    return value


def check_by(by: str) -> str:
    value = by.strip().lower()
    report_rules.period_of(None, value)  # month or quarter, else a ValidationError naming --by
    return value


def check_periods(periods: int) -> int:
    if not 1 <= periods <= MAX_PERIODS:
        raise ValidationError("periods", f"{periods} is outside 1..{MAX_PERIODS}")
    return periods


def predict_current(
    ws: Workspace,
    by: str,
    method: str,
    currency: str,
    won_so_far: Decimal,
    target: Decimal | None = None,
    today: date | None = None,
    runs: int = prediction.BACKTEST_RUNS,
    *,
    owner: str | None = None,
    team: str | frozenset[str] | None = None,
) -> prediction.Prediction:
    """The current period's won amount by ``method`` from the deals in ``currency``: what is already
    won plus the method's prediction for the open pipeline (and deals still to come from new).

    The estimates are trained on snapshots taken at period starts; mid-period the open deals are
    scored as they stand today (docs/prediction.md)."""
    day = today or local_today()
    rest = None if target is None else target - won_so_far
    stages = stages_for(ws)
    keep = _in_scope(ws, owner, team)
    if method == "history":
        scope = f"{owner}|{sorted(team) if isinstance(team, frozenset) else team}"
        key = f"{forecast_keep.static_key()}|{day.isoformat()}|{by}|{currency}|{scope}|{_stages_key(ws)}"
        estimates, now = _kept(ws, CACHE_FILE, key, day, context=False)
        if estimates is None and owner is None and team is None:
            # The store's per-deal summary of the fit: the same estimates without rebuilding every
            # deal's history (forecast_summary; docs/prediction.md, "Speed", round 5).
            estimates = forecast_summary.estimates(ws, stages, day, by, currency)
            if estimates is not None:
                _write_cache(ws, CACHE_FILE, key, estimates, now)
        if estimates is None:
            with _paused_collector():
                deals = [d for d in histories(ws) if d.currency == currency and keep(d)]
                estimates = prediction.fit_estimates(deals, stages, day, by)
                open_deals = [d for d in deals if d.outcome is None]
                # Dropped before the collector is back: live, they would all be walked by its
                # first collection (docs/prediction.md, "Speed").
                del deals
            _write_cache(ws, CACHE_FILE, key, estimates, now)
        else:
            open_deals = [d for d in histories(ws, open_only=True) if d.currency == currency and keep(d)]
        result = prediction.predict_open(open_deals, estimates, stages, day, by, runs=runs, target=rest)
    else:
        with _paused_collector():
            deals = [
                d for d in histories(ws, context=method == "model") if d.currency == currency and keep(d)
            ]
            result = prediction.predict(deals, stages, day, by, method, runs=runs, target=rest)
            del deals  # as above
    shift = won_so_far

    def plus(value: Decimal | None) -> Decimal | None:
        return None if value is None else value + shift

    return prediction.Prediction(
        result.method,
        result.expected + shift,
        result.deal_probability,
        result.from_new,
        plus(result.p10),
        plus(result.p50),
        plus(result.p90),
        (1.0 if rest is not None and rest <= 0 else result.p_target),
        result.note,
    )


def _in_scope(
    ws: Workspace, owner: str | None, team: str | frozenset[str] | None
) -> Callable[[DealHistory], bool]:
    """A test of a deal's history: is the deal the owner's and the team's (as the report's rows
    are narrowed)? The estimates are then fitted on that rep's or team's deals alone (issue 16:
    "per team"), shrunk towards the policy probabilities as always."""
    if owner is None and team is None:
        return lambda deal: True
    from sfa.services.reports import scoped

    where, params = scoped("", (), owner, team)
    wanted = {row[0] for row in ws.store.key_rows(OPPORTUNITY, [], where=where, params=params)}
    return lambda deal: deal.id in wanted


CACHE_FILE = "forecast-estimates.json"


def _read_file(ws: Workspace, name: str) -> dict[str, Any] | None:
    try:
        data = json.loads((ws.home / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_cache(ws: Workspace, name: str, key: str, value: dict[str, Any], mark: dict[str, Any]) -> None:
    """Best effort: a home that cannot be written (read-only media) just computes every time."""
    path = ws.home / name
    try:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"key": key, "mark": mark, "value": value}), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        pass


def commit_amounts(
    ws: Workspace,
    by: str,
    today: date | None = None,
    *,
    owner: str | None = None,
    team: str | frozenset[str] | None = None,
) -> dict[tuple[str, str], Decimal]:
    """(period, currency) → Σ amount of open deals whose stage counts as commit (narrowed to an
    owner and/or team as the report's rows are)."""
    from sfa.services.reports import scoped

    start = report_rules.period_start(today or local_today(), by)
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    where, params = scoped("stage NOT IN (?, ?) AND amount IS NOT NULL", (WON, LOST), owner, team)
    by_stage = categories_of(ws)
    for stage, amount, currency, close, probability, override in ws.store.plain_rows(
        OPPORTUNITY,
        ["stage", "amount", "currency", "close_date", "probability", "forecast_category"],
        where=where,
        params=params,
    ):
        if not amount or deal_category(stage, probability, override, by_stage) != "commit":
            continue
        close_day = _day(close) if close else None
        if close_day is None:
            period = report_rules.UNSCHEDULED
        elif close_day < start:
            period = report_rules.OVERDUE
        else:
            period = report_rules.period_of(close_day, by)
        totals[(period, currency or "")] += Decimal(amount)
    return totals


# -- funnel and flow -----------------------------------------------------------------------------------


def funnel(ws: Workspace) -> list[prediction.FunnelRow]:
    return prediction.funnel(histories(ws), stages_for(ws))


def flow(ws: Workspace, start: date, end: date) -> dict[str, tuple[int, Decimal]]:
    """`prediction.flow` plus "removed": deals deleted between the dates (by their last change)."""
    if end < start:
        raise ValidationError(
            "to", f"{end.isoformat()} is before the start {start.isoformat()}", asks_for=("from",)
        )
    result = prediction.flow(histories(ws), start, end)
    after = (end.toordinal() + 1) - start.toordinal()
    removed = ws.store.select(
        OPPORTUNITY,
        "deleted = 1 AND updated_at >= ? AND updated_at < ?",
        (start.isoformat(), date.fromordinal(start.toordinal() + after).isoformat()),
        include_deleted=True,
        fields=["amount"],
    )
    result["removed"] = (len(removed), sum((r["amount"] or Decimal(0) for r in removed), Decimal("0.00")))
    return result


def score(ws: Workspace, opp_id: str, today: date | None = None) -> prediction.Score | None:
    """The open deal's chance to win by the history method and its top factors (None: closed)."""
    return prediction.score(histories(ws, context=True), stages_for(ws), opp_id, today or local_today())


# -- adjustments and snapshots ---------------------------------------------------------------------------

_SNAPSHOT_NAMESPACE = uuid.UUID("6f1c9a52-3d0e-4b7a-9a51-5f0c2e8d7b13")


def parse_period(text: str) -> tuple[str, str]:
    """ "2026-Q4" (a quarter) or "2026-11" (a month): the period's name and its kind."""
    value = text.strip().upper()
    quarter = re.fullmatch(r"(\d{4})-Q([1-4])", value)
    if quarter:
        return f"{quarter[1]}-Q{quarter[2]}", "quarter"
    month = re.fullmatch(r"(\d{4})-(\d{2})", value)
    if month and 1 <= int(month[2]) <= 12:
        return f"{month[1]}-{month[2]}", "month"
    raise ValidationError("period", f"{text!r} is not a period like 2026-Q4 or 2026-11")


def _subject(ws: Workspace, owner: str | None, team: str | None) -> tuple[str, str]:
    if owner is not None and team is not None:
        raise ValidationError("owner", "give a rep or a team, not both", asks_for=("owner", "team"))
    if owner is not None:
        return "owner", check_text("owner", owner.strip()) or ws.owner
    if team is not None:
        name = check_text("team", team.strip()) or ws.team
        if not name:
            raise ValidationError("team", "is empty and no team is configured")
        return "team", name
    return "all", "all"


def adjust(
    ws: Workspace,
    period: str,
    category: str,
    amount: str,
    *,
    owner: str | None = None,
    team: str | None = None,
    note: str | None = None,
) -> Record:
    """An insert-only adjustment: the latest per person, subject, period and category counts."""
    name, _kind = parse_period(period)
    kind, subject = _subject(ws, owner, team)
    if kind == "all":
        raise ValidationError("owner", "an adjustment is for a rep or a team", asks_for=("owner", "team"))
    wanted = " ".join(category.strip().lower().replace("-", " ").replace("_", " ").split())
    if wanted not in FORECAST_CATEGORIES:
        raise ValidationError(
            "category", f"{category!r} is not a category; accepted: {', '.join(FORECAST_CATEGORIES)}"
        )
    may_adjust(ws, kind, subject)
    currency = ws.setting("currency")
    try:
        value = round_money(Decimal(amount.strip().replace(",", "")), currency)
    except ArithmeticError:
        raise ValidationError("amount", f"{amount!r} is not an amount like 250000.00") from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e15"):
        raise ValidationError("amount", f"{amount!r} is not an amount between 0 and 10^15")
    return ws.store.insert(
        FORECAST_ADJUSTMENT,
        {
            "period": name,
            "subject_kind": kind,
            "subject": subject,
            "category": wanted,
            "amount": value,
            "currency": currency,
            "note": check_text("note", note.strip()) or None if note else None,
            "at": utc_now(),
            "owner": authority.user(ws),
            "team": subject if kind == "team" else authority.my_team(ws),
        },
    )


def may_adjust(ws: Workspace, kind: str, subject: str) -> None:
    """Refuse early what the server rejects (sfa/server/roles.py): a rep adjusts only their own
    forecast; a team's only that team's manager or an admin. Without a server (or before a login
    cached a role) nothing is refused here."""
    role = authority.role(ws)
    if role is None or role == "admin":
        return
    if role == "manager":
        if kind == "team" and subject not in authority.my_teams(ws):
            raise NotAllowedError(
                f"team: only the manager of team {subject!r} or an admin may adjust its forecast"
            )
        return
    if kind == "team":
        raise NotAllowedError(
            f"team: only the team's manager or an admin may adjust a team's forecast (you are a {role})"
        )
    me = authority.user(ws)
    if subject != me:
        raise NotAllowedError(f"owner: a {role} adjusts only their own forecast ({me})")


def adjustments(ws: Workspace, period: str | None = None) -> list[Record]:
    """The adjustments that count: the latest per person, subject, period and category."""
    where, params = ("period = ?", (parse_period(period)[0],)) if period else ("", ())
    latest: dict[tuple[Any, ...], Record] = {}
    for row in ws.store.select(FORECAST_ADJUSTMENT, where, params, order="at, rid"):
        latest[(row["owner"], row["subject_kind"], row["subject"], row["period"], row["category"])] = row
    return sorted(
        latest.values(), key=lambda r: (r["period"], r["subject_kind"], r["subject"], r["category"])
    )


# The report's columns an adjustment of a category replaces (pipeline adjustments are recorded, shown
# by `forecast adjustments`, and replace no column: the report's pipeline is the deals' sum).
ADJUSTED_COLUMNS = {"commit": "commit", "best case": "best_case"}


def report_adjustments(
    ws: Workspace, *, owner: str | None = None, team: str | frozenset[str] | None = None
) -> dict[tuple[str, str, str], Record]:
    """(period, currency, column) → the adjustment `sfa report forecast` shows in that column.

    Adjustments are of one subject, so they apply only to a report narrowed to exactly one: with
    --owner the rep's, else with --team (one team, not a territory's set) the team's; an unnarrowed
    report sums subjects whose adjustments would overlap and shows the deals' figures. Of the
    adjustments that count (the latest per person), the latest of anyone's is shown: the newest
    judgement of that subject's period, the same on every laptop (docs/prediction.md)."""
    if owner is not None:
        kind, subject = "owner", owner
    elif isinstance(team, str):
        kind, subject = "team", team
    else:
        return {}
    found: dict[tuple[str, str, str], Record] = {}
    for row in adjustments(ws):
        column = ADJUSTED_COLUMNS.get(row["category"])
        if column is None or row["subject_kind"] != kind or row["subject"] != subject:
            continue
        key = (row["period"], row["currency"] or "", column)
        kept = found.get(key)
        if kept is None or (row["at"], row["id"]) > (kept["at"], kept["id"]):
            found[key] = row
    return found


def snapshot_id(kind: str, subject: str, period: str, week: str) -> str:
    """The same on every replica: two laptops snapshotting one week write one record."""
    return str(uuid.uuid5(_SNAPSHOT_NAMESPACE, f"{kind}\\x1f{subject}\\x1f{period}\\x1f{week}"))


def monday_snapshot(ws: Workspace, today: date | None = None, by: str = "quarter") -> Record | None:
    """`sync --watch` on a Monday: this week's snapshot of the user's own figures, unless one exists
    (taken here, or pulled from another laptop of the same user: the id is the same)."""
    day = today or local_today()
    if day.weekday() != 0:
        return None
    year, week, _ = day.isocalendar()
    owner = ws.owner
    record_id = snapshot_id("owner", owner, report_rules.period_of(day, by), f"{year:04d}-W{week:02d}")
    if ws.store.find(FORECAST_SNAPSHOT, record_id) is not None:
        return None
    return take_snapshot(ws, by, owner=owner, today=day)


def take_snapshot(
    ws: Workspace,
    by: str = "quarter",
    *,
    owner: str | None = None,
    team: str | None = None,
    today: date | None = None,
) -> Record:
    """This week's snapshot of the current period's figures for the subject (in the store's currency);
    taking it again in the same week replaces it."""
    by = check_by(by)
    kind, subject = _subject(ws, owner, team)
    day = today or local_today()
    period = report_rules.period_of(day, by)
    year, week, _ = day.isocalendar()
    week_name = f"{year:04d}-W{week:02d}"
    currency = ws.setting("currency")
    zero = Decimal(0)
    open_count = 0
    figures = {"pipeline": zero, "weighted": zero, "commit_amount": zero, "won": zero}
    by_stage = categories_of(ws)
    for (
        _id,
        _name,
        stage,
        amount,
        row_currency,
        close,
        probability,
        row_owner,
        row_team,
        override,
    ) in ws.store.key_rows(
        OPPORTUNITY,
        ["stage", "amount", "currency", "close_date", "probability", "owner", "team", "forecast_category"],
    ):
        if stage == LOST or not close or (row_currency or currency) != currency:
            continue
        if (kind == "owner" and row_owner != subject) or (kind == "team" and row_team != subject):
            continue
        if report_rules.period_of(_day(close), by) != period:
            continue
        value = Decimal(amount) if amount else zero
        if stage == WON:
            figures["won"] += value
            continue
        open_count += 1
        figures["pipeline"] += value
        figures["weighted"] += value * (probability or 0) / 100
        if deal_category(stage, probability, override, by_stage) == "commit":
            figures["commit_amount"] += value
    values: Record = {
        "period": period,
        "subject_kind": kind,
        "subject": subject,
        "week": week_name,
        "taken_at": utc_now(),
        "currency": currency,
        "open_count": open_count,
        "pipeline": round_money(figures["pipeline"], currency),
        "weighted": round_money(figures["weighted"], currency),
        "commit_amount": round_money(figures["won"] + figures["commit_amount"], currency),
        "best_case": round_money(figures["won"] + figures["pipeline"], currency),
        "won": round_money(figures["won"], currency),
        "owner": subject if kind == "owner" else ws.owner,
        "team": subject if kind == "team" else ws.team,
    }
    record_id = snapshot_id(kind, subject, period, week_name)
    if ws.store.find(FORECAST_SNAPSHOT, record_id) is not None:
        return ws.store.update(FORECAST_SNAPSHOT, record_id, values)
    return ws.store.insert(FORECAST_SNAPSHOT, values, record_id=record_id)
