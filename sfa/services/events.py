"""Events and campaigns: `sfa event ...`, booth capture, the event report (docs/products.md).

A campaign is one record; each person invited to or met at it is one `campaign_member` row, so
several reps capturing at one booth never touch the same record. Capture runs the lead duplicate
check: a known contact or lead is linked, anybody else becomes a lead with the campaign as source.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sfa.domain import normalize
from sfa.domain.dates import local_today, parse_date, utc_now
from sfa.domain.entities import (
    CAMPAIGN,
    CAMPAIGN_KINDS,
    CAMPAIGN_MEMBER,
    CONTACT,
    LEAD,
    LEAD_RATINGS,
    OPPORTUNITY,
    TASK,
)
from sfa.domain.errors import NotFoundError, ValidationError
from sfa.domain.money import parse_amount
from sfa.domain.stages import LOST, WON
from sfa.domain.text import check_text
from sfa.services import leads, records, tasks
from sfa.store.db import Record
from sfa.store.workspace import Workspace


def _kind(text: str) -> str:
    kind = "-".join(text.strip().lower().split())
    if kind not in CAMPAIGN_KINDS:
        raise ValidationError("kind", f"{text!r}: use one of {', '.join(CAMPAIGN_KINDS)}")
    return kind


def _values(ws: Workspace, raw: dict[str, Any]) -> Record:
    values: Record = {}
    for key, value in raw.items():
        if value is None:
            continue
        if key == "kind":
            values["kind"] = _kind(value)
        elif key in ("starts_on", "ends_on"):
            values[key] = parse_date(value, "from" if key == "starts_on" else "to") if value.strip() else None
        elif key in ("budget", "actual_cost"):
            field = "budget" if key == "budget" else "cost"
            values[key] = parse_amount(value, field) if value.strip() else None
        else:
            values.update(records.clean(ws, CAMPAIGN, {key: value}, creating=False))
    start, end = values.get("starts_on"), values.get("ends_on")
    if isinstance(start, date) and isinstance(end, date) and end < start:
        raise ValidationError("to", f"{end} is before the start {start}", asks_for=("from",))
    return values


def add_event(ws: Workspace, raw: dict[str, Any]) -> Record:
    values = _values(ws, raw)
    for required in ("name", "kind", "starts_on"):
        if values.get(required) in (None, ""):
            raise ValidationError({"starts_on": "from"}.get(required, required), "is required")
    values.setdefault("status", "planned")
    values.setdefault("currency", ws.setting("currency"))
    return ws.store.insert(CAMPAIGN, {**records.scope_defaults(ws), **values})


def resolve(ws: Workspace, ref: str) -> Record:
    """An event by short ref, or by its name (the latest of that name)."""
    text = ref.strip()
    by_name = ws.store.select(CAMPAIGN, "name = ? COLLATE NOCASE", (text,), order="starts_on DESC", limit=1)
    if by_name:
        return by_name[0]
    try:
        return ws.store.resolve(CAMPAIGN, text)
    except (NotFoundError, ValidationError):
        raise NotFoundError(f"no event named or with ref {ref!r} (see `sfa event list`)") from None


def edit_event(ws: Workspace, ref: str, raw: dict[str, Any]) -> Record:
    event = resolve(ws, ref)
    values = _values(ws, raw)
    if not values:
        raise ValidationError("event", "nothing to change; give at least one option")
    start = values.get("starts_on", event["starts_on"])
    end = values.get("ends_on", event["ends_on"])
    if start is not None and end is not None and end < start:
        raise ValidationError("to", f"{end} is before the start {start}")
    return ws.store.update(CAMPAIGN, event["id"], values)


def list_events(ws: Workspace, *, upcoming: bool = False, limit: int | None = None) -> list[Record]:
    if upcoming:
        today = local_today().isoformat()
        return ws.store.select(
            CAMPAIGN,
            "coalesce(ends_on, starts_on) >= ? AND status != 'cancelled'",
            (today,),
            order="starts_on, rid",
            limit=limit,
        )
    return ws.store.select(CAMPAIGN, order="starts_on DESC, rid DESC", limit=limit)


def on_day(ws: Workspace, day: date) -> list[Record]:
    """Events running on `day` (not cancelled): for `sfa today`."""
    iso = day.isoformat()
    return ws.store.select(
        CAMPAIGN,
        "starts_on <= ? AND coalesce(ends_on, starts_on) >= ? AND status != 'cancelled'",
        (iso, iso),
        order="starts_on, rid",
    )


def between(ws: Workspace, first: date, last: date) -> list[Record]:
    """Events (not cancelled) running on any day from `first` to `last`: the dashboard's Week."""
    return ws.store.select(
        CAMPAIGN,
        "starts_on <= ? AND coalesce(ends_on, starts_on) >= ? AND status != 'cancelled'",
        (last.isoformat(), first.isoformat()),
        order="starts_on, rid",
    )


def day_labels(ws: Workspace, first: date, last: date) -> dict[date, str]:
    """Per day from `first` to `last` with an event: its events' names (and booth), for the Week."""
    labels: dict[date, list[str]] = {}
    for event in between(ws, first, last):
        start = max(event["starts_on"], first)
        end = min(event["ends_on"] or event["starts_on"], last)
        booth = f" (booth {event['booth']})" if event["booth"] else ""
        day = start
        while day <= end:
            labels.setdefault(day, []).append(f"{event['name']}{booth}")
            day += timedelta(days=1)
    return {day: "event: " + "; ".join(names) for day, names in labels.items()}


def members_of(ws: Workspace, campaign_id: str) -> list[Record]:
    return ws.store.select(CAMPAIGN_MEMBER, "campaign_id = ?", (campaign_id,), order="rid")


def _member(ws: Workspace, campaign_id: str, *, contact_id: str | None, lead_id: str | None) -> Record | None:
    if contact_id:
        rows = ws.store.select(
            CAMPAIGN_MEMBER, "campaign_id = ? AND contact_id = ?", (campaign_id, contact_id)
        )
    else:
        rows = ws.store.select(CAMPAIGN_MEMBER, "campaign_id = ? AND lead_id = ?", (campaign_id, lead_id))
    return rows[0] if rows else None


# -- invite ---------------------------------------------------------------------------------------


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise ValidationError("from", f"{path}: no such file")
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise ValidationError("from", f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise ValidationError("from", f"{path}: cannot be read: {exc.strerror or exc}") from None


def invite(ws: Workspace, ref: str, contacts: Sequence[str] = (), path: Path | None = None) -> dict[str, int]:
    """Invite contacts (refs, or a file of refs or email addresses, one a line): a member row each,
    status invited; people already on the event are left as they are."""
    event = resolve(ws, ref)
    wanted: list[tuple[str, str]] = [("contact", c) for c in contacts]  # (where it came from, item)
    if path is not None:
        for number, line in enumerate(_read_lines(path), start=1):
            cell = line.split(",")[0].strip().strip('"')
            if cell and cell.lower() not in ("email", "contact", "ref"):
                wanted.append((f"from: line {number}", cell))
    if not wanted:
        raise ValidationError("contact", "give a contact or a file of contacts", asks_for=("contact", "from"))
    ids: list[str] = []
    for where, item in wanted:
        field, _, line = where.partition(": ")
        prefix = f"{line}: " if line else ""
        if "@" in item:
            found = ws.store.select(CONTACT, "email_key = ?", (normalize.email_key(item),), limit=1)
            if not found:
                raise ValidationError(field, f"{prefix}no contact with email {item!r}")
            ids.append(found[0]["id"])
        else:
            try:
                ids.append(ws.store.resolve(CONTACT, item)["id"])
            except (NotFoundError, ValidationError):
                if not line:
                    raise
                raise ValidationError(field, f"{prefix}no contact with ref {item!r}") from None
    invited = already = 0
    with ws.store.transaction():
        for contact_id in dict.fromkeys(ids):
            if _member(ws, event["id"], contact_id=contact_id, lead_id=None) is not None:
                already += 1
                continue
            ws.store.insert(
                CAMPAIGN_MEMBER,
                {
                    **records.scope_defaults(ws),
                    "campaign_id": event["id"],
                    "contact_id": contact_id,
                    "status": "invited",
                },
            )
            invited += 1
    return {"invited": invited, "already": already}


# -- capture --------------------------------------------------------------------------------------


@dataclass
class Capture:
    event: Record
    member: Record
    linked: str  # "contact", "lead" (an existing one) or "new lead"
    person: Record
    task: Record


def capture(
    ws: Workspace,
    ref: str,
    name: str,
    *,
    company: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    rating: str | None = None,
    notes: str | None = None,
    event: Record | None = None,
) -> Capture:
    """One person met at the booth: linked to the contact or lead they already are (duplicate
    check), else a new lead from the campaign; their member row marked met; a follow-up task due
    the day after the event."""
    event = event or resolve(ws, ref)
    raw = {"name": name, "company": company, "email": email, "phone": phone, "rating": rating, "notes": notes}
    if rating is not None and rating.strip().lower() not in LEAD_RATINGS:
        raise ValidationError("rating", f"{rating!r}: use one of {', '.join(LEAD_RATINGS)}")
    values = records.clean(ws, LEAD, {k: v for k, v in raw.items() if v is not None}, creating=True)
    found = leads.find_duplicates(ws, values)
    contact = next((d for d in found if d.entity == "contact"), None)
    lead = next((d for d in found if d.entity == "lead"), None)
    with ws.store.transaction():
        if contact is not None:
            person, linked = ws.store.get(CONTACT, contact.record_id), "contact"
            key = {"contact_id": person["id"], "lead_id": None}
        elif lead is not None:
            person, linked = ws.store.get(LEAD, lead.record_id), "lead"
            key = {"contact_id": None, "lead_id": person["id"]}
            if not person.get("campaign_id"):
                person = ws.store.update(LEAD, person["id"], {"campaign_id": event["id"]})
        else:
            source = f"event: {event['name']}"
            person = ws.store.insert(
                LEAD,
                {
                    **records.scope_defaults(ws),
                    **values,
                    "status": "new",
                    "source": source,
                    "campaign_id": event["id"],
                },
            )
            linked = "new lead"
            key = {"contact_id": None, "lead_id": person["id"]}
        now = utc_now()
        member = _member(ws, event["id"], **key)
        member_values = {"status": "met", "captured_at": now, "owner": ws.owner, "team": ws.team}
        if notes:
            member_values["notes"] = check_text("notes", notes.strip())
        if member is None:
            member = ws.store.insert(
                CAMPAIGN_MEMBER,
                {**records.scope_defaults(ws), "campaign_id": event["id"], **key, **member_values},
            )
        else:
            member = ws.store.update(CAMPAIGN_MEMBER, member["id"], member_values)
        due = (event["ends_on"] or event["starts_on"]) + timedelta(days=1)
        title = f"Follow up {person['name']} ({event['name']})"
        link = "contact_id" if key["contact_id"] else "lead_id"
        open_task = ws.store.select(
            TASK, f"{link} = ? AND title = ? AND status = 'open'", (key[link], title), limit=1
        )
        if open_task:  # captured again: the one follow-up stays
            return Capture(event, member, linked, person, open_task[0])
        task = tasks.create_task(
            ws,
            title,
            due=due.isoformat(),
            priority="high" if (rating or "").strip().lower() == "hot" else None,
            contact_id=key["contact_id"],
            lead_id=key["lead_id"],
            account_id=person.get("account_id") if linked == "contact" else None,
        )
    return Capture(event, member, linked, person, task)


BADGE_FIELDS = ("name", "company", "email", "phone", "rating", "notes")


def capture_file(ws: Workspace, ref: str, path: Path) -> list[Capture]:
    """A badge-scanner export (CSV with a header): the columns are read by the CSV import's
    mapping for leads (First/Last name, E-mail, Organisation ...); every row or none."""
    from sfa.services.interop import mapping

    event = resolve(ws, ref)
    text = path.read_text(encoding="utf-8-sig")
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    if not rows:
        raise ValidationError("file", f"{path.name} is empty")
    header, body = rows[0], rows[1:]
    plan = mapping.guess("lead", header, [])
    captured = []
    with ws.store.transaction():
        for line, row in enumerate(body, start=2):
            if not any(cell.strip() for cell in row):
                continue
            values = {target: row[i].strip() for i, target in plan.columns if i < len(row) and row[i].strip()}
            parts = [values.pop(p, "") for p in mapping.NAME_PARTS]
            if any(parts) and not values.get("name"):
                values["name"] = " ".join(p for p in parts if p)
            picked = {k: v for k, v in values.items() if k in BADGE_FIELDS and v}
            if not picked.get("name"):
                raise ValidationError(f"line {line}", "name: is required (no name column or an empty cell)")
            try:
                captured.append(capture(ws, ref, picked.pop("name"), event=event, **picked))
            except ValidationError as exc:
                raise ValidationError(f"line {line}", str(exc)) from None
    return captured


# -- the report -----------------------------------------------------------------------------------


@dataclass
class Report:
    event: Record
    counts: dict[str, int]
    leads: int
    converted: int
    opportunities: int
    pipeline: Decimal
    won: Decimal
    cost: Decimal | None
    cost_per_lead: Decimal | None
    roi: Decimal | None  # (won - cost) / cost, as a fraction


def report(ws: Workspace, ref: str | None = None, event: Record | None = None) -> Report:
    event = event or resolve(ws, ref or "")
    members = members_of(ws, event["id"])
    counts = {status: 0 for status in ("invited", "registered", "attended", "no-show", "met")}
    for m in members:
        counts[m["status"]] = counts.get(m["status"], 0) + 1
    lead_ids = {m["lead_id"] for m in members if m["lead_id"]}
    lead_ids |= {r["id"] for r in ws.store.select(LEAD, "campaign_id = ?", (event["id"],), fields=["status"])}
    lead_rows = [ws.store.find(LEAD, i) for i in sorted(lead_ids)]
    live = [r for r in lead_rows if r is not None and not r["deleted"]]
    converted = [r for r in live if r["status"] == "converted"]
    opp_ids = {r["opportunity_id"] for r in converted if r["opportunity_id"]}
    opp_ids |= {
        r["id"] for r in ws.store.select(OPPORTUNITY, "campaign_id = ?", (event["id"],), fields=["name"])
    }
    opps = [o for o in (ws.store.find(OPPORTUNITY, i) for i in sorted(opp_ids)) if o and not o["deleted"]]
    pipeline = sum((o["amount"] or Decimal(0) for o in opps if o["stage"] not in (WON, LOST)), Decimal(0))
    won = sum((o["amount"] or Decimal(0) for o in opps if o["stage"] == WON), Decimal(0))
    cost = event["actual_cost"] if event["actual_cost"] is not None else event["budget"]
    per_lead = (cost / len(live)).quantize(Decimal("0.01")) if cost is not None and live else None
    roi = ((won - cost) / cost).quantize(Decimal("0.01")) if cost else None
    return Report(event, counts, len(live), len(converted), len(opps), pipeline, won, cost, per_lead, roi)


def report_json(r: Report) -> dict[str, Any]:
    return {
        "event": r.event["name"],
        "id": r.event["id"],
        **r.counts,
        "leads": r.leads,
        "converted": r.converted,
        "opportunities": r.opportunities,
        "pipeline": str(r.pipeline),
        "won": str(r.won),
        "cost": None if r.cost is None else str(r.cost),
        "cost_per_lead": None if r.cost_per_lead is None else str(r.cost_per_lead),
        "roi": None if r.roi is None else str(r.roi),
        "currency": r.event["currency"],
    }


def all_reports(ws: Workspace) -> list[Report]:
    return [report(ws, event=e) for e in ws.store.select(CAMPAIGN, order="starts_on, rid")]
