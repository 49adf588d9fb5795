"""`sfa report win-loss --by ...` over the store (issue 16 §3): the decided deals, what each is
grouped by, its cycle time and stage lost at from the stage changes, and the discounts of its
accepted quotes. Arithmetic in sfa/domain/winloss.py; design in docs/prediction.md, "Win/loss".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from sfa.domain import quotes as quote_rules
from sfa.domain import winloss
from sfa.domain.entities import ACCOUNT, LEAD, OPPORTUNITY, QUOTE, QUOTE_LINE
from sfa.domain.stages import LOST, WON
from sfa.services import competitors, forecasting
from sfa.services.reports import Teams, decided_since_clause, scoped
from sfa.store.db import Record
from sfa.store.workspace import Workspace

SOURCE_TAG = "source:"


def report(
    ws: Workspace,
    by: str,
    since: date | None = None,
    *,
    owner: str | None = None,
    team: Teams = None,
) -> list[winloss.Group]:
    by = winloss.check_dimension(by)
    where, params = scoped(*decided_since_clause(since), owner, team)
    fields = [
        "stage",
        "amount",
        "owner",
        "team",
        "account_id",
        "competitors",
        "lost_to",
        "close_date",
        "tags",
    ]
    opps = ws.store.select(OPPORTUNITY, where, params, fields=fields)
    if not opps:
        return []
    wanted = {o["id"] for o in opps}
    steps = {d.id: d for d in forecasting.histories(ws) if d.id in wanted}
    labels = _labels(ws, by)
    discounts = _discounts(ws, [o["id"] for o in opps if o["stage"] == WON])
    deals = []
    for opp in opps:
        history = steps.get(opp["id"])
        created = history.created if history else opp["created_at"].date()
        closed = opp["close_date"] or created
        lost_at = None
        if history is not None and len(history.steps) >= 2 and history.steps[-1].stage in (WON, LOST):
            closed = history.steps[-1].at
            lost_at = history.steps[-2].stage
        deals.append(
            winloss.Decided(
                won=opp["stage"] == WON,
                groups=labels(opp, lost_at),
                cycle_days=max(0, (closed - created).days),
                lost_at=lost_at if opp["stage"] == LOST else None,
                discounts=tuple(discounts.get(opp["id"], ())),
            )
        )
    groups = winloss.win_loss(deals)
    if by == "stage":  # in the pipeline's order, unknown stages last
        order = {s.name: i for i, s in enumerate(ws.stages)}
        groups.sort(key=lambda g: order.get(g.name, len(order)))
    return groups


Labeller = Callable[[Record, str | None], tuple[str, ...]]


def _labels(ws: Workspace, by: str) -> Labeller:
    """What each deal is grouped by: a function of the deal and the stage it was decided in."""
    if by == "competitor":
        names = competitors.names(ws)

        def by_competitor(opp: Record, _stage: str | None) -> tuple[str, ...]:
            met = set(opp["competitors"] or [])
            if opp["lost_to"]:
                met.add(opp["lost_to"])
            return tuple(sorted({names.get(i, i) for i in met}))

        return by_competitor
    if by == "stage":
        return lambda opp, stage: (stage or winloss.UNKNOWN,)
    if by in ("owner", "team"):
        return lambda opp, _stage: (opp[by] or winloss.NONE,)
    if by == "size":
        return lambda opp, _stage: (winloss.size_band(opp["amount"]),)
    if by == "industry":
        industries = {
            r["id"]: r["industry"]
            for r in ws.store.select(ACCOUNT, include_deleted=True, fields=["industry"])
            if r["industry"]
        }
        return lambda opp, _stage: (industries.get(opp["account_id"]) or winloss.NONE,)
    # source: the lead the deal was converted from, else a "source:..." tag
    sources: dict[str, str] = {}
    for lead in ws.store.select(
        LEAD, "opportunity_id IS NOT NULL", include_deleted=True, fields=["opportunity_id", "source"]
    ):
        if lead["source"]:
            sources[lead["opportunity_id"]] = lead["source"].strip().lower()

    def by_source(opp: Record, _stage: str | None) -> tuple[str, ...]:
        found = sources.get(opp["id"])
        if found is None:
            tags = [t[len(SOURCE_TAG) :] for t in opp["tags"] or [] if t.startswith(SOURCE_TAG)]
            found = tags[0] if tags else winloss.NONE
        return (found,)

    return by_source


def _discounts(ws: Workspace, won_ids: list[str]) -> dict[str, list[Decimal]]:
    """Won deal id → percent off list of each of its accepted quotes."""
    if not won_ids:
        return {}
    won = set(won_ids)
    accepted = {
        q["id"]: q["opportunity_id"]
        for q in ws.store.select(QUOTE, "status = 'accepted'", fields=["opportunity_id"])
        if q["opportunity_id"] in won
    }
    lines: dict[str, list[tuple[Decimal, Decimal]]] = defaultdict(list)
    for quote_ids in _chunks(sorted(accepted)):
        marks = ", ".join("?" * len(quote_ids))
        for row in ws.store.select(
            QUOTE_LINE,
            f"quote_id IN ({marks}) AND deleted = 0",
            quote_ids,
            fields=["quote_id", "quantity", "unit_price", "discount_percent", "discount_amount"],
        ):
            line = quote_rules.Line(
                row["quantity"], row["unit_price"], row["discount_percent"], row["discount_amount"]
            )
            lines[row["quote_id"]].append((quote_rules.line_gross(line), quote_rules.line_discount(line)))
    result: dict[str, list[Decimal]] = defaultdict(list)
    for quote_id, opp_id in accepted.items():
        percent = winloss.discount_percent(lines.get(quote_id, []))
        if percent is not None:
            result[opp_id].append(percent)
    return result


def _chunks(values: list[str], size: int = 500) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]
