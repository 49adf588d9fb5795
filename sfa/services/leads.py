"""Leads: capture with a duplicate check, qualify, disqualify, convert."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sfa.domain import ids, normalize
from sfa.domain.dates import parse_date
from sfa.domain.entities import ACCOUNT, CONTACT, ENTITIES, LEAD, OPPORTUNITY, Entity
from sfa.domain.errors import DuplicateError, StateError, ValidationError
from sfa.domain.money import parse_amount
from sfa.domain.text import check_text
from sfa.services import crm, records
from sfa.services.records import Raw
from sfa.store.db import Record, paused_gc
from sfa.store.workspace import Workspace


@dataclass(frozen=True)
class Duplicate:
    entity: str
    record_id: str
    name: str
    reason: str  # "email", "phone", "name and company"; for an account "name"

    def describe(self, ref: str) -> str:
        return f"{self.entity} {ref} {self.name!r} (same {self.reason})"

    def as_dict(self) -> dict[str, object]:
        return {
            "entity": self.entity,
            "id": self.record_id,
            "name": self.name,
            "reason": self.reason,
        }


def _probe_from_derived(keys: Record) -> dict[str, str]:
    probes = {
        "email": keys.get("email_key"),
        "phone": keys.get("phone_key"),
        "name and company": keys.get("name_key"),
    }
    return {reason: key for reason, key in probes.items() if key}


def _split_name_key(key: str) -> tuple[str, str]:
    person, _, company = key.partition("|")
    return person + "|", company


# Contacts carry no company of their own: their name key is "person|", and the company they are
# compared by is their account's name key.
_CONTACT_COMPANY = "coalesce((SELECT a.name_key FROM account a WHERE a.id = contact.account_id), '')"


def find_duplicates(ws: Workspace, values: Record, exclude_id: str | None = None) -> list[Duplicate]:
    """Leads and contacts with the same email, the same phone, or near-identical name + company.

    `values` are a lead's (name, company, email, phone), or a contact's as `contact_probe` gives them.
    """
    keys = _person_keys_of(values)
    probes = _probe_from_derived(keys)
    queries: list[tuple[Entity, str, str, tuple[str, ...]]] = []
    if "email" in probes:
        queries += [
            (LEAD, "email", "email_key = ?", (probes["email"],)),
            (CONTACT, "email", "email_key = ?", (probes["email"],)),
        ]
    # A contact has a mobile number beside its phone: both are compared, with each other too.
    for phone in dict.fromkeys(k for k in (keys.get("phone_key"), keys.get("mobile_key")) if k):
        queries += [
            (LEAD, "phone", "phone_key = ?", (phone,)),
            (CONTACT, "phone", "phone_key = ? OR mobile_key = ?", (phone, phone)),
        ]
    if "name and company" in probes:
        person, company = _split_name_key(probes["name and company"])
        queries += [
            (LEAD, "name and company", "name_key = ?", (probes["name and company"],)),
            (CONTACT, "name and company", f"name_key = ? AND {_CONTACT_COMPANY} = ?", (person, company)),
        ]
    found: list[Duplicate] = []
    seen = {exclude_id}
    for entity, reason, where, params in queries:
        for record in ws.store.select(entity, where, params, limit=5):
            if record["id"] not in seen:
                seen.add(record["id"])
                found.append(Duplicate(entity.name, record["id"], record["name"], reason))
    return found


def _person_keys_of(values: Record) -> Record:
    return LEAD.derived(values) if LEAD.derived else {}


def contact_probe(ws: Workspace, values: Record) -> Record:
    """A contact's values as the duplicate check reads a lead's: its account's name is its company."""
    account_id = values.get("account_id")
    company = ws.store.titles(ACCOUNT, [account_id]).get(account_id) if account_id else None
    return {
        "name": values.get("name"),
        "company": company,
        "email": values.get("email"),
        "phone": values.get("phone"),
        "mobile": values.get("mobile"),
    }


def find_account_duplicates(ws: Workspace, name: str, exclude_id: str | None = None) -> list[Duplicate]:
    """Accounts whose name is the same after folding case, accents, punctuation and legal forms:
    the company comparison of the lead check ("Müller GmbH" and "MULLER" are the same account)."""
    key = normalize.company_key(name)
    if not key:
        return []
    return [
        Duplicate(ACCOUNT.name, r["id"], r["name"], "name")
        for r in ws.store.select(ACCOUNT, "name_key = ?", (key,), limit=5)
        if r["id"] != exclude_id
    ]


def check_duplicates(ws: Workspace, entity: Entity, values: Record, *, exclude_id: str | None = None) -> None:
    """Refuse a new lead, contact or account that looks like an existing record (DuplicateError,
    naming what it matches); the caller skips this for --allow-duplicate."""
    if entity is ACCOUNT:
        found = find_account_duplicates(ws, values["name"], exclude_id)
    else:
        probe = contact_probe(ws, values) if entity is CONTACT else values
        found = find_duplicates(ws, probe, exclude_id)
    if found:
        raise _duplicate_error(ws, values["name"], found, entity.name)


def _duplicate_error(ws: Workspace, name: str, found: list[Duplicate], what: str = "lead") -> DuplicateError:
    refs = {d.record_id: _ref(ws, d) for d in found}
    listed = "; ".join(d.describe(refs[d.record_id]) for d in found[:3])
    return DuplicateError(
        f"{what} {name!r} looks like a duplicate of {listed}; allow the duplicate to add it anyway",
        [d.as_dict() for d in found],
        asks_for=("allow_duplicate",),
    )


def _ref(ws: Workspace, dup: Duplicate) -> str:
    entity = ENTITIES[dup.entity]
    return ws.store.short_refs(entity, [dup.record_id])[dup.record_id]


def _prepare(ws: Workspace, raw: Raw, defaults: Record | None = None) -> Record:
    values = records.clean(ws, LEAD, raw, creating=True)
    values.setdefault("status", "new")
    return {**(records.scope_defaults(ws) if defaults is None else defaults), **values}


def add_lead(ws: Workspace, raw: Raw, *, allow_duplicate: bool = False) -> Record:
    values = _prepare(ws, raw)
    if not allow_duplicate:
        found = find_duplicates(ws, values)
        if found:
            raise _duplicate_error(ws, values["name"], found)
    return ws.store.insert(LEAD, values)


@dataclass
class BatchResult:
    created: list[Record]
    skipped: list[dict[str, Any]]


# Column names accepted in batch input, beyond the field names themselves.
_ALIASES = {
    "e-mail": "email",
    "mail": "email",
    "telephone": "phone",
    "tel": "phone",
    "organisation": "company",
    "organization": "company",
    "full name": "name",
}
WRITE_BATCH = 10_000  # leads a transaction, when many are added at once
BATCH_FIELDS = ("name", "company", "email", "phone", "source", "rating", "notes", "tags")


def _batch_column(key: str, line: int) -> str:
    column = key.strip().lower()
    column = _ALIASES.get(column, column)
    if column not in BATCH_FIELDS:
        accepted = ", ".join(BATCH_FIELDS)
        raise ValidationError(f"line {line}", f"unknown column {key!r}; accepted: {accepted}")
    return column


def parse_batch(text: str) -> list[tuple[int, dict[str, str]]]:
    """Leads from CSV with a header row, or from JSON lines (one object a line), each paired with
    its line number. Unknown columns are refused; empty values are left out."""
    text = text.lstrip("\ufeff")
    rows: list[tuple[int, dict[str, str]]] = []
    if text.lstrip().startswith("{"):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValidationError(f"line {number}", f"not JSON: {exc.msg}") from None
            if not isinstance(value, dict):
                raise ValidationError(f"line {number}", "each JSON line must be an object")
            rows.append(
                (
                    number,
                    {
                        _batch_column(str(k), number): v if isinstance(v, str) else str(v)
                        for k, v in value.items()
                        if v is not None and str(v).strip()
                    },
                )
            )
        return rows
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise ValidationError(
            "from", "the input is empty; expected a CSV header or JSON lines", asks_for=("from",)
        )
    columns = [_batch_column(key, 1) for key in header]  # mapped once, not per row
    width = len(columns)
    for row in reader:
        if len(row) > width:
            raise ValidationError(f"line {reader.line_num}", "more values than header columns")
        values = {columns[i]: value for i, value in enumerate(row) if value and not value.isspace()}
        if values:
            rows.append((reader.line_num, values))
    return rows


class _KeyIndex:
    """Every duplicate-check key of leads and contacts in memory: batches check in O(1) a row."""

    def __init__(self, ws: Workspace) -> None:
        # (reason, key) -> (entity, record id, name); Duplicate objects are made only for hits.
        self.keys: dict[tuple[str, str], tuple[str, str, str]] = {}
        store = ws.store
        for row in store.key_rows(LEAD, ("email_key", "phone_key", "name_key")):
            self._remember("lead", row[0], row[1], row[2], (row[3],), row[4])
        company = {
            row[0]: row[2] or "" for row in store.key_rows(ACCOUNT, ("name_key",), include_deleted=True)
        }
        for row in store.key_rows(
            CONTACT, ("email_key", "phone_key", "mobile_key", "name_key", "account_id")
        ):
            name_key = (row[5] or "|").split("|")[0] + "|" + company.get(row[6], "")
            self._remember("contact", row[0], row[1], row[2], (row[3], row[4]), name_key)

    def _remember(
        self,
        entity: str,
        record_id: str,
        name: str,
        email: str | None,
        phones: tuple[str | None, ...],
        name_key: str | None,
    ) -> None:
        for reason, key in (
            ("email", email),
            *(("phone", p) for p in phones),
            ("name and company", name_key),
        ):
            if key:
                self.keys.setdefault((reason, key), (entity, record_id, name))

    def match(self, probes: dict[str, str]) -> list[Duplicate]:
        found: list[Duplicate] = []
        for reason, key in probes.items():
            hit = self.keys.get((reason, key))
            if hit is not None:
                duplicate = Duplicate(*hit, reason)
                if all(d.record_id != duplicate.record_id for d in found):
                    found.append(duplicate)
        return found

    def add(self, line: int, name: str, probes: dict[str, str]) -> None:
        self._remember(
            "lead",
            f"line {line}",
            name,
            probes.get("email"),
            (probes.get("phone"),),
            probes.get("name and company"),
        )


def add_leads(
    ws: Workspace,
    rows: Sequence[tuple[int, Raw]],
    *,
    allow_duplicate: bool = False,
    skip_duplicates: bool = False,
) -> BatchResult:
    """Add many leads in one transaction: every row is checked first; any bad row writes nothing.

    `rows` pairs each input line number with its values, so errors can name the line.
    """
    with paused_gc():
        return _add_leads(ws, rows, allow_duplicate, skip_duplicates)


def _add_leads(
    ws: Workspace, rows: Sequence[tuple[int, Raw]], allow_duplicate: bool, skip_duplicates: bool
) -> BatchResult:
    prepared: list[tuple[int, Record]] = []
    defaults = records.scope_defaults(ws)  # the same for every row: looked up once
    for line, raw in rows:
        try:
            prepared.append((line, _prepare(ws, raw, defaults)))
        except ValidationError as exc:
            raise ValidationError(f"line {line}: {exc.field}", str(exc).split(": ", 1)[1]) from None
    index = None if allow_duplicate else _KeyIndex(ws)
    accepted: list[Record] = []
    skipped: list[dict[str, Any]] = []
    for line, values in prepared:
        keys = LEAD.derived(values) if LEAD.derived else {}
        if index is not None:
            probes = _probe_from_derived(keys)
            found = index.match(probes)
            if found:
                if not skip_duplicates:
                    first = found[0]
                    raise DuplicateError(
                        f"line {line}: lead {values['name']!r} looks like a duplicate of "
                        f"{first.entity} {first.name!r} (same {first.reason}); nothing was added. "
                        "Allow the duplicates, or skip them",
                        [d.as_dict() for d in found],
                        asks_for=("allow_duplicate", "skip_duplicates"),
                    )
                skipped.append(
                    {"line": line, "name": values["name"], "duplicate_of": [d.as_dict() for d in found]}
                )
                continue
            # Later rows of the same batch are checked against earlier ones too.
            index.add(line, values["name"], probes)
        accepted.append(values)
    if len(accepted) <= WRITE_BATCH:
        with ws.store.transaction():
            created = ws.store.insert_many(LEAD, accepted)
        return BatchResult(created, skipped)
    # Every row is checked: the rest cannot fail but for the disk. Many leads are written by the
    # store's bulk writer, a batch at a time, each in one transaction, while the next is prepared.
    created = []
    with ws.store.bulk() as bulk:
        for start in range(0, len(accepted), WRITE_BATCH):
            chunk = slice(start, start + WRITE_BATCH)
            created += bulk.insert_many(LEAD, accepted[chunk])
            bulk.commit()
    return BatchResult(created, skipped)


def list_leads(
    ws: Workspace, *, status: str | None = None, rating: str | None = None, limit: int | None = None
) -> list[Record]:
    clauses, params = [], []
    if status:
        clauses.append("status = ?")
        params.append(records.convert(ws, LEAD, "status", status))
    if rating:
        clauses.append("rating = ?")
        params.append(records.convert(ws, LEAD, "rating", rating))
    return ws.store.select(LEAD, " AND ".join(clauses), params, order="rid DESC", limit=limit)


def edit_lead(ws: Workspace, ref: str, raw: Raw, *, allow_duplicate: bool = False) -> Record:
    lead = ws.store.resolve(LEAD, ref)
    values = records.clean(ws, LEAD, raw, creating=False)
    if "status" in values:
        raise ValidationError("status", "use qualify, disqualify or convert to change the status")
    if not values:
        raise ValidationError("lead", "nothing to change; give at least one option")
    if not allow_duplicate and {"email", "phone", "name", "company"} & values.keys():
        found = find_duplicates(ws, {**lead, **values}, exclude_id=lead["id"])
        if found:
            raise _duplicate_error(ws, lead["name"], found)
    return ws.store.update(LEAD, lead["id"], values)


def _set_status(
    ws: Workspace, lead: Record, status: str, extra: Record | None = None, note: str = ""
) -> Record:
    text = f"status: {lead['status']} → {status}" + (f" ({note})" if note else "")
    with ws.store.transaction():
        updated = ws.store.update(LEAD, lead["id"], {"status": status, **(extra or {})})
        records.add_timeline(ws, LEAD, updated, "status", text, updated.get("account_id"))
    return updated


def qualify(ws: Workspace, ref: str) -> Record:
    lead = ws.store.resolve(LEAD, ref)
    if lead["status"] in ("qualified", "converted"):
        raise StateError(f"lead {lead['name']!r} is already {lead['status']}")
    return _set_status(ws, lead, "qualified", {"disqualify_reason": None})


def disqualify(ws: Workspace, ref: str, reason: str | None = None) -> Record:
    reason = check_text("reason", reason.strip()) or None if reason else None
    lead = ws.store.resolve(LEAD, ref)
    if lead["status"] in ("disqualified", "converted"):
        raise StateError(f"lead {lead['name']!r} is already {lead['status']}")
    return _set_status(ws, lead, "disqualified", {"disqualify_reason": reason}, reason or "")


def set_contacted(ws: Workspace, ref: str) -> Record:
    lead = ws.store.resolve(LEAD, ref)
    if lead["status"] != "new":
        raise StateError(f"lead {lead['name']!r} is {lead['status']}, not new")
    return _set_status(ws, lead, "contacted")


def convert(
    ws: Workspace,
    ref: str,
    *,
    opportunity: str | None = None,
    amount: str | None = None,
    close_date: str | None = None,
    account_ref: str | None = None,
) -> dict[str, Any]:
    """One transaction: account (found or new), contact (found or new), optional opportunity."""
    lead = ws.store.resolve(LEAD, ref)
    if lead["status"] == "converted":
        raise StateError(f"lead {lead['name']!r} is already converted")
    if lead["status"] == "disqualified":
        raise StateError(f"lead {lead['name']!r} is disqualified; qualify it before converting")
    if (amount or close_date) and not opportunity:
        opportunity = f"{lead['company'] or lead['name']}: new business"
    # Check every typed value before writing anything.
    amount_value = parse_amount(amount, "amount") if amount else None
    if opportunity is not None:
        opportunity = check_text("opportunity", opportunity.strip())
    close_value = parse_date(close_date, "close_date") if close_date else None
    scope = _scope_of(ws, lead)
    with ws.store.transaction():
        account, account_created = _account_for(ws, lead, account_ref, scope)
        contact, contact_created = _contact_for(ws, lead, account, scope)
        opp = None
        if opportunity:
            derived = ids.derived_id(lead["id"], "opportunity")
            opp = ws.store.find(OPPORTUNITY, derived)
            if opp is None:
                opp = crm.add_opportunity(
                    ws,
                    {
                        "name": opportunity,
                        "account_id": account["id"],
                        "contact_id": contact["id"],
                        "amount": amount_value,
                        "close_date": close_value,
                        "campaign_id": lead.get("campaign_id"),  # the lead's primary campaign
                        **scope,
                    },
                    record_id=derived,
                )
        links = {
            "account_id": account["id"],
            "contact_id": contact["id"],
            "opportunity_id": opp["id"] if opp else None,
        }
        updated = _set_status(ws, lead, "converted", links)
        records.add_timeline(
            ws,
            ACCOUNT,
            account,
            "converted",
            f"lead {lead['name']!r} converted" + (f"; opportunity {opp['name']!r}" if opp else ""),
            account["id"],
        )
    return {
        "lead": updated,
        "account": account,
        "account_created": account_created,
        "contact": contact,
        "contact_created": contact_created,
        "opportunity": opp,
    }


def _scope_of(ws: Workspace, lead: Record) -> Record:
    """Who owns what a conversion makes: the lead's owner and team (the converting user's where the
    lead has none), so that converting one lead on two laptops writes the same values."""
    mine = records.scope_defaults(ws)
    return {"owner": lead.get("owner") or mine["owner"], "team": lead.get("team") or mine["team"]}


def _derived(ws: Workspace, entity: Entity, lead: Record, role: str) -> tuple[Record | None, str | None]:
    """The record this lead's conversion made as `role` (made on another laptop and pulled), or the
    id to make it with (None when that id is taken by a deleted record: a fresh id then)."""
    record_id = ids.derived_id(lead["id"], role)
    found = ws.store.find(entity, record_id)
    if found is None:
        return None, record_id
    return (None, None) if found.get("deleted") else (found, record_id)


def _account_for(ws: Workspace, lead: Record, account_ref: str | None, scope: Record) -> tuple[Record, bool]:
    if account_ref:
        return ws.store.resolve(ACCOUNT, account_ref), False
    if not lead["company"]:
        raise ValidationError(
            "company",
            f"lead {lead['name']!r} has no company; give the account to link it to",
            asks_for=("account",),
        )
    key = normalize.company_key(lead["company"])
    existing = ws.store.select(ACCOUNT, "name_key = ?", (key,), limit=1) if key else []
    if existing:
        return existing[0], False
    made, record_id = _derived(ws, ACCOUNT, lead, "account")
    if made is not None:
        return made, False
    values = {**scope, "name": lead["company"], "phone": None, "email": None}
    return ws.store.insert(ACCOUNT, values, record_id=record_id), True


def _contact_for(ws: Workspace, lead: Record, account: Record, scope: Record) -> tuple[Record, bool]:
    email_key = normalize.email_key(lead["email"])
    if email_key:
        same = ws.store.select(
            CONTACT, "email_key = ? AND account_id = ?", (email_key, account["id"]), limit=1
        )
        if same:
            return same[0], False
    made, record_id = _derived(ws, CONTACT, lead, "contact")
    if made is not None:
        return made, False
    values = {
        **scope,
        "name": lead["name"],
        "email": lead["email"],
        "phone": lead["phone"],
        "account_id": account["id"],
        "notes": lead["notes"],
        "tags": lead["tags"],
    }
    contact = ws.store.insert(CONTACT, values, record_id=record_id)
    return contact, True


def entity_of(name: str) -> Entity:
    return LEAD if name == "lead" else CONTACT
