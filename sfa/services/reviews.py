"""Performance reviews (issue 14 §4, docs/policy.md): the reviewer writes and shares; the rep may
only acknowledge. One review per rep and period (a derived id)."""

from __future__ import annotations

import json
from typing import Any

from sfa.domain import policy as policy_rules
from sfa.domain.entities import REVIEW, TARGET, TARGET_METRICS
from sfa.domain.errors import NotAllowedError, NotFoundError, StateError, ValidationError
from sfa.domain.money import format_money
from sfa.domain.targets import parse_period
from sfa.domain.text import check_text
from sfa.services import authority, targets
from sfa.store.db import Record
from sfa.store.workspace import Workspace

TEXTS = ("strengths", "improvements", "goals")


def review_id(rep: str, period: str) -> str:
    return policy_rules.stable_id("review", rep, period)


def facts_lines(ws: Workspace, rep: str, period_text: str) -> list[str]:
    """The period's facts for the rep, as this laptop's data has them (comments of the template)."""
    period = parse_period(period_text)
    goals = {t["metric"]: t for t in ws.store.select(TARGET, "period = ? AND owner = ?", (period.name, rep))}
    lines = []
    for metric in TARGET_METRICS:
        target = goals.get(metric)
        currency = (
            target["currency"] if target else (ws.setting("currency") if metric == "won_amount" else None)
        )
        facts = targets.facts(ws, metric, period)
        actual = sum(
            (f.amount for f in facts if f.owner == rep and (currency is None or f.currency == currency)),
            targets.ZERO,
        )
        shown = format_money(actual, currency) if currency else str(actual)
        line = f"{metric}: actual {shown}"
        if target:
            goal = format_money(target["value"], currency) if currency else str(target["value"])
            percent = f", {actual * 100 / target['value']:.1f} %" if target["value"] else ""
            line += f", target {goal}{percent}"
        lines.append(line)
    return lines


def template(ws: Workspace, rep: str, period: str) -> str:
    existing = ws.store.find(REVIEW, review_id(rep, parse_period(period).name))
    scores: dict[str, int] = json.loads(existing["scores"]) if existing and existing["scores"] else {}
    out = [f"# Review of {rep} for {parse_period(period).name}. Facts from this laptop's data:"]
    out += [f"#   {line}" for line in facts_lines(ws, rep, period)]
    out.append("")
    for name in TEXTS:
        out += [f'{name} = """', str((existing or {}).get(name) or ""), '"""']
    out += ["", "# Scores 1..5 per metric (leave out what you do not score).", "[scores]"]
    out += [f"{m} = {scores[m]}" if m in scores else f"# {m} = 3" for m in TARGET_METRICS]
    return "\n".join(out) + "\n"


def parse(text: str) -> Record:
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError("review", f"not valid TOML: {exc}") from None
    unknown = set(data) - {"scores", *TEXTS}
    if unknown:
        raise ValidationError(sorted(unknown)[0], "is not part of a review")
    raw_scores = data.get("scores", {})
    if not isinstance(raw_scores, dict):
        raise ValidationError("scores", "give [scores] with metric = 1..5")
    scores: dict[str, int] = {}
    for metric, score in raw_scores.items():
        if metric not in TARGET_METRICS:
            raise ValidationError(f"scores.{metric}", f"is not a metric; use {', '.join(TARGET_METRICS)}")
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise ValidationError(f"scores.{metric}", "must be a whole number 1..5")
        scores[metric] = score
    values: Record = {"scores": json.dumps(scores, sort_keys=True) if scores else None}
    for name in TEXTS:
        value = data.get(name, "")
        if not isinstance(value, str):
            raise ValidationError(name, "must be text")
        values[name] = check_text(name, value.strip()) or None
    return values


def write(ws: Workspace, rep: str, period: str, team: str | None, text: str) -> Record:
    rep = " ".join(check_text("rep", rep).split())
    if not rep:
        raise ValidationError("rep", "is required")
    name = parse_period(period).name
    if team is None:
        team = authority.my_team(ws)
    authority.require_manager(ws, "reviews", team=team)
    values = parse(text)
    record_id = review_id(rep, name)
    me = authority.user(ws)
    with ws.store.transaction():
        existing = ws.store.find(REVIEW, record_id)
        if existing is None:
            return ws.store.insert(
                REVIEW,
                {
                    **values,
                    "rep": rep,
                    "period": name,
                    "reviewer": me,
                    "status": "draft",
                    "owner": rep,
                    "team": team,
                },
                record_id=record_id,
            )
        if existing["reviewer"] != me and authority.role(ws) not in (None, "admin"):
            raise NotAllowedError(
                f"review of {rep} for {name}: only its reviewer ({existing['reviewer']}) writes it"
            )
        if existing["status"] == "acknowledged":
            raise StateError(f"review of {rep} for {name} is acknowledged; it is closed")
        changes = {k: v for k, v in values.items() if existing.get(k) != v}
        return ws.store.update(REVIEW, record_id, changes) if changes else existing


def resolve(ws: Workspace, ref: str) -> Record:
    return ws.store.resolve(REVIEW, ref)


def share(ws: Workspace, ref: str) -> Record:
    review = resolve(ws, ref)
    me = authority.user(ws)
    if review["reviewer"] != me and authority.role(ws) not in (None, "admin"):
        raise NotAllowedError(f"only the reviewer ({review['reviewer']}) shares this review")
    if review["status"] != "draft":
        raise StateError(f"the review is already {review['status']}")
    return ws.store.update(REVIEW, review["id"], {"status": "shared"})


def acknowledge(ws: Workspace, ref: str) -> Record:
    review = resolve(ws, ref)
    me = authority.user(ws)
    if review["rep"] != me and authority.role(ws) is not None:
        raise NotAllowedError(f"only {review['rep']}, the rep reviewed, acknowledges this review")
    if review["status"] != "shared":
        state = "not shared yet" if review["status"] == "draft" else "already acknowledged"
        raise StateError(f"the review is {state}")
    return ws.store.update(REVIEW, review["id"], {"status": "acknowledged"})


def listing(ws: Workspace) -> list[Record]:
    """Reviews this user may read: a rep sees their own once shared (a draft is the reviewer's)."""
    rows = ws.store.select(REVIEW, order="period DESC, rep")
    if authority.role(ws) == "rep":
        me = authority.user(ws)
        rows = [r for r in rows if r["rep"] == me and r["status"] != "draft"]
    return rows


def get_visible(ws: Workspace, ref: str) -> Record:
    review = resolve(ws, ref)
    if authority.role(ws) == "rep" and review["status"] == "draft":
        raise NotFoundError(f"no review matches {ref!r}")
    return review


def as_dict(review: Record) -> dict[str, Any]:
    return {**review, "scores": json.loads(review["scores"]) if review["scores"] else {}}
