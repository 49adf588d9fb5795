"""What each record type holds: its fields, their kinds, and how concurrent edits merge.

The store builds its reads and writes from these specs, the sync engine merges by them, and the
server shares them, so a field is declared once.

Merge policies (docs/architecture.md, "Conflicts, per field"):
- ``lww``: last writer by hybrid logical clock wins; the loser is kept in conflicts.
- ``flag``: money, stage, owner: the server value stays and the record is flagged for a person.
- ``union``: tags: both sides' tags survive.
Insert-only entities (timeline entries, notes) never conflict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sfa.domain import normalize
from sfa.domain.fields import FieldType, field_type


@dataclass(frozen=True)
class Field:
    name: str
    kind: str = "text"  # a name in the field-type registry (sfa/domain/fields.py)
    merge: str = "lww"
    required: bool = False
    choices: tuple[str, ...] = ()
    ref: str | None = None  # the entity a "ref" field points at
    doc: str = ""
    type: FieldType = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", field_type(self.kind))


@dataclass(frozen=True, eq=False)  # one instance per record type: identity is equality
class Entity:
    name: str
    table: str
    code: int  # small number mixed into full-text rowids; unique per entity
    fields: tuple[Field, ...]
    title: str = "name"
    search_fields: tuple[str, ...] = ()
    insert_only: bool = False
    # Derived, local-only columns (duplicate-check keys); computed from the full record.
    derived: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    derived_columns: tuple[str, ...] = ()
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    def __repr__(self) -> str:
        return f"Entity({self.name})"

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _scope_fields() -> tuple[Field, ...]:
    return (
        Field("owner", merge="flag", doc="user name of the owning rep"),
        Field("team", merge="flag", doc="team or territory the record belongs to"),
        Field("tags", "tags", merge="union"),
        Field("notes"),
        Field("deleted", "bool", doc="soft delete; tombstones replicate"),
    )


def _person_keys(record: dict[str, Any]) -> dict[str, Any]:
    company = record.get("company")
    return {
        "email_key": normalize.email_key(record.get("email")),
        "phone_key": normalize.phone_key(record.get("phone")),
        "mobile_key": normalize.phone_key(record.get("mobile")),
        "name_key": normalize.name_company_key(record.get("name"), company),
    }


def _account_keys(record: dict[str, Any]) -> dict[str, Any]:
    return {"name_key": normalize.company_key(record.get("name")) or None}


LEAD_STATUSES = ("new", "contacted", "qualified", "disqualified", "converted")
LEAD_RATINGS = ("hot", "warm", "cold")

ACCOUNT = Entity(
    "account",
    "account",
    1,
    (
        Field("name", required=True),
        Field("industry"),
        Field("phone", "phone"),
        Field("email", "email"),
        Field("website", "url"),
        Field("street"),
        Field("city"),
        Field("postcode"),
        Field("country"),
        Field("latitude", "float"),
        Field("longitude", "float"),
        *_scope_fields(),
    ),
    search_fields=("name", "industry", "city", "email", "website", "notes"),
    derived=_account_keys,
    derived_columns=("name_key",),
)

CONTACT = Entity(
    "contact",
    "contact",
    2,
    (
        Field("name", required=True),
        Field("title"),
        Field("email", "email"),
        Field("phone", "phone"),
        Field("mobile", "phone"),
        Field("account_id", "ref", ref="account"),
        *_scope_fields(),
    ),
    search_fields=("name", "title", "email", "notes"),
    derived=_person_keys,
    derived_columns=("email_key", "phone_key", "mobile_key", "name_key"),
)

LEAD = Entity(
    "lead",
    "lead",
    3,
    (
        Field("name", required=True),
        Field("company"),
        Field("email", "email"),
        Field("phone", "phone"),
        Field("source"),
        Field("status", "enum", merge="flag", choices=LEAD_STATUSES),
        Field("rating", "enum", choices=LEAD_RATINGS),
        Field("disqualify_reason"),
        Field("account_id", "ref", ref="account", doc="set on conversion"),
        Field("contact_id", "ref", ref="contact", doc="set on conversion"),
        Field("opportunity_id", "ref", ref="opportunity", doc="set on conversion"),
        *_scope_fields(),
    ),
    search_fields=("name", "company", "email", "source", "notes"),
    derived=_person_keys,
    derived_columns=("email_key", "phone_key", "mobile_key", "name_key"),
)

OPPORTUNITY = Entity(
    "opportunity",
    "opportunity",
    4,
    (
        Field("name", required=True),
        Field("account_id", "ref", required=True, ref="account"),
        Field("contact_id", "ref", ref="contact"),
        Field("amount", "decimal", merge="flag"),
        Field("currency", "currency", merge="flag"),
        Field("stage", merge="flag", required=True),
        Field("probability", "int", merge="flag"),
        Field("close_date", "date"),
        Field("next_step"),
        Field("lost_reason"),
        *_scope_fields(),
    ),
    search_fields=("name", "next_step", "lost_reason", "notes"),
)

TIMELINE = Entity(
    "timeline",
    "timeline",
    5,
    (
        Field("record_entity", required=True),
        Field("record_id", required=True),
        Field("account_id", "ref", ref="account"),
        Field("kind", required=True, doc="created, status, stage, converted, note, visit_report, ..."),
        Field("text", required=True),
        Field("at", "datetime", required=True),
        Field("owner"),
    ),
    title="text",
    search_fields=("text",),
    insert_only=True,
)

VISIT_STATUSES = ("planned", "done", "cancelled", "no-show")

VISIT = Entity(
    "visit",
    "visit",
    6,
    (
        Field("account_id", "ref", required=True, ref="account"),
        Field("contact_ids", "refs", ref="contact", doc="contacts met, in order"),
        Field("starts_at", "datetime", required=True, doc="planned start (UTC)"),
        Field("duration_min", "int", doc="planned duration in minutes"),
        Field("fixed_time", "bool", doc="true: the time is an appointment; route planning keeps it"),
        Field("purpose"),
        Field("location", doc="address; defaults to the account's"),
        Field("latitude", "float"),
        Field("longitude", "float"),
        Field("status", "enum", choices=VISIT_STATUSES),
        Field("outcome"),
        Field("report", doc="the visit report text"),
        Field("cancel_reason"),
        *_scope_fields(),
    ),
    title="purpose",
    search_fields=("purpose", "location", "outcome", "report"),
)

TASK_PRIORITIES = ("high", "normal", "low")
TASK_STATUSES = ("open", "done")

TASK = Entity(
    "task",
    "task",
    7,
    (
        Field("title", required=True),
        Field("due_date", "date", doc="local calendar date the task is due"),
        Field("due_at", "datetime", doc="due instant (UTC) when a time was given"),
        Field("remind_at", "datetime", doc="when to remind (UTC)"),
        Field("priority", "enum", choices=TASK_PRIORITIES),
        Field("status", "enum", choices=TASK_STATUSES),
        Field("done_at", "datetime"),
        Field("account_id", "ref", ref="account"),
        Field("contact_id", "ref", ref="contact"),
        Field("lead_id", "ref", ref="lead"),
        Field("opportunity_id", "ref", ref="opportunity"),
        Field("visit_id", "ref", ref="visit"),
        *_scope_fields(),
    ),
    title="title",
    search_fields=("title", "notes"),
)

PRODUCT = Entity(
    "product",
    "product",
    8,
    (
        Field("sku", required=True),
        Field("name", required=True),
        Field("description"),
        Field("unit_price", "decimal", merge="flag", required=True),
        Field("currency", "currency", merge="flag"),
        Field("tax_rate", "decimal", merge="flag", doc="percent, e.g. 19"),
        Field("active", "bool"),
        Field("deleted", "bool"),
    ),
    search_fields=("name", "sku", "description"),
)

QUOTE_STATUSES = ("draft", "sent", "accepted", "rejected", "expired")

QUOTE = Entity(
    "quote",
    "quote",
    9,
    (
        Field("number", required=True, doc="unique across replicas, e.g. Q-2026-K7F2-0042"),
        Field("revision", "int", doc="1 for the first; a revision keeps the number"),
        Field("previous_id", "ref", ref="quote", doc="the revision this one replaces"),
        Field("account_id", "ref", required=True, ref="account"),
        Field("opportunity_id", "ref", ref="opportunity"),
        Field("contact_id", "ref", ref="contact"),
        Field("currency", "currency", merge="flag"),
        Field("valid_until", "date"),
        Field("status", "enum", merge="flag", choices=QUOTE_STATUSES),
        Field("terms"),
        Field("sent_at", "datetime"),
        Field("decided_at", "datetime", doc="when accepted or rejected"),
        Field("reject_reason"),
        *_scope_fields(),
    ),
    title="number",
    search_fields=("number", "terms", "notes"),
)

QUOTE_LINE = Entity(
    "quote_line",
    "quote_line",
    10,
    (
        Field("quote_id", "ref", required=True, ref="quote"),
        Field("position", "int", required=True),
        Field("product_id", "ref", ref="product"),
        Field("sku"),
        Field("description", required=True),
        Field("quantity", "decimal", merge="flag", required=True),
        Field("unit_price", "decimal", merge="flag", required=True),
        Field("discount_percent", "decimal", merge="flag"),
        Field("discount_amount", "decimal", merge="flag"),
        Field("tax_rate", "decimal", merge="flag"),
        Field("deleted", "bool"),
    ),
    title="description",
)

APPROVAL = Entity(
    name="approval",
    table="approval",
    code=11,
    fields=(
        Field("entity", required=True, doc="record type the approval is about"),
        Field("record_id", "text", required=True, doc="id of the record the approval is about"),
        Field("action", "enum", required=True, choices=("submit", "approve", "reject", "release")),
        Field("by", required=True, doc="user name of who acted"),
        Field("at", "datetime", required=True),
        Field("comment"),
        *_scope_fields(),
    ),
    title="action",
    insert_only=True,
)

# The manager's records (issue 14, docs/policy.md). Written on the server by managers (their team's)
# and admins only (sfa/server/roles.py). None is searchable: codes past 15 hold no search entry.

POLICY = Entity(
    "policy",
    "policy",
    12,
    (
        Field("name", required=True, doc="what the policy is, e.g. sales"),
        Field("stages", merge="flag", required=True, doc="the stages in order (JSON, docs/policy.md)"),
        Field("strict", "bool", merge="flag", doc="refuse a forward move with open required steps"),
        Field("line_discount_limit", "decimal", merge="flag", doc="percent; above it a quote needs approval"),
        Field(
            "quote_discount_limit", "decimal", merge="flag", doc="percent; above it a quote needs approval"
        ),
        *_scope_fields(),
    ),
)

PRICE_LIST = Entity(
    "price_list",
    "price_list",
    13,
    (
        Field("name", required=True),
        Field("currency", "currency", merge="flag"),
        Field("customer_group", doc="accounts whose industry is this get the list's prices"),
        Field("active", "bool"),
        *_scope_fields(),
    ),
)

PRICE_LIST_ITEM = Entity(
    "price_list_item",
    "price_list_item",
    14,
    (
        Field("price_list_id", "ref", required=True, ref="price_list"),
        Field("product_id", "ref", required=True, ref="product"),
        Field("min_quantity", "decimal", merge="flag", doc="the price applies from this quantity on"),
        Field("unit_price", "decimal", merge="flag", required=True),
        *_scope_fields(),
    ),
    title="unit_price",
)

TARGET_METRICS = ("won_amount", "new_opportunities", "visits_done", "quotes_sent", "new_accounts")

TARGET = Entity(
    "target",
    "target",
    15,
    (
        Field("period", required=True, doc="2027-Q1 or 2027-03"),
        Field("metric", "enum", required=True, choices=TARGET_METRICS),
        Field("value", "decimal", merge="flag", required=True),
        Field("stretch", "decimal", merge="flag"),
        Field("currency", "currency", merge="flag", doc="for amounts"),
        Field("segment", doc="optional: an industry, a product family, new or existing business"),
        *_scope_fields(),  # owner: the rep (none for a team's target); team: the team
    ),
    title="metric",
)

REVIEW_STATUSES = ("draft", "shared", "acknowledged")

REVIEW = Entity(
    "review",
    "review",
    16,  # past the search index's slots: never searchable (sfa/store/writes.py)
    (
        Field("rep", required=True, doc="user name of the rep reviewed"),
        Field("period", required=True),
        Field("reviewer", required=True, doc="user name of the manager who writes it"),
        Field("scores", doc="JSON object: metric -> 1..5"),
        Field("strengths"),
        Field("improvements"),
        Field("goals", doc="goals for the next period"),
        Field("status", "enum", merge="flag", choices=REVIEW_STATUSES),
        *_scope_fields(),  # owner: the rep; team: the rep's team
    ),
    title="period",
)

PLAYBOOK_KINDS = ("call", "visit", "email", "task", "quote", "document")

PLAYBOOK = Entity(
    "playbook",
    "playbook",
    17,  # past the search index's slots: never searchable (sfa/store/writes.py)
    (
        Field("stage", required=True, doc="the stage whose step it is"),
        Field("title", required=True),
        Field("kind", "enum", choices=PLAYBOOK_KINDS),
        Field("due_days", "int", doc="the task is due this many days after the move"),
        Field("required", "bool", doc="a forward move warns (strict policy: refuses) while open"),
        *_scope_fields(),  # team: the team whose playbook it is (none: company-wide); notes: guidance
    ),
    title="title",
)

TERRITORY = Entity(
    "territory",
    "territory",
    18,  # past the search index's slots: never searchable (sfa/store/writes.py)
    (
        Field("name", required=True, doc="the territory; accounts in it carry it as their team"),
        Field("parent", doc="name of the parent territory"),
        Field("manager", doc="user name of its manager"),
        Field(
            "rules", merge="flag", doc="one per line: postcode 80000-87999, country DE, industry X, city Y"
        ),
        Field("priority", "int", doc="the higher wins when several territories' rules match"),
        Field("members", doc="one per line: USER owner or USER overlay"),
        *_scope_fields(),
    ),
)

# Kinds of timeline entry that hold prose people wrote; these are found by full-text search.
SEARCHABLE_TIMELINE_KINDS = ("note", "visit_report")

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        ACCOUNT,
        CONTACT,
        LEAD,
        OPPORTUNITY,
        TIMELINE,
        VISIT,
        TASK,
        PRODUCT,
        QUOTE,
        QUOTE_LINE,
        APPROVAL,
        POLICY,
        PRICE_LIST,
        PRICE_LIST_ITEM,
        TARGET,
        REVIEW,
        PLAYBOOK,
        TERRITORY,
    )
}
