"""Contract rules: numbers, dates, states computed on read, renewal ids, and who may change what.
Pure, no I/O (docs/contracts.md).

Stored status: draft -> in approval -> activated -> terminated; reject -> draft; a revision replaces
a draft or in-approval contract (the old one is cancelled, kept as negotiation history). What an
activated contract is *now* (pending, active, renewal due, expired, renewed) is computed from its
dates on read, never stored, so no write happens on a read and two laptops cannot disagree.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from datetime import date, timedelta

from sfa.domain.errors import ValidationError

NUMBER_RE = re.compile(r"^C-(\d{4})-([0-9A-Z]{4})-(\d{4,})$", re.IGNORECASE)

DRAFT, IN_APPROVAL, ACTIVATED, TERMINATED, CANCELLED = (
    "draft",
    "in approval",
    "activated",
    "terminated",
    "cancelled",
)
# Computed states of an activated contract.
PENDING, ACTIVE, RENEWAL_DUE, EXPIRED, RENEWED = "pending", "active", "renewal due", "expired", "renewed"
STATES = (DRAFT, IN_APPROVAL, PENDING, ACTIVE, RENEWAL_DUE, EXPIRED, RENEWED, TERMINATED, CANCELLED)

DEFAULT_TERM_MONTHS = 12
DEFAULT_NOTICE_DAYS = 90
MAX_TERM_MONTHS = 1200
MAX_DAYS = 3650

# The roles that release or reject (the server checks, docs/contracts.md).
APPROVER_ROLES = ("manager", "admin")


def format_number(year: int, code: str, counter: int) -> str:
    return f"C-{year}-{code}-{counter:04d}"


def looks_like_number(text: str) -> bool:
    return NUMBER_RE.match(text.strip()) is not None


def parse_status(text: str) -> str:
    """ "in approval", "in-approval" and "in_approval" are one status; also the computed states."""
    value = re.sub(r"[-_ ]+", " ", text.strip().lower())
    if value not in STATES:
        raise ValidationError("status", f"{text!r} is not accepted; use one of {', '.join(STATES)}")
    return value


_TERM = re.compile(r"^(\d{1,4})\s*(m|mo|months?|y|years?)?$", re.IGNORECASE)
_DAYS = re.compile(r"^(\d{1,4})\s*(d|days?)?$", re.IGNORECASE)


def parse_term(text: str, field: str = "term") -> int:
    """ "24m", "24", "2y" -> months."""
    match = _TERM.match(text.strip())
    if not match:
        raise ValidationError(field, f"{text!r} is not a term; expected e.g. 24m or 2y")
    months = int(match.group(1)) * (12 if (match.group(2) or "m").lower().startswith("y") else 1)
    if not 1 <= months <= MAX_TERM_MONTHS:
        raise ValidationError(field, f"{text!r} is outside 1 to {MAX_TERM_MONTHS} months")
    return months


def parse_days(text: str, field: str) -> int:
    """ "90d" or "90" -> 90."""
    match = _DAYS.match(text.strip())
    if not match:
        raise ValidationError(field, f"{text!r} is not a number of days; expected e.g. 90d")
    days = int(match.group(1))
    if days > MAX_DAYS:
        raise ValidationError(field, f"{text!r} is more than {MAX_DAYS} days")
    return days


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def end_of(start: date, term_months: int) -> date:
    """The last day of a term: a 12-month contract from 2026-01-01 ends on 2026-12-31."""
    return add_months(start, term_months) - timedelta(days=1)


def state_of(
    status: str,
    start: date | None,
    end: date | None,
    lead_days: int,
    today: date,
    renewed: bool = False,
) -> str:
    """The state people see: the stored status, or for an activated contract what it is today."""
    if status != ACTIVATED:
        return status
    if renewed:
        return RENEWED
    if start is not None and today < start:
        return PENDING
    if end is not None:
        if today > end:
            return EXPIRED
        if today >= end - timedelta(days=lead_days):
            return RENEWAL_DUE
    return ACTIVE


def derived_id(base_id: str, purpose: str) -> str:
    """A UUID-shaped id derived from another record's id and a purpose ("renewal", "renewal-task",
    "renewal-line-3"): two laptops renewing the same contract offline create the same records, which
    sync as one. The time head is the base id's, the rest a hash, with version 7 and variant bits."""
    digest = hashlib.sha256(f"{base_id}/{purpose}".encode()).hexdigest()
    head = base_id.replace("-", "")[:12]
    variant = "89ab"[int(digest[3], 16) & 3]
    return f"{head[:8]}-{head[8:12]}-7{digest[:3]}-{variant}{digest[4:7]}-{digest[7:19]}"


# -- what a push may change (the server runs this; the CLI refuses the same earlier) ----------------

FREE_FIELDS = frozenset({"notes", "tags"})
SIGN_FIELDS = frozenset({"customer_signed_by", "customer_signed_on", "company_signed_by"})
RELEASE_FIELDS = frozenset({"status", "activated_by", "activated_at"})
REJECT_FIELDS = frozenset({"status", "reject_reason"})
TERMINATE_FIELDS = frozenset({"status", "terminated_on", "termination_reason"})
RENEWAL_LINK = frozenset({"renewed_by"})


def change_problem(
    current: dict[str, object] | None,
    changes: dict[str, object],
    *,
    approver: bool,
    line: bool = False,
) -> str | None:
    """Why this change of a contract (or, with `line`, of a line of the contract `current`) is not
    allowed, or None. `approver`: the writer is a manager of the contract's team or an admin."""
    status = (current or {}).get("status") or DRAFT
    if line:
        if status != DRAFT:
            return f"the contract is {status}; only a draft contract's lines can be changed"
        return None
    wanted = changes.get("status", status)
    rest = set(changes) - FREE_FIELDS
    if not rest:
        return None
    if current is None:
        if wanted not in (DRAFT, IN_APPROVAL) and not approver:
            return f"status: a new contract starts as a draft; only a manager creates one {wanted}"
        return None
    if status == DRAFT:
        if wanted == ACTIVATED and not approver:
            return "status: only a manager of the contract's team or an admin releases a contract"
        if wanted in (DRAFT, IN_APPROVAL, CANCELLED, ACTIVATED):
            return None
        return f"status: a draft cannot become {wanted}"
    if status == IN_APPROVAL:
        if rest <= SIGN_FIELDS:
            return None
        if wanted == CANCELLED and rest <= {"status"}:
            return None  # replaced by a revision
        if wanted == ACTIVATED and rest <= RELEASE_FIELDS | SIGN_FIELDS | {"company_signed_by"}:
            return (
                None
                if approver
                else "status: only a manager of the contract's team or an admin releases a contract"
            )
        if wanted == DRAFT and rest <= REJECT_FIELDS:
            return (
                None
                if approver
                else "status: only a manager of the contract's team or an admin rejects a contract"
            )
        return "the contract is in approval; only a draft is edited (revise it, or a manager rejects it)"
    if status == ACTIVATED:
        if rest <= RENEWAL_LINK:
            return None
        if wanted == TERMINATED and rest <= TERMINATE_FIELDS:
            return None
        return "the contract is activated; it is immutable except for termination and the renewal link"
    return f"the contract is {status}; it can no longer be changed"


def approval_problem(action: object, approver: bool) -> str | None:
    """An approval record: approve, reject and release are a manager's (of the team) or an admin's."""
    if action in ("approve", "reject", "release") and not approver:
        return f"action: only a manager of the record's team or an admin may {action}"
    return None
