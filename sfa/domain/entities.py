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
    code: int  # small number mixed into full-text rowids; unique per entity, below store FTS_SLOTS (64)
    fields: tuple[Field, ...]
    title: str = "name"
    search_fields: tuple[str, ...] = ()
    insert_only: bool = False
    # Derived, local-only columns (duplicate-check keys); computed from the full record. The store
    # computes the same in SQL (generated columns, sfa/store/keys.py); services use `derived` for probes.
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


def _merged_into(entity: str) -> Field:
    return Field(
        "merged_into", "ref", ref=entity, doc="set with deleted: merged into this record (sfa merge)"
    )


# Record types `sfa merge` and `sfa dedupe scan` handle (sfa/services/dedupe.py).
MERGEABLE = ("account", "contact", "lead")


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
        _merged_into("account"),
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
        _merged_into("contact"),
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
        # A conversion racing a different one (another account) is flagged, never settled silently.
        Field("account_id", "ref", merge="flag", ref="account", doc="set on conversion"),
        Field("contact_id", "ref", merge="flag", ref="contact", doc="set on conversion"),
        Field("opportunity_id", "ref", merge="flag", ref="opportunity", doc="set on conversion"),
        *_scope_fields(),
        _merged_into("lead"),
        Field("campaign_id", "ref", ref="campaign", doc="primary campaign (sfa event capture)"),
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
        Field("campaign_id", "ref", ref="campaign", doc="primary campaign"),
        # Win/loss (issue 16 §3, docs/prediction.md): the competitors met on the deal (both sides'
        # survive a concurrent edit) and the one it was lost to.
        Field("competitors", "refs", merge="union", ref="competitor", doc="competitors met on the deal"),
        Field("lost_to", "ref", ref="competitor", doc="the competitor the deal was lost to"),
        Field(
            "forecast_category",
            "enum",
            choices=("pipeline", "best case", "commit", "omitted"),
            doc="the rep's or manager's override of the stage's forecast category; empty: the stage's",
        ),
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
        # The encyclopedia (docs/products.md): specs are product_spec rows, not fields here.
        Field("model_number"),
        Field("family", doc="product family or line"),
        Field("unit", doc="unit of sale: pcs, m, h, kg ..."),
        Field("successor_id", "ref", ref="product", doc="the product that replaces this one"),
        Field("accessories", "refs", ref="product"),
        Field("alternatives", "refs", ref="product"),
        Field("image", doc="id of the picture's document (older records: a file path)"),
        Field("datasheet", doc="older records only: a file path; datasheets are now documents"),
    ),
    search_fields=("name", "sku", "description", "model_number", "family"),
)

# One row per spec: two managers editing different specs of one product never conflict.
PRODUCT_SPEC = Entity(
    "product_spec",
    "product_spec",
    13,
    (
        Field("product_id", "ref", required=True, ref="product"),
        Field("name", required=True, doc="e.g. Stroke"),
        Field("value", required=True, doc="e.g. 600"),
        Field("unit", doc="e.g. mm"),
        Field("position", "int"),
        Field("deleted", "bool"),
    ),
    search_fields=("name", "value", "unit"),
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
        Field("configuration", doc="the chosen options, canonical text (sfa/domain/configure.py)"),
    ),
    title="description",
)

# The configurator (sfa/domain/configure.py, docs/products.md): one row per option and per rule, so
# two managers editing different options never conflict.
PRODUCT_OPTION = Entity(
    "product_option",
    "product_option",
    11,
    (
        Field("product_id", "ref", required=True, ref="product"),
        Field("attribute", required=True),
        Field("value", required=True),
        Field("extra", "decimal", merge="flag", doc="price extra added to the unit price"),
        Field("sku_suffix", doc="appended to the SKU with a dash"),
        Field("is_default", "bool", doc="preselected when the attribute is not chosen"),
        Field("required", "bool", doc="the attribute must have a value"),
        Field("multiple", "bool", doc="the attribute takes several values"),
        Field("position", "int"),
        Field("deleted", "bool"),
    ),
    title="value",
)

OPTION_RULES = ("require", "exclude")

OPTION_RULE = Entity(
    "option_rule",
    "option_rule",
    12,
    (
        Field("product_id", "ref", required=True, ref="product"),
        Field("when_options", required=True, doc="canonical ATTR=VALUE, ATTR=VALUE"),
        Field("action", "enum", required=True, choices=OPTION_RULES),
        Field("target", required=True, doc="ATTR=VALUE required or excluded"),
        Field("message"),
        Field("position", "int"),
        Field("deleted", "bool"),
    ),
    title="target",
)

# Events and campaigns (sfa/services/events.py, docs/products.md).
CAMPAIGN_KINDS = ("trade-show", "conference", "webinar", "customer-day", "mailing", "other")
CAMPAIGN_STATUSES = ("planned", "confirmed", "done", "cancelled")
MEMBER_STATUSES = ("invited", "registered", "attended", "no-show", "met")

CAMPAIGN = Entity(
    "campaign",
    "campaign",
    14,
    (
        Field("name", required=True),
        Field("kind", "enum", required=True, choices=CAMPAIGN_KINDS),
        Field("starts_on", "date", required=True),
        Field("ends_on", "date"),
        Field("venue"),
        Field("booth"),
        Field("url", "url"),
        Field("budget", "decimal", merge="flag"),
        Field("actual_cost", "decimal", merge="flag"),
        Field("currency", "currency", merge="flag"),
        Field("status", "enum", choices=CAMPAIGN_STATUSES),
        Field("goals"),
        Field("report", doc="the event report (text)"),
        *_scope_fields(),
    ),
    search_fields=("name", "venue", "goals", "report", "notes"),
)

# One row per person and campaign: several reps at one booth never conflict. The owner is the rep
# who captured the person.
CAMPAIGN_MEMBER = Entity(
    "campaign_member",
    "campaign_member",
    15,
    (
        Field("campaign_id", "ref", required=True, ref="campaign"),
        Field("contact_id", "ref", ref="contact"),
        Field("lead_id", "ref", ref="lead"),
        Field("status", "enum", required=True, choices=MEMBER_STATUSES),
        Field("responded", "bool"),
        Field("captured_at", "datetime"),
        *_scope_fields(),
    ),
    title="status",
)


APPROVAL = Entity(
    name="approval",
    table="approval",
    code=16,
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

# Entity codes: unique, below the search index's 64 slots (sfa/store/writes.py FTS_SLOTS).

ORDER_STATUSES = ("draft", "submitted", "acknowledged", "rejected", "cancelled", "delivered", "invoiced")

ORDER = Entity(
    "order",
    "sales_order",
    19,
    (
        Field("number", required=True, doc="unique across replicas, e.g. O-2026-K7F2-0001"),
        Field("quote_id", "ref", ref="quote", doc="the accepted quote the order was made from"),
        Field("contract_id", "ref", ref="contract", doc="the contract the order calls off, if any"),
        Field("account_id", "ref", required=True, ref="account"),
        Field("opportunity_id", "ref", ref="opportunity"),
        Field("contact_id", "ref", ref="contact"),
        Field("currency", "currency", merge="flag"),
        Field("customer_po", doc="the customer's purchase order number"),
        Field("requested_date", "date", doc="delivery date the customer asked for"),
        Field("ship_to"),
        Field("bill_to"),
        Field("payment_terms"),
        Field("status", "enum", merge="flag", choices=ORDER_STATUSES),
        Field("submitted_at", "datetime"),
        Field("accepted_differences", "bool", doc="submitted although the pricing check found differences"),
        Field("cancelled_at", "datetime"),
        Field("cancel_reason"),
        Field("erp_ref", doc="the ERP's order number (written by the ERP only)"),
        Field("erp_message", doc="the ERP's last message (written by the ERP only)"),
        Field("erp_at", "datetime", doc="when the ERP last answered (written by the ERP only)"),
        *_scope_fields(),
    ),
    title="number",
    search_fields=("number", "customer_po", "erp_ref", "notes"),
)

ORDER_LINE = Entity(
    "order_line",
    "order_line",
    20,
    (
        Field("order_id", "ref", required=True, ref="order"),
        Field("position", "int", required=True),
        Field("quote_line_id", "ref", ref="quote_line", doc="the quote line it was copied from"),
        Field("product_id", "ref", ref="product"),
        Field("sku"),
        Field("description", required=True),
        Field("quantity", "decimal", merge="flag", required=True),
        Field("unit_price", "decimal", merge="flag", required=True),
        Field("discount_percent", "decimal", merge="flag"),
        Field("discount_amount", "decimal", merge="flag"),
        Field("tax_rate", "decimal", merge="flag"),
        Field("configuration", doc="the chosen options, canonical text (sfa/domain/configure.py)"),
        Field("delivered_quantity", "decimal", doc="written by the ERP only"),
        Field("invoiced_quantity", "decimal", doc="written by the ERP only"),
        Field("deleted", "bool"),
    ),
    title="description",
)

CONTRACT_STATUSES = ("draft", "in approval", "activated", "terminated", "cancelled")
CONTRACT_BILLING = ("once", "monthly", "quarterly", "yearly")

CONTRACT = Entity(
    "contract",
    "contract",
    21,
    (
        Field("number", required=True, doc="unique across replicas, e.g. C-2026-K7F2-0001"),
        Field("revision", "int", doc="1 for the first; a revision keeps the number"),
        Field("previous_id", "ref", ref="contract", doc="the revision this one replaces"),
        Field("renewal_of", "ref", ref="contract", doc="the contract this one renews"),
        Field("renewed_by", "ref", ref="contract", doc="the renewal draft made of this contract"),
        Field("account_id", "ref", required=True, ref="account"),
        Field("opportunity_id", "ref", ref="opportunity"),
        Field("quote_id", "ref", ref="quote"),
        Field("contact_id", "ref", ref="contact"),
        Field("title", required=True),
        Field("start_date", "date", required=True),
        Field("term_months", "int"),
        Field("end_date", "date", doc="derived from start and term when empty"),
        Field("auto_renew", "bool"),
        Field("notice_days", "int"),
        Field("renewal_lead_days", "int", doc="renewal is due this many days before the end"),
        Field("value", "decimal", merge="flag"),
        Field("currency", "currency", merge="flag"),
        Field("billing", "enum", choices=CONTRACT_BILLING),
        Field("terms"),
        Field("status", "enum", merge="flag", choices=CONTRACT_STATUSES),
        Field("reject_reason"),
        Field("customer_signed_by"),
        Field("customer_signed_on", "date"),
        Field("company_signed_by"),
        Field("activated_by"),
        Field("activated_at", "datetime"),
        Field("terminated_on", "date"),
        Field("termination_reason"),
        *_scope_fields(),
    ),
    title="title",
    search_fields=("number", "title", "terms", "notes"),
)

CONTRACT_LINE = Entity(
    "contract_line",
    "contract_line",
    22,
    (
        Field("contract_id", "ref", required=True, ref="contract"),
        Field("position", "int", required=True),
        Field("product_id", "ref", ref="product"),
        Field("sku"),
        Field("description", required=True),
        Field("quantity", "decimal", merge="flag", required=True),
        Field("unit_price", "decimal", merge="flag", required=True),
        Field("discount_percent", "decimal", merge="flag"),
        Field("discount_amount", "decimal", merge="flag"),
        Field("tax_rate", "decimal", merge="flag"),
        Field("configuration", doc="the chosen options, canonical text (sfa/domain/configure.py)"),
        Field("deleted", "bool"),
    ),
    title="description",
)

DOCUMENT_KINDS = ("brochure", "datasheet", "contract", "drawing", "photo", "other")
DOCUMENT_OWNERS = ("account", "contact", "opportunity", "quote", "order", "contract", "visit", "product")

DOCUMENT = Entity(
    "document",
    "document",
    23,
    (
        Field("title", required=True),
        Field("kind", "enum", choices=DOCUMENT_KINDS),
        Field("filename", required=True),
        Field("media_type"),
        Field("size", "int", required=True, doc="bytes"),
        Field("sha256", required=True, doc="the content's SHA-256 (hex); the blob's address"),
        Field("record_entity", "enum", required=True, choices=DOCUMENT_OWNERS, doc="what it belongs to"),
        Field("record_id", required=True, doc="the id of the record it belongs to"),
        Field("account_id", "ref", ref="account", doc="the account of that record, for the 360° view"),
        Field("language"),
        Field("valid_until", "date"),
        Field("version", "int", doc="1 for the first; a new version is a new record"),
        Field("previous_id", "ref", ref="document", doc="the version this one replaces"),
        *_scope_fields(),
    ),
    title="title",
    search_fields=("title", "filename", "notes"),
)


STAGE_CHANGE = Entity(
    "stage_change",
    "stage_change",
    31,
    (
        Field("opportunity_id", "ref", required=True, ref="opportunity"),
        Field("from_stage", doc="empty: the deal was opened; equal to to_stage: close date or amount moved"),
        Field("to_stage", required=True),
        Field("at", "datetime", required=True),
        Field("amount", "decimal", doc="the deal's amount at the time"),
        Field("currency", "currency"),
        Field("close_date", "date", doc="the deal's expected close date at the time"),
        Field("owner"),
    ),
    title="to_stage",
    insert_only=True,
)

FORECAST_CATEGORIES = ("commit", "best case", "pipeline")
FORECAST_SUBJECTS = ("all", "owner", "team")

FORECAST_ADJUSTMENT = Entity(
    "forecast_adjustment",
    "forecast_adjustment",
    32,
    (
        Field("period", required=True, doc="2026-Q4 or 2026-11"),
        Field("subject_kind", "enum", required=True, choices=FORECAST_SUBJECTS),
        Field("subject", required=True, doc="the rep's user name or the team"),
        Field("category", "enum", required=True, choices=FORECAST_CATEGORIES),
        Field("amount", "decimal", required=True),
        Field("currency", "currency"),
        Field("note"),
        Field("at", "datetime", required=True),
        Field("owner", doc="who adjusted; the latest per owner, subject, period and category counts"),
        Field("team", doc="the team that sees it (sync scope)"),
    ),
    title="period",
    insert_only=True,
)

FORECAST_SNAPSHOT = Entity(
    "forecast_snapshot",
    "forecast_snapshot",
    33,
    (
        Field("period", required=True),
        Field("subject_kind", "enum", required=True, choices=FORECAST_SUBJECTS),
        Field("subject", required=True),
        Field("week", required=True, doc="ISO week the snapshot is of, e.g. 2026-W48; one per week"),
        Field("taken_at", "datetime", required=True),
        Field("currency", "currency"),
        Field("open_count", "int"),
        Field("pipeline", "decimal"),
        Field("weighted", "decimal"),
        Field("commit_amount", "decimal"),
        Field("best_case", "decimal"),
        Field("won", "decimal"),
        Field("owner", doc="sync scope: the rep snapshotted, else who took it"),
        Field("team", doc="sync scope"),
    ),
    title="period",
)


# The manager's records (issue 14, docs/policy.md). Written on the server by managers (their team's)
# and admins only (sfa/server/roles.py). None is searchable: codes past 15 hold no search entry.

POLICY = Entity(
    "policy",
    "policy",
    24,
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
    25,
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
    26,
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
    27,
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
    28,
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
    29,
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

COMPETITOR = Entity(
    "competitor",
    "competitor",
    60,
    (
        Field("name", required=True),
        Field("website", "url"),
        *_scope_fields(),  # team: the team that tracks it (none: company-wide); notes: battle card
    ),
    search_fields=("name", "website", "notes"),
)

TERRITORY = Entity(
    "territory",
    "territory",
    30,
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

# Incentives (issue 16 §4, docs/incentives.md). Plans, assignments, splits and statements are the
# manager's records (sfa/server/roles.py); an approved plan and a statement past its draft are
# immutable on the server; commission lines are insert-only (corrections are new lines).
COMMISSION_BASES = ("won_amount", "order_amount", "contract_first_year")
COMMISSION_PLAN_STATUSES = ("draft", "approved")
SPLIT_KINDS = ("revenue", "overlay")
STATEMENT_STATUSES = ("draft", "approved", "exported")

COMMISSION_PLAN = Entity(
    "commission_plan",
    "commission_plan",
    34,
    (
        Field("name", required=True),
        Field("period", required=True, doc="2027-Q1, 2027-03 or 2027"),
        Field("basis", "enum", merge="flag", required=True, choices=COMMISSION_BASES),
        Field("rates", merge="flag", required=True, doc="rate table by attainment: 0%:2, 80%:4, 100%:6"),
        Field("family_rates", merge="flag", doc="per product family, percent: Pumps:5, Valves:3"),
        Field("cap", "decimal", merge="flag", doc="the most a rep earns in the period"),
        Field("currency", "currency", merge="flag"),
        Field("status", "enum", merge="flag", choices=COMMISSION_PLAN_STATUSES),
        Field("approved_by"),
        Field("approved_at", "datetime"),
        *_scope_fields(),  # team: the team whose plan it is
    ),
)

PLAN_ASSIGNMENT = Entity(
    "plan_assignment",
    "plan_assignment",
    35,
    (
        Field("plan_id", "ref", required=True, ref="commission_plan"),
        Field("rep", required=True, doc="user name of the rep paid by the plan"),
        Field("target", "decimal", merge="flag", required=True, doc="attainment is measured against it"),
        *_scope_fields(),  # owner: the rep; team: the plan's team
    ),
    title="rep",
)

OPPORTUNITY_SPLIT = Entity(
    "opportunity_split",
    "opportunity_split",
    36,
    (
        Field("opportunity_id", "ref", required=True, ref="opportunity"),
        Field("rep", required=True),
        Field("percent", "decimal", merge="flag", required=True, doc="share of the deal credited"),
        Field("kind", "enum", merge="flag", required=True, choices=SPLIT_KINDS),
        *_scope_fields(),  # owner: the rep credited; team: the deal's team
    ),
    title="rep",
)

COMMISSION_LINE = Entity(
    "commission_line",
    "commission_line",
    37,
    (
        Field("rep", required=True),
        Field("period", required=True),
        Field("plan_id", "ref", ref="commission_plan"),
        Field("source_entity", doc="opportunity, order or contract; empty for a manual correction"),
        Field("source_id", doc="the record the line pays for"),
        Field("pool", doc="empty: the rate table; else the product family paid at its own rate"),
        Field("basis", "decimal", doc="the amount credited to the rep (negative in a correction)"),
        Field("rate", "decimal", doc="percent"),
        Field("commission", "decimal", required=True, doc="what the line pays (negative: a correction)"),
        Field("currency", "currency"),
        Field("explanation", required=True, doc="one line: how the amount was reached"),
        Field("reason", doc="a correction's reason; empty for a line of the calculation"),
        Field("at", "datetime", required=True),
        Field("owner", doc="the rep (sync scope)"),
        Field("team", doc="sync scope"),
    ),
    title="explanation",
    insert_only=True,
)

COMMISSION_STATEMENT = Entity(
    "commission_statement",
    "commission_statement",
    38,
    (
        Field("rep", required=True),
        Field("period", required=True),
        Field("plan_id", "ref", ref="commission_plan"),
        Field("total", "decimal", merge="flag", required=True),
        Field("currency", "currency"),
        Field("line_count", "int"),
        Field("status", "enum", merge="flag", choices=STATEMENT_STATUSES),
        Field("approved_by"),
        Field("approved_at", "datetime"),
        Field("exported_at", "datetime"),
        *_scope_fields(),  # owner: the rep; team: the rep's team
    ),
    title="period",
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
        PRODUCT_OPTION,
        OPTION_RULE,
        PRODUCT_SPEC,
        CAMPAIGN,
        CAMPAIGN_MEMBER,
        APPROVAL,
        ORDER,
        ORDER_LINE,
        CONTRACT,
        CONTRACT_LINE,
        DOCUMENT,
        STAGE_CHANGE,
        FORECAST_ADJUSTMENT,
        FORECAST_SNAPSHOT,
        POLICY,
        PRICE_LIST,
        PRICE_LIST_ITEM,
        TARGET,
        REVIEW,
        PLAYBOOK,
        TERRITORY,
        COMMISSION_PLAN,
        PLAN_ASSIGNMENT,
        OPPORTUNITY_SPLIT,
        COMMISSION_LINE,
        COMMISSION_STATEMENT,
        COMPETITOR,
    )
}
