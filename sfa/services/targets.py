"""Targets and attainment (issue 14 §4, docs/policy.md): the use cases behind `sfa target ...` and
`sfa report attainment`. Actuals are computed on read from what this laptop holds."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sfa.domain import ids
from sfa.domain import policy as policy_rules
from sfa.domain.dates import iso_utc, local_today
from sfa.domain.entities import (
    ACCOUNT,
    OPPORTUNITY,
    PRODUCT,
    QUOTE,
    QUOTE_LINE,
    TARGET,
    TARGET_METRICS,
    VISIT,
)
from sfa.domain.errors import ValidationError
from sfa.domain.money import MAX_AMOUNT, parse_amount, parse_currency, round_money
from sfa.domain.quotes import Line, line_net
from sfa.domain.stages import LOST, WON
from sfa.domain.targets import (
    AMOUNT_METRICS,
    Attainment,
    Period,
    Segment,
    parse_period,
    parse_segment,
    quarter_of,
    segment_problem,
)
from sfa.domain.text import check_text
from sfa.services import authority
from sfa.store.db import Record
from sfa.store.workspace import Workspace

ZERO = Decimal(0)


def period_or_current(text: str | None) -> Period:
    return parse_period(text) if text else quarter_of(local_today())


def _metric(text: str) -> str:
    metric = text.strip().lower().replace("-", "_")
    if metric not in TARGET_METRICS:
        raise ValidationError("metric", f"{text!r}; use one of {', '.join(TARGET_METRICS)}")
    return metric


def _value(text: str, metric: str, field: str) -> Decimal:
    value = parse_amount(text, field, limit=MAX_AMOUNT)
    if metric not in AMOUNT_METRICS and value != value.to_integral_value():
        raise ValidationError(field, f"{text!r}: {metric} counts; give a whole number")
    return value


def _name(text: str | None, field: str) -> str | None:
    if text is None:
        return None
    value = " ".join(check_text(field, text).split())
    return value or None


@dataclass(frozen=True)
class TargetInput:
    owner: str | None
    team: str | None
    period: str
    metric: str
    value: str
    stretch: str | None = None
    currency: str | None = None
    segment: str | None = None


def _values(ws: Workspace, given: TargetInput) -> Record:
    owner = _name(given.owner, "owner")
    team = _name(given.team, "team")
    if team is None:
        team = authority.my_team(ws) if authority.role(ws) == "manager" else ws.team
    if owner is None and team is None:
        raise ValidationError(
            "owner", "give the rep or the team: whose target is it?", asks_for=("owner", "team")
        )
    metric = _metric(given.metric)
    period = parse_period(given.period).name
    value = _value(given.value, metric, "value")
    stretch = _value(given.stretch, metric, "stretch") if given.stretch else None
    if stretch is not None and stretch < value:
        raise ValidationError("stretch", "must be at least the value")
    currency = None
    if metric in AMOUNT_METRICS:
        currency = parse_currency(given.currency) if given.currency else ws.setting("currency")
    segment = parse_segment(_name(given.segment, "segment"))
    problem = segment_problem(segment, metric) if segment is not None else None
    if problem is not None:
        raise ValidationError("segment", problem)
    return {
        "owner": owner,
        "team": team,
        "period": period,
        "metric": metric,
        "value": value,
        "stretch": stretch,
        "currency": currency,
        "segment": segment.text if segment is not None else None,
    }


def _target_id(values: Record) -> str:
    # One target per subject, period, metric and segment on every laptop: two managers setting it
    # offline meet as one record; differing values are a flagged conflict.
    parts = [
        values["owner"] or "",
        values["team"] or "",
        values["period"],
        values["metric"],
        _segment_key(values["segment"]),
    ]
    return policy_rules.stable_id("target", *parts)


def _segment_key(text: str | None) -> str:
    """The segment as the target's id takes it: an industry by its bare name, as targets stored it
    before the segment kinds, so re-setting one of those changes it instead of adding another."""
    segment = parse_segment(text)
    if segment is None:
        return ""
    return segment.value if segment.kind == "industry" else segment.text


def _write(ws: Workspace, values: Record) -> Record:
    record_id = _target_id(values)
    existing = ws.store.find(TARGET, record_id)
    if existing is None:
        return ws.store.insert(TARGET, values, record_id=record_id)
    changes = {k: v for k, v in values.items() if existing.get(k) != v}
    if existing["deleted"]:
        changes["deleted"] = False
    return ws.store.update(TARGET, record_id, changes) if changes else existing


def set_target(ws: Workspace, given: TargetInput) -> Record:
    values = _values(ws, given)
    authority.require_manager(ws, "targets", team=values["team"])
    with ws.store.transaction():
        return _write(ws, values)


def import_csv(ws: Workspace, path: Path) -> list[Record]:
    """All rows or none: every row is checked before anything is written. Columns: owner, team,
    period, metric, value, stretch, currency, segment (owner or team required)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValidationError("file", f"cannot read {path}: {exc}") from None
    checked = []
    for number, row in enumerate(rows, 2):
        try:
            for column in ("period", "metric", "value"):
                if not (row.get(column) or "").strip():
                    raise ValidationError(column, "is required")
            given = TargetInput(
                row.get("owner") or None,
                row.get("team") or None,
                row["period"],
                row["metric"],
                row["value"],
                row.get("stretch") or None,
                row.get("currency") or None,
                row.get("segment") or None,
            )
            values = _values(ws, given)
            authority.require_manager(ws, "targets", team=values["team"])
        except ValidationError as exc:
            raise ValidationError(f"line {number}: {exc.field}", str(exc).split(": ", 1)[1]) from None
        checked.append(values)
    if not checked:
        raise ValidationError(
            "file", f"{path} has no target rows (header: owner,team,period,metric,value,...)"
        )
    with ws.store.transaction():
        return [_write(ws, values) for values in checked]


def list_targets(ws: Workspace, period: str | None) -> list[Record]:
    where, params = ("period = ?", (parse_period(period).name,)) if period else ("", ())
    return ws.store.select(TARGET, where, params, order="period, team, owner, metric")


# -- actuals -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    owner: str | None
    team: str | None
    amount: Decimal
    currency: str | None
    account_id: str | None
    # For segments: the record counted (an opportunity, a quote, ...), and the day that decides new
    # or existing business (a deal's creation, a visit's, a quote's sending).
    record_id: str | None = None
    source: str = ""
    day: date | None = None


def _created_day(record: Record) -> date:
    """When a record was made: its UUIDv7 id's time (the same on every laptop), else created_at."""
    record_id = str(record["id"])
    if _is_uuid7(record_id):
        stamp = datetime.fromtimestamp(ids.timestamp_ms_of(record_id) / 1000, tz=UTC)
    else:
        stamp = datetime.fromisoformat(str(record["created_at"]))
        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return stamp.astimezone().date()


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone().date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).astimezone().date()


def _grouped_facts(ws: Workspace, metric: str, period: Period) -> list[Fact] | None:
    """Facts summed in SQL per owner, team and currency (no account: no segment), for the metrics
    that read the big opportunity table; None for the others."""
    if metric == "won_amount":
        groups = ws.store.grouped_sums(
            OPPORTUNITY,
            ("owner", "team", "currency"),
            "amount",
            "stage = ? AND coalesce(close_date, substr(updated_at, 1, 10)) >= ?"
            " AND coalesce(close_date, substr(updated_at, 1, 10)) < ?",
            (WON, period.start.isoformat(), period.end.isoformat()),
        )
        return [Fact(owner, team, total, currency, None) for (owner, team, currency), _n, total in groups]
    if metric == "new_opportunities":
        counts: dict[tuple[str | None, str | None], int] = {}
        low, high = _local_ms(period.start), _local_ms(period.end)
        for record_id, _name, owner, team in ws.store.key_rows(OPPORTUNITY, ("owner", "team")):
            if not _is_uuid7(record_id):
                return None  # an id without its time: the per-record path reads created_at
            if low <= int(record_id[:8] + record_id[9:13], 16) < high:  # the UUIDv7's milliseconds
                counts[(owner, team)] = counts.get((owner, team), 0) + 1
        return [Fact(owner, team, Decimal(n), None, None) for (owner, team), n in counts.items()]
    return None


def _local_ms(day: date) -> int:
    """Milliseconds since the epoch at the local midnight that starts `day`."""
    return int(datetime(day.year, day.month, day.day).astimezone().timestamp() * 1000)


def _is_uuid7(record_id: str) -> bool:
    return len(record_id) == 36 and record_id[14] == "7"


def facts(ws: Workspace, metric: str, period: Period, *, per_account: bool = True) -> list[Fact]:
    """The facts of a metric in the period; `per_account` False allows sums per owner and team."""
    if not per_account:
        grouped = _grouped_facts(ws, metric, period)
        if grouped is not None:
            return grouped
    if metric == "won_amount":
        opps = ws.store.select(
            OPPORTUNITY,
            "stage = ?",
            (WON,),
            fields=["owner", "team", "amount", "currency", "close_date", "account_id"],
        )
        return [
            Fact(
                o["owner"],
                o["team"],
                o["amount"] or ZERO,
                o["currency"],
                o["account_id"],
                o["id"],
                "opportunity",
                _created_day(o),
            )
            for o in opps
            if period.holds(o["close_date"] or _day(o["updated_at"]) or date.min)
        ]
    if metric == "new_opportunities":
        opps = ws.store.select(OPPORTUNITY, fields=["owner", "team", "account_id"])
        found = []
        for o in opps:
            created = _created_day(o)
            if period.holds(created):
                found.append(
                    Fact(
                        o["owner"],
                        o["team"],
                        Decimal(1),
                        None,
                        o["account_id"],
                        o["id"],
                        "opportunity",
                        created,
                    )
                )
        return found
    if metric == "new_accounts":
        accounts = ws.store.select(ACCOUNT, fields=["owner", "team"])
        return [
            Fact(a["owner"], a["team"], Decimal(1), None, a["id"], a["id"], "account", _created_day(a))
            for a in accounts
            if period.holds(_created_day(a))
        ]
    if metric == "visits_done":
        visits = ws.store.select(
            VISIT,
            "status = 'done' AND starts_at >= ? AND starts_at < ?",
            (_iso(period.start), _iso(period.end)),
            fields=["owner", "team", "account_id", "starts_at"],
        )
        return [
            Fact(
                v["owner"],
                v["team"],
                Decimal(1),
                None,
                v["account_id"],
                v["id"],
                "visit",
                _day(v["starts_at"]),
            )
            for v in visits
        ]
    quotes = ws.store.select(QUOTE, "sent_at IS NOT NULL", fields=["owner", "team", "account_id", "sent_at"])
    return [
        Fact(q["owner"], q["team"], Decimal(1), None, q["account_id"], q["id"], "quote", _day(q["sent_at"]))
        for q in quotes
        if period.holds(_day(q["sent_at"]) or date.min)
    ]


def _iso(day: date) -> str:
    """The instant a local day starts, in the stored form of datetimes (UTC, Z)."""
    return iso_utc(datetime(day.year, day.month, day.day).astimezone())


def _pipeline(ws: Workspace, period: Period, *, per_account: bool = True) -> list[Fact]:
    where = "stage NOT IN (?, ?) AND close_date >= ? AND close_date < ?"
    params = (WON, LOST, period.start.isoformat(), period.end.isoformat())
    if not per_account:
        keys = ("owner", "team", "currency", "coalesce(probability, 0)")
        groups = ws.store.grouped_sums(OPPORTUNITY, keys, "amount", where, params)
        return [
            Fact(owner, team, total * int(probability) / 100, currency, None)
            for (owner, team, currency, probability), _n, total in groups
        ]
    opps = ws.store.select(
        OPPORTUNITY,
        "stage NOT IN (?, ?) AND close_date >= ? AND close_date < ?",
        (WON, LOST, period.start.isoformat(), period.end.isoformat()),
        fields=["owner", "team", "amount", "currency", "probability", "account_id"],
    )
    return [
        Fact(
            o["owner"],
            o["team"],
            (o["amount"] or ZERO) * (o["probability"] or 0) / 100,
            o["currency"],
            o["account_id"],
            o["id"],
            "opportunity",
            _created_day(o),
        )
        for o in opps
    ]


class Segments:
    """What cutting facts by segment needs, read once per report (docs/policy.md, "Targets"):
    each account's industry, each account's won deals (for new vs existing business), and the
    product family mix of deals and quotes (from quote lines and their products)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.industries = {a["id"]: a["industry"] for a in ws.store.select(ACCOUNT, fields=["industry"])}
        self.won: dict[str, list[tuple[date, str]]] = {}
        for o in ws.store.select(OPPORTUNITY, "stage = ?", (WON,), fields=["account_id", "close_date"]):
            day = o["close_date"] or _day(o["updated_at"]) or date.min
            self.won.setdefault(o["account_id"], []).append((day, o["id"]))
        self._mixes: dict[str, dict[str, Decimal]] | None = None
        self._deal_quote: dict[str, str] = {}

    def existing(self, fact: Fact) -> bool:
        """The fact's account had another deal won before the fact's day."""
        if fact.day is None:
            return False
        return any(
            day < fact.day and deal != fact.record_id for day, deal in self.won.get(fact.account_id or "", [])
        )

    def _load_mixes(self) -> dict[str, dict[str, Decimal]]:
        """quote id -> {family (folded): share of the quote's net}; and which quote stands for
        each deal: its accepted one, else its latest sent, else its latest (by number and revision)."""
        if self._mixes is not None:
            return self._mixes
        families = {
            p["id"]: (p["family"] or "").strip().casefold()
            for p in self.ws.store.select(PRODUCT, include_deleted=True, fields=["family"])
        }
        quotes = self.ws.store.select(
            QUOTE, fields=["opportunity_id", "status", "sent_at", "number", "revision", "currency"]
        )
        rank = {"accepted": 3, "sent": 2}
        best: dict[str, tuple[Any, ...]] = {}
        for q in quotes:
            if q["opportunity_id"]:
                key = (
                    rank.get(q["status"] or "", 1),
                    str(q["sent_at"] or ""),
                    q["number"],
                    q["revision"] or 0,
                )
                if q["opportunity_id"] not in best or key > best[q["opportunity_id"]][0]:
                    best[q["opportunity_id"]] = (key, q["id"])
        self._deal_quote = {deal: entry[1] for deal, entry in best.items()}
        currencies = {q["id"]: q["currency"] or "EUR" for q in quotes}
        nets: dict[str, dict[str, Decimal]] = {}
        lines = self.ws.store.select(
            QUOTE_LINE,
            fields=[
                "quote_id",
                "product_id",
                "quantity",
                "unit_price",
                "discount_percent",
                "discount_amount",
            ],
        )
        for line in lines:
            if line["quote_id"] not in currencies:
                continue
            net = line_net(
                Line(
                    line["quantity"] or ZERO,
                    line["unit_price"] or ZERO,
                    line["discount_percent"],
                    line["discount_amount"],
                ),
                currencies[line["quote_id"]],
            )
            family = families.get(line["product_id"] or "", "")
            mix = nets.setdefault(line["quote_id"], {})
            mix[family] = mix.get(family, ZERO) + net
        self._mixes = {}
        for quote_id, mix in nets.items():
            whole = sum(mix.values(), ZERO)
            if whole > 0:
                self._mixes[quote_id] = {family: net / whole for family, net in mix.items() if net > 0}
        return self._mixes

    def family_share(self, fact: Fact, family: str) -> Decimal:
        mixes = self._load_mixes()
        quote_id = fact.record_id if fact.source == "quote" else self._deal_quote.get(fact.record_id or "")
        return mixes.get(quote_id or "", {}).get(family.casefold(), ZERO)

    def weight(self, fact: Fact, segment: Segment, proportional: bool) -> Decimal:
        """How much of the fact counts in the segment: 1 or 0, or for an amount cut by product
        family the share of the family in the deal's quote."""
        if segment.kind == "industry":
            industry = self.industries.get(fact.account_id or "")
            return Decimal(1) if (industry or "").casefold() == segment.value.casefold() else ZERO
        if segment.kind == "business":
            return Decimal(1) if self.existing(fact) == (segment.value == "existing") else ZERO
        share = self.family_share(fact, segment.value)
        if proportional:
            return share
        return Decimal(1) if share > 0 else ZERO


def _sum(
    found: Iterable[Fact],
    *,
    owner: str | None,
    team: str | None,
    currency: str | None,
    segments: Segments | None,
    segment: str | None,
    proportional: bool = False,
) -> Decimal:
    cut = parse_segment(segment) if segment and segments is not None else None
    total = ZERO
    for fact in found:
        if owner is not None and fact.owner != owner:
            continue
        if owner is None and team is not None and fact.team != team:
            continue
        if currency is not None and fact.currency != currency:
            continue
        if cut is not None and segments is not None:
            weight = segments.weight(fact, cut, proportional)
            if not weight:
                continue
            if weight != 1:
                total += round_money(fact.amount * weight, fact.currency or "EUR")
                continue
        total += fact.amount
    return total


class _Totals:
    """A metric's facts summed once by (owner, currency) and (team, currency), currency None
    meaning any: a row is a lookup, not a pass over 20,000 facts. A segment sums the slow way."""

    def __init__(self, found: list[Fact], proportional: bool = False) -> None:
        self.found = found
        self.proportional = proportional  # amounts: a product family counts its share of a deal
        self.by_owner: dict[tuple[str | None, str | None], Decimal] = {}
        self.by_team: dict[tuple[str | None, str | None], Decimal] = {}
        for fact in found:
            for index, key in ((self.by_owner, fact.owner), (self.by_team, fact.team)):
                for currency in {fact.currency, None}:
                    index[(key, currency)] = index.get((key, currency), ZERO) + fact.amount

    def total(
        self,
        owner: str | None,
        team: str | None,
        currency: str | None,
        segments: Segments | None,
        segment: str | None,
    ) -> Decimal:
        if segment:
            return _sum(
                self.found,
                owner=owner,
                team=team,
                currency=currency,
                segments=segments,
                segment=segment,
                proportional=self.proportional,
            )
        if owner is not None:
            return self.by_owner.get((owner, currency), ZERO)
        if team is not None:
            return self.by_team.get((team, currency), ZERO)
        return sum((f.amount for f in self.found if currency is None or f.currency == currency), ZERO)


def attainment(
    ws: Workspace,
    period_text: str | None,
    by: str,
    *,
    owner: str | None = None,
    team: str | frozenset[str] | None = None,
) -> tuple[Period, list[Attainment]]:
    """Rows per target of the period; `owner` / `team` keep that rep's / that team's targets
    (`team` a set: the teams of a territory's subtree, `report attainment --territory`)."""
    if by not in ("owner", "team"):
        raise ValidationError("by", f"{by!r}; use owner or team")
    period = period_or_current(period_text)
    targets = ws.store.select(TARGET, "period = ?", (period.name,), order="team, owner, metric, segment")
    if owner is not None:
        targets = [t for t in targets if t["owner"] == owner]
    if isinstance(team, frozenset):
        targets = [t for t in targets if t["team"] in team]
    elif team is not None:
        targets = [t for t in targets if t["team"] == team]
    cache: dict[str, _Totals] = {}
    segmented = any(t["segment"] for t in targets)
    segments = Segments(ws) if segmented else None
    pipeline = _Totals(_pipeline(ws, period, per_account=segmented), proportional=True)

    def actual(
        metric: str, owner: str | None, team: str | None, currency: str | None, segment: str | None
    ) -> Decimal:
        if metric not in cache:
            found = facts(ws, metric, period, per_account=segmented)
            cache[metric] = _Totals(found, proportional=metric in AMOUNT_METRICS)
        return cache[metric].total(owner, team, currency, segments, segment)

    def weighted(owner: str | None, team: str | None, currency: str | None, segment: str | None) -> Decimal:
        return pipeline.total(owner, team, currency, segments, segment)

    rows: list[Attainment] = []
    if by == "owner":
        for t in targets:
            if t["owner"] is None:
                continue
            rows.append(_row(t["owner"], t, actual, weighted, t["owner"], None))
        return period, rows
    explicit = {
        (t["team"], t["metric"], t["segment"]): t for t in targets if t["owner"] is None and t["team"]
    }
    summed: dict[tuple[str, str, str | None], list[Record]] = {}
    for t in targets:
        if t["owner"] is not None and t["team"]:
            summed.setdefault((t["team"], t["metric"], t["segment"]), []).append(t)
    for key in sorted(set(explicit) | set(summed), key=lambda k: (k[0], k[1], k[2] or "")):
        team, metric, segment = key
        if key in explicit:
            rows.append(_row(f"team {team}", explicit[key], actual, weighted, None, team))
            continue
        members = summed[key]
        currency = members[0]["currency"]
        same = [m for m in members if m["currency"] == currency]
        stretches = [m["stretch"] for m in same if m["stretch"] is not None]
        rows.append(
            Attainment(
                f"team {team}",
                metric,
                currency,
                sum((m["value"] for m in same), ZERO),
                sum(stretches, ZERO) if stretches else None,
                actual(metric, None, team, currency, segment),
                weighted(None, team, currency, segment) if metric in AMOUNT_METRICS else ZERO,
                explicit=False,
                segment=segment,
            )
        )
    return period, rows


def _row(
    subject: str, target: Record, actual: Any, weighted: Any, owner: str | None, team: str | None
) -> Attainment:
    metric, currency, segment = target["metric"], target["currency"], target["segment"]
    return Attainment(
        subject if not segment else f"{subject} ({segment})",
        metric,
        currency,
        target["value"],
        target["stretch"],
        actual(metric, owner, team, currency, segment),
        weighted(owner, team, currency, segment) if metric in AMOUNT_METRICS else ZERO,
        segment=segment,
    )
