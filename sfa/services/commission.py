"""Incentives (issue 16 §4, docs/incentives.md): the use cases behind `sfa plan ...` and
`sfa commission ...`. The calculation is sfa/domain/commission.py; this reads the deals, orders and
contracts this laptop holds, and writes plans, lines and statements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sfa.domain import commission as rules
from sfa.domain import quotes as quote_rules
from sfa.domain.dates import local_today, utc_now
from sfa.domain.entities import (
    COMMISSION_BASES,
    COMMISSION_LINE,
    COMMISSION_PLAN,
    COMMISSION_STATEMENT,
    CONTRACT,
    CONTRACT_LINE,
    OPPORTUNITY,
    OPPORTUNITY_SPLIT,
    ORDER,
    ORDER_LINE,
    PLAN_ASSIGNMENT,
    PRODUCT,
    QUOTE,
    QUOTE_LINE,
    SPLIT_KINDS,
)
from sfa.domain.errors import NotFoundError, StateError, ValidationError
from sfa.domain.money import MAX_AMOUNT, format_money, parse_amount, parse_currency
from sfa.domain.policy import stable_id
from sfa.domain.stages import WON
from sfa.domain.targets import Period, parse_period, quarter_of
from sfa.domain.text import check_text
from sfa.services import authority, quotes
from sfa.store.db import Record
from sfa.store.workspace import Workspace

ZERO = Decimal(0)
LIVE_ORDERS = ("submitted", "acknowledged", "delivered", "invoiced")


def _name(text: str | None, field: str) -> str | None:
    if text is None:
        return None
    value = " ".join(check_text(field, text).split())
    return value or None


def _period(text: str | None) -> Period:
    return parse_period(text) if text else quarter_of(local_today())


# -- plans ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanInput:
    name: str
    period: str
    basis: str
    rates: str
    family_rates: str | None = None
    cap: str | None = None
    currency: str | None = None
    team: str | None = None


def _basis(text: str) -> str:
    value = text.strip().lower().replace("-", "_")
    if value not in COMMISSION_BASES:
        raise ValidationError("basis", f"{text[:40]!r}; use one of {', '.join(COMMISSION_BASES)}")
    return value


def add_plan(ws: Workspace, given: PlanInput) -> Record:
    name = _name(given.name, "name")
    if name is None:
        raise ValidationError("name", "is required")
    team = _name(given.team, "team")
    if team is None:
        team = authority.my_team(ws)
    values: Record = {
        "name": name,
        "period": parse_period(given.period).name,
        "basis": _basis(given.basis),
        "rates": rules.rates_text(rules.parse_rates(given.rates)),
        "family_rates": rules.family_rates_text(rules.parse_family_rates(given.family_rates)) or None,
        "cap": parse_amount(given.cap, "cap", limit=MAX_AMOUNT) if given.cap else None,
        "currency": parse_currency(given.currency) if given.currency else ws.setting("currency"),
        "status": "draft",
        "team": team,
    }
    authority.require_manager(ws, "commission plans", team=team)
    return ws.store.insert(COMMISSION_PLAN, values)


def resolve_plan(ws: Workspace, ref: str) -> Record:
    """A plan by short ref, or by its exact name (the latest period's of that name)."""
    text = ref.strip()
    named = ws.store.select(COMMISSION_PLAN, "name = ? COLLATE NOCASE", (text,), order="period DESC")
    if named:
        return named[0]
    try:
        return ws.store.resolve(COMMISSION_PLAN, text)
    except ValidationError:
        raise NotFoundError(f"no commission plan {text[:40]!r}") from None


def list_plans(ws: Workspace, period: str | None = None) -> list[Record]:
    where, params = ("period = ?", (parse_period(period).name,)) if period else ("", ())
    return ws.store.select(COMMISSION_PLAN, where, params, order="period DESC, name")


def assignments_of(ws: Workspace, plan_id: str) -> list[Record]:
    return ws.store.select(PLAN_ASSIGNMENT, "plan_id = ?", (plan_id,), order="rep")


def approve_plan(ws: Workspace, ref: str) -> Record:
    plan = resolve_plan(ws, ref)
    authority.require_manager(ws, "commission plans", team=plan["team"])
    if plan["status"] == "approved":
        raise StateError(f"plan {plan['name']} is approved already (an approved plan is immutable)")
    return ws.store.update(
        COMMISSION_PLAN,
        plan["id"],
        {"status": "approved", "approved_by": authority.user(ws), "approved_at": utc_now()},
    )


def assign(ws: Workspace, ref: str, rep: str, target: str) -> Record:
    """Put a rep on a plan with a target (one assignment per plan and rep: assigning again sets
    the target). Attainment is measured against the target."""
    plan = resolve_plan(ws, ref)
    who = _name(rep, "rep")
    if who is None:
        raise ValidationError("rep", "is required")
    amount = parse_amount(target, "target", limit=MAX_AMOUNT)
    if amount <= 0:
        raise ValidationError("target", "must be more than 0")
    authority.require_manager(ws, "commission plans", team=plan["team"])
    record_id = stable_id("plan_assignment", plan["id"], who)
    values: Record = {"plan_id": plan["id"], "rep": who, "target": amount, "owner": who, "team": plan["team"]}
    with ws.store.transaction():
        existing = ws.store.find(PLAN_ASSIGNMENT, record_id)
        if existing is None:
            return ws.store.insert(PLAN_ASSIGNMENT, values, record_id=record_id)
        changes = {k: v for k, v in values.items() if existing.get(k) != v}
        if existing["deleted"]:
            changes["deleted"] = False
        return ws.store.update(PLAN_ASSIGNMENT, record_id, changes) if changes else existing


def plan_of(record: Record) -> rules.Plan:
    return rules.Plan(
        record["id"],
        record["name"],
        record["period"],
        record["basis"],
        rules.parse_rates(record["rates"]),
        rules.parse_family_rates(record["family_rates"]),
        record["cap"],
        record["currency"] or "EUR",
    )


# -- splits ---------------------------------------------------------------------------------------


def _opportunity(ws: Workspace, ref: str) -> Record:
    text = ref.strip()
    named = ws.store.select(OPPORTUNITY, "name = ? COLLATE NOCASE", (text,), limit=2)
    if len(named) == 1:
        return named[0]
    return ws.store.resolve(OPPORTUNITY, text)


def splits_of(ws: Workspace, opportunity_id: str) -> list[Record]:
    return ws.store.select(OPPORTUNITY_SPLIT, "opportunity_id = ?", (opportunity_id,), order="kind, rep")


def _split(record: Record) -> rules.Split:
    return rules.Split(record["rep"], record["percent"], record["kind"])


def set_split(ws: Workspace, opp_ref: str, rep: str, percent: str, kind: str = "revenue") -> Record:
    """Credit `percent` of a deal to a rep (revenue: shares of 100 with the owner keeping the rest;
    overlay: on top). 0 removes the split."""
    opp = _opportunity(ws, opp_ref)
    who = _name(rep, "rep")
    if who is None:
        raise ValidationError("rep", "is required")
    if kind not in SPLIT_KINDS:
        raise ValidationError("kind", f"{kind[:40]!r}; use one of {', '.join(SPLIT_KINDS)}")
    share = parse_amount(percent, "percent", limit=Decimal(100))
    authority.require_manager(ws, "opportunity splits", team=opp["team"])
    record_id = stable_id("opportunity_split", opp["id"], who, kind)
    others = [_split(s) for s in splits_of(ws, opp["id"]) if s["id"] != record_id]
    rules.credits(opp["owner"], [*others, rules.Split(who, share, kind)])  # refuses more than 100 %
    values: Record = {
        "opportunity_id": opp["id"],
        "rep": who,
        "percent": share,
        "kind": kind,
        "owner": who,
        "team": opp["team"],
        "deleted": share == 0,
    }
    with ws.store.transaction():
        existing = ws.store.find(OPPORTUNITY_SPLIT, record_id)
        if existing is None:
            return ws.store.insert(OPPORTUNITY_SPLIT, values, record_id=record_id)
        changes = {k: v for k, v in values.items() if existing.get(k) != v}
        return ws.store.update(OPPORTUNITY_SPLIT, record_id, changes) if changes else existing


def credits_of(ws: Workspace, opp_ref: str) -> tuple[Record, dict[str, Decimal]]:
    opp = _opportunity(ws, opp_ref)
    return opp, rules.credits(opp["owner"], [_split(s) for s in splits_of(ws, opp["id"])])


# -- the deals of a period ------------------------------------------------------------------------


class _Families:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.cache: dict[str, str | None] = {}

    def of(self, product_id: str | None) -> str | None:
        if not product_id:
            return None
        if product_id not in self.cache:
            product = self.ws.store.find(PRODUCT, product_id)
            self.cache[product_id] = product["family"] if product else None
        return self.cache[product_id]


def _parts(
    lines: list[Record], currency: str, families: _Families, scale: Decimal | None = None
) -> list[rules.Part]:
    by_family: dict[str | None, Decimal] = {}
    for line in lines:
        if line.get("deleted"):
            continue
        net = quote_rules.line_net(quotes.to_line(line), currency)
        family = families.of(line.get("product_id"))
        by_family[family] = by_family.get(family, ZERO) + net
    parts = [rules.Part(f, a) for f, a in sorted(by_family.items(), key=lambda i: i[0] or "")]
    if scale is None:
        return parts
    total = sum((p.amount for p in parts), ZERO)
    if total == 0:
        return []
    return [rules.Part(p.family, p.amount * scale / total) for p in parts]


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone().date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).astimezone().date()


def _splits_by_opp(ws: Workspace) -> dict[str, tuple[rules.Split, ...]]:
    found: dict[str, list[rules.Split]] = {}
    for s in ws.store.select(OPPORTUNITY_SPLIT, order="opportunity_id, kind, rep"):
        found.setdefault(s["opportunity_id"], []).append(_split(s))
    return {k: tuple(v) for k, v in found.items()}


def _label(kind: str, record: Record) -> str:
    return f"{kind} {record.get('number') or record.get('name') or record['id'][-8:]}"


def deals(ws: Workspace, basis: str, period: Period) -> list[rules.Deal]:
    """The period's deals of a basis, in the order lines are written (by day, then id): won
    opportunities by close date, live orders by submission, activated contracts by start."""
    families = _Families(ws)
    splits = _splits_by_opp(ws)
    fallback = ws.setting("currency")
    found: list[rules.Deal] = []
    if basis == "won_amount":
        for opp in ws.store.select(OPPORTUNITY, "stage = ?", (WON,)):
            day = opp["close_date"] or _day(opp["updated_at"])
            if day is None or not period.holds(day) or not opp["amount"]:
                continue
            currency = opp["currency"] or fallback
            parts = [rules.Part(None, opp["amount"])]
            accepted = ws.store.select(
                QUOTE,
                "opportunity_id = ? AND status = 'accepted'",
                (opp["id"],),
                order="revision DESC",
                limit=1,
            )
            if accepted:
                lines = ws.store.select(QUOTE_LINE, "quote_id = ?", (accepted[0]["id"],), order="position")
                parts = _parts(lines, currency, families, scale=opp["amount"]) or parts
            found.append(
                rules.Deal(
                    "opportunity",
                    opp["id"],
                    _label("deal", opp),
                    day,
                    opp["owner"],
                    currency,
                    tuple(parts),
                    splits.get(opp["id"], ()),
                )
            )
    elif basis == "order_amount":
        marks = ", ".join("?" for _ in LIVE_ORDERS)
        for order in ws.store.select(ORDER, f"status IN ({marks})", LIVE_ORDERS):
            day = _day(order["submitted_at"])
            if day is None or not period.holds(day):
                continue
            currency = order["currency"] or fallback
            lines = ws.store.select(ORDER_LINE, "order_id = ?", (order["id"],), order="position")
            found.append(
                rules.Deal(
                    "order",
                    order["id"],
                    _label("order", order),
                    day,
                    order["owner"],
                    currency,
                    tuple(_parts(lines, currency, families)),
                    splits.get(order["opportunity_id"] or "", ()),
                )
            )
    else:
        for contract in ws.store.select(CONTRACT, "status = 'activated'"):
            day = contract["start_date"]
            if day is None or not period.holds(day):
                continue
            currency = contract["currency"] or fallback
            lines = ws.store.select(CONTRACT_LINE, "contract_id = ?", (contract["id"],), order="position")
            value = first_year_value(contract["value"], contract["term_months"])
            if value is None:
                continue
            parts = _parts(lines, currency, families, scale=value) or [rules.Part(None, value)]
            found.append(
                rules.Deal(
                    "contract",
                    contract["id"],
                    _label("contract", contract),
                    day,
                    contract["owner"],
                    currency,
                    tuple(parts),
                    splits.get(contract["opportunity_id"] or "", ()),
                )
            )
    found.sort(key=lambda d: (d.day, d.source_entity, d.source_id))
    return found


def first_year_value(value: Decimal | None, term_months: int | None) -> Decimal | None:
    """A contract's value in its first twelve months: the value over a longer term is spread
    evenly; a term of a year or less, or none, counts whole."""
    if value is None:
        return None
    if term_months and term_months > 12:
        return value * 12 / term_months
    return value


# -- the run --------------------------------------------------------------------------------------


@dataclass
class RepRun:
    rep: str
    plan: Record
    result: rules.Result
    written: list[rules.NewLine]
    statement: Record | None
    frozen: bool = False  # the statement is approved or exported: nothing was recalculated


@dataclass
class Run:
    period: Period
    reps: list[RepRun] = field(default_factory=list)
    draft_plans: list[str] = field(default_factory=list)


def statement_id(rep: str, period: str) -> str:
    return stable_id("commission_statement", rep, period)


def line_id(plan_id: str, rep: str, period: str, key: tuple[str, str, str], index: int) -> str:
    return stable_id("commission_line", plan_id, rep, period, *key, str(index))


def _stored(ws: Workspace, rep: str, period: str) -> list[Record]:
    return ws.store.select(COMMISSION_LINE, "period = ? AND rep = ?", (period, rep), order="at, rid")


def _paid(lines: list[Record], plan_id: str) -> list[rules.Paid]:
    return [
        rules.Paid(
            (x["source_entity"] or "", x["source_id"] or "", x["pool"] or ""),
            x["commission"],
            x["basis"] or ZERO,
        )
        for x in lines
        if x["plan_id"] == plan_id and x["source_entity"]
    ]


def _plans_for(ws: Workspace, period: Period) -> list[Record]:
    return ws.store.select(COMMISSION_PLAN, "period = ?", (period.name,), order="name, id")


def run(ws: Workspace, period_text: str, *, dry_run: bool = False) -> Run:
    """Calculate every assigned rep's commission for the period by the approved plans; write the
    new lines (corrections for changed deals) and the draft statements. An approved statement is
    left as it is."""
    period = parse_period(period_text)
    plans = _plans_for(ws, period)
    outcome = Run(period)
    for plan in plans:
        authority.require_manager(ws, "commission", team=plan["team"])
    with ws.store.transaction():
        for plan in plans:
            if plan["status"] != "approved":
                outcome.draft_plans.append(plan["name"])
                continue
            rule = plan_of(plan)
            found = deals(ws, rule.basis, period)
            for assignment in assignments_of(ws, plan["id"]):
                outcome.reps.append(_run_rep(ws, plan, rule, assignment, found, period, dry_run))
    return outcome


def _run_rep(
    ws: Workspace,
    plan: Record,
    rule: rules.Plan,
    assignment: Record,
    found: list[rules.Deal],
    period: Period,
    dry_run: bool,
) -> RepRun:
    rep = assignment["rep"]
    result = rules.calculate(rule, rep, assignment["target"], found)
    statement = ws.store.find(COMMISSION_STATEMENT, statement_id(rep, period.name))
    if statement is not None and statement["status"] in ("approved", "exported"):
        return RepRun(rep, plan, result, [], statement, frozen=True)
    stored = _stored(ws, rep, period.name)
    written = rules.corrections(result.lines, _paid(stored, plan["id"]), rule.currency)
    if dry_run:
        return RepRun(rep, plan, result, written, statement)
    now = utc_now()
    for new in written:
        line = new.line
        ws.store.insert(
            COMMISSION_LINE,
            {
                "rep": rep,
                "period": period.name,
                "plan_id": plan["id"],
                "source_entity": line.source_entity,
                "source_id": line.source_id,
                "pool": line.pool or None,
                "basis": line.basis,
                "rate": line.rate,
                "commission": line.commission,
                "currency": rule.currency,
                "explanation": line.explanation[:1000],
                "reason": new.reason,
                "at": now,
                "owner": rep,
                "team": plan["team"],
            },
            record_id=line_id(plan["id"], rep, period.name, line.key, new.index),
        )
    statement = _write_statement(ws, rep, period.name, plan, rule.currency)
    return RepRun(rep, plan, result, written, statement)


def _write_statement(ws: Workspace, rep: str, period: str, plan: Record, currency: str) -> Record:
    lines = _stored(ws, rep, period)
    values: Record = {
        "rep": rep,
        "period": period,
        "plan_id": plan["id"],
        "total": statement_total(lines),
        "currency": currency,
        "line_count": len(lines),
        "owner": rep,
        "team": plan["team"],
    }
    record_id = statement_id(rep, period)
    existing = ws.store.find(COMMISSION_STATEMENT, record_id)
    if existing is None:
        return ws.store.insert(COMMISSION_STATEMENT, {**values, "status": "draft"}, record_id=record_id)
    changes = {k: v for k, v in values.items() if existing.get(k) != v}
    return ws.store.update(COMMISSION_STATEMENT, record_id, changes) if changes else existing


def statement_total(lines: list[Record]) -> Decimal:
    return sum((x["commission"] for x in lines), ZERO)


def correct(ws: Workspace, rep: str, period_text: str, amount: str, reason: str) -> Record:
    """A manual correction: a new line with its reason, never an edit of a line."""
    period = parse_period(period_text)
    who = _name(rep, "rep")
    why = _name(reason, "reason")
    if who is None:
        raise ValidationError("rep", "is required")
    if why is None:
        raise ValidationError("reason", "a correction says why")
    value = parse_amount(amount, "amount", True, limit=MAX_AMOUNT)
    statement = ws.store.find(COMMISSION_STATEMENT, statement_id(who, period.name))
    if statement is None:
        raise NotFoundError(f"no commission statement of {who} for {period.name}; run the period first")
    authority.require_manager(ws, "commission", team=statement["team"])
    if statement["status"] != "draft":
        raise StateError(
            f"the statement of {who} for {period.name} is {statement['status']}; correct it in a later period"
        )
    with ws.store.transaction():
        line = ws.store.insert(
            COMMISSION_LINE,
            {
                "rep": who,
                "period": period.name,
                "plan_id": statement["plan_id"],
                "commission": value,
                "currency": statement["currency"],
                "explanation": f"correction by {authority.user(ws)}: {why}",
                "reason": why,
                "at": utc_now(),
                "owner": who,
                "team": statement["team"],
            },
        )
        lines = _stored(ws, who, period.name)
        ws.store.update(
            COMMISSION_STATEMENT,
            statement["id"],
            {"total": statement_total(lines), "line_count": len(lines)},
        )
    return line


# -- statements -----------------------------------------------------------------------------------


@dataclass
class StatementView:
    rep: str
    period: Period
    statement: Record | None
    lines: list[Record]
    total: Decimal  # recomputed from the lines
    currency: str | None


def statement(ws: Workspace, period_text: str | None, rep: str | None = None) -> StatementView:
    period = _period(period_text)
    who = _name(rep, "rep") or authority.user(ws)
    record = ws.store.find(COMMISSION_STATEMENT, statement_id(who, period.name))
    lines = _stored(ws, who, period.name)
    currency = record["currency"] if record else (lines[0]["currency"] if lines else None)
    return StatementView(who, period, record, lines, statement_total(lines), currency)


def approve_statement(ws: Workspace, rep: str, period_text: str) -> Record:
    period = parse_period(period_text)
    who = _name(rep, "rep")
    if who is None:
        raise ValidationError("rep", "is required")
    record = ws.store.find(COMMISSION_STATEMENT, statement_id(who, period.name))
    if record is None:
        raise NotFoundError(f"no commission statement of {who} for {period.name}; run the period first")
    authority.require_manager(ws, "commission statements", team=record["team"])
    if record["status"] != "draft":
        raise StateError(f"the statement of {who} for {period.name} is {record['status']} already")
    lines = _stored(ws, who, period.name)
    if statement_total(lines) != record["total"]:
        raise StateError(
            f"the statement of {who} for {period.name} does not add up to its lines; run the period again"
        )
    return ws.store.update(
        COMMISSION_STATEMENT,
        record["id"],
        {"status": "approved", "approved_by": authority.user(ws), "approved_at": utc_now()},
    )


EXPORT_COLUMNS = ("rep", "period", "plan", "currency", "total", "lines", "approved_by", "approved_at")


def export(ws: Workspace, period_text: str) -> list[dict[str, str]]:
    """The approved (and earlier exported) statements of the period as payroll rows; the approved
    ones become exported. Drafts are not paid."""
    period = parse_period(period_text)
    found = ws.store.select(
        COMMISSION_STATEMENT, "period = ? AND status IN ('approved', 'exported')", (period.name,), order="rep"
    )
    if not found:
        raise NotFoundError(f"no approved commission statements for {period.name}")
    for record in found:
        authority.require_manager(ws, "commission statements", team=record["team"])
    names = {p["id"]: p["name"] for p in _plans_for(ws, period)}
    rows = [
        {
            "rep": r["rep"],
            "period": r["period"],
            "plan": names.get(r["plan_id"] or "", ""),
            "currency": r["currency"] or "",
            "total": f"{r['total']:f}",
            "lines": str(r["line_count"] or 0),
            "approved_by": r["approved_by"] or "",
            "approved_at": r["approved_at"].isoformat() if r["approved_at"] else "",
        }
        for r in found
    ]
    now = utc_now()
    with ws.store.transaction():
        for record in found:
            if record["status"] == "approved":
                ws.store.update(
                    COMMISSION_STATEMENT, record["id"], {"status": "exported", "exported_at": now}
                )
    return rows


# -- estimates ------------------------------------------------------------------------------------


@dataclass
class Estimate:
    rep: str
    plan: Record
    target: Decimal
    currency: str
    before: rules.Result
    after: rules.Result | None = None  # with the quote
    quote: Record | None = None

    @property
    def added(self) -> Decimal:
        return (self.after.total - self.before.total) if self.after is not None else ZERO

    def where(self) -> str:
        """The tier (or family rate) the quote's lines were paid at."""
        if self.after is None or self.quote is None:
            return ""
        mine = [x for x in self.after.lines if x.source_id == self.quote["id"]]
        tiers = [x for x in mine if x.pool == rules.TIERS]
        names = [
            f"tier {x.tier_from}" if x.tier_from == x.tier_to else f"tiers {x.tier_from}-{x.tier_to}"
            for x in tiers
        ]
        names += [f"the {x.pool} rate" for x in mine if x.pool != rules.TIERS]
        return " and ".join(names) or "no rate (no credit for this rep)"

    def sentence(self) -> str:
        start = rules.shown_percent(self.before.attainment)
        if self.after is None:
            return (
                f"{format_money(self.before.total, self.currency)} so far,"
                f" {start} of target ({self.plan['name']}, {self.plan['period']})"
            )
        end = rules.shown_percent(self.after.attainment)
        return (
            f"this quote adds {format_money(self.added, self.currency)} at {self.where()};"
            f" {start} → {end} of target"
        )


def _assignment(ws: Workspace, rep: str, day: date) -> tuple[Record, Record]:
    """The rep's plan whose period holds `day` (approved before draft), and the assignment."""
    found: list[tuple[Record, Record]] = []
    for assignment in ws.store.select(PLAN_ASSIGNMENT, "rep = ?", (rep,)):
        plan = ws.store.find(COMMISSION_PLAN, assignment["plan_id"])
        if plan is None or plan["deleted"] or not parse_period(plan["period"]).holds(day):
            continue
        found.append((plan, assignment))
    if not found:
        raise NotFoundError(f"no commission plan is assigned to {rep} for {day.isoformat()}")
    found.sort(key=lambda pair: (pair[0]["status"] != "approved", len(pair[0]["period"]), pair[0]["id"]))
    return found[0]


def _quote_deal(ws: Workspace, quote: Record, currency: str) -> rules.Deal:
    lines = quotes.lines_of(ws, quote["id"])
    splits = _splits_by_opp(ws).get(quote["opportunity_id"] or "", ())
    return rules.Deal(
        "quote",
        quote["id"],
        f"quote {quote['number']}",
        local_today(),
        quote["owner"],
        quote["currency"] or currency,
        tuple(_parts(lines, quote["currency"] or currency, _Families(ws))),
        splits,
    )


def _counted_as(ws: Workspace, quote: Record) -> set[str]:
    """Ids of the records a quote's business is counted as: its deal, orders and contracts made
    from any revision of it."""
    revisions = [q["id"] for q in ws.store.select(QUOTE, "number = ?", (quote["number"],), fields=["number"])]
    found = {quote["opportunity_id"]} if quote["opportunity_id"] else set()
    marks = ", ".join("?" for _ in revisions)
    for entity in (ORDER, CONTRACT):
        found |= {
            r["id"] for r in ws.store.select(entity, f"quote_id IN ({marks})", revisions, fields=["quote_id"])
        }
    return found


def estimate(ws: Workspace, quote_ref: str | None = None, rep: str | None = None) -> Estimate:
    """Offline: what the rep has earned so far in the current plan period, and with a quote what it
    would add if it were won as it stands (its net, by the plan's rates and the deal's splits)."""
    quote = quotes.resolve(ws, quote_ref) if quote_ref else None
    who = _name(rep, "rep") or (quote["owner"] if quote and quote["owner"] else None) or authority.user(ws)
    plan, assignment = _assignment(ws, who, local_today())
    rule = plan_of(plan)
    period = parse_period(plan["period"])
    found = deals(ws, rule.basis, period)
    before = rules.calculate(rule, who, assignment["target"], found)
    result = Estimate(who, plan, assignment["target"], rule.currency, before)
    if quote is not None:
        result.quote = quote
        # What the quote already counts as (its won deal, its order, its contract) is replaced by it.
        mine = _counted_as(ws, quote)
        without = [d for d in found if d.source_id not in mine]
        result.before = rules.calculate(rule, who, assignment["target"], without)
        extra = _quote_deal(ws, quote, rule.currency)
        result.after = rules.calculate(rule, who, assignment["target"], [*without, extra])
    return result


def quote_estimate_text(ws: Workspace, quote_id: str) -> str | None:
    """One line for the quote editor: what the quote adds to its owner's commission; None when no
    plan is assigned to them (no incentives in use: nothing to show)."""
    try:
        return "Commission: " + estimate(ws, quote_id).sentence()
    except NotFoundError:
        return None
    except (ValidationError, StateError) as exc:
        return f"Commission: {exc}"
