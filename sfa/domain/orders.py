"""Order rules: numbers, states, who may change what, and the pricing check at submit. Pure, no I/O.

Totals are the quote rules (sfa/domain/quotes.py): an order line is a quote line with delivered and
invoiced quantities beside it, so both documents add up the same way to the cent.

Order numbers look like ``O-2026-K7F2-0001``: the year, the replica's 4-character code (the same
code quote numbers use) and a per-replica counter (docs/orders.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sfa.domain import quotes as quote_rules

NUMBER_RE = re.compile(r"^O-(\d{4})-([0-9A-Z]{4})-(\d{4,})$", re.IGNORECASE)

DRAFT, SUBMITTED, ACKNOWLEDGED, REJECTED = "draft", "submitted", "acknowledged", "rejected"
CANCELLED, DELIVERED, INVOICED = "cancelled", "delivered", "invoiced"

# Statuses the ERP sets (POST /v1/erp/ack); a rep never does.
ERP_STATUSES = (ACKNOWLEDGED, REJECTED, DELIVERED, INVOICED)
# Open: not finished one way or the other.
OPEN_STATUSES = (DRAFT, SUBMITTED, ACKNOWLEDGED, DELIVERED)
# Fields only the ERP writes.
ERP_ORDER_FIELDS = frozenset({"erp_ref", "erp_message", "erp_at"})
ERP_LINE_FIELDS = frozenset({"delivered_quantity", "invoiced_quantity"})
# What a rep may still write on a submitted order: cancelling it (before the ERP acknowledged it),
# and the free bookkeeping fields.
CANCEL_FIELDS = frozenset({"status", "cancelled_at", "cancel_reason"})
FREE_FIELDS = frozenset({"notes", "tags"})


def format_number(year: int, code: str, counter: int) -> str:
    return f"O-{year}-{code}-{counter:04d}"


def looks_like_number(text: str) -> bool:
    return NUMBER_RE.match(text.strip()) is not None


def rep_change_problem(
    current: dict[str, object] | None, changes: dict[str, object], *, line: bool = False
) -> str | None:
    """Why a rep (not the ERP) may not make `changes` to an order (or, with `line`, to a line of an
    order whose fields are `current`); None when allowed. The server runs this on every push; the
    CLI refuses the same things earlier with friendlier words."""
    erp_fields = ERP_LINE_FIELDS if line else ERP_ORDER_FIELDS
    touched = sorted(name for name in changes if name in erp_fields)
    if touched:
        return f"{touched[0]}: written by the ERP only"
    status = (current or {}).get("status") or DRAFT
    if line:
        if status != DRAFT:
            return f"the order is {status}; only a draft order's lines can be changed"
        return None
    wanted = changes.get("status", status)
    if wanted in ERP_STATUSES and wanted != status:
        return f"status: {wanted} is set by the ERP only"
    if status == DRAFT:
        return None
    rest = set(changes) - FREE_FIELDS
    if not rest:
        return None
    if status == SUBMITTED and rest <= CANCEL_FIELDS and wanted in (CANCELLED, SUBMITTED):
        return None
    if status == CANCELLED and rest <= CANCEL_FIELDS and wanted == CANCELLED:
        return None
    return f"the order is {status}; a submitted order is locked (cancel it before the ERP acknowledges it)"


# -- the pricing check at submit ------------------------------------------------------------------


@dataclass(frozen=True)
class PricedLine:
    """What the pricing check needs of one order line."""

    position: int
    description: str
    line: quote_rules.Line
    product_id: str | None = None
    quote_line: quote_rules.Line | None = None  # the accepted quote's line it came from


@dataclass(frozen=True)
class Product:
    """The current price list entry of a product."""

    unit_price: Decimal
    tax_rate: Decimal | None
    active: bool
    deleted: bool = False


@dataclass(frozen=True)
class Finding:
    position: int | None  # None: about the whole order
    text: str
    blocking: bool  # needs --accept-differences (or a manager's approval)


@dataclass
class PricingCheck:
    findings: list[Finding] = field(default_factory=list)
    order_total: Decimal = Decimal(0)
    quote_total: Decimal | None = None

    @property
    def differs(self) -> bool:
        return any(f.blocking for f in self.findings)

    def lines(self) -> list[str]:
        """The findings as printed, one a line."""
        out = []
        for f in self.findings:
            where = f"line {f.position}" if f.position is not None else "order"
            out.append(f"{where}: {f.text}")
        return out


def _plain(value: Decimal) -> str:
    return quote_rules.plain_number(value)


def pricing_check(
    lines: Sequence[PricedLine],
    products: dict[str, Product],
    currency: str,
    quote_lines: Sequence[quote_rules.Line] | None = None,
) -> PricingCheck:
    """Each line against its accepted quote line and the current price list, then the totals.

    - the product is inactive or deleted now: a finding, blocking;
    - the price list's unit price or tax rate changed since the quote: a finding (information: the
      order keeps the quoted price, which is what the customer accepted);
    - the line differs from its quote line (quantity, price, discount, tax): blocking;
    - the order total differs from the quote total: blocking.
    """
    check = PricingCheck()
    for item in lines:
        product = products.get(item.product_id) if item.product_id else None
        if item.product_id and product is None:
            check.findings.append(Finding(item.position, "the product is no longer in the price list", True))
        elif product is not None:
            if product.deleted or not product.active:
                check.findings.append(
                    Finding(item.position, "the product is inactive in the price list", True)
                )
            reference = item.quote_line or item.line
            if product.unit_price != reference.unit_price:
                check.findings.append(
                    Finding(
                        item.position,
                        f"list price is now {_plain(product.unit_price)} (quoted {_plain(reference.unit_price)})",
                        False,
                    )
                )
            if product.tax_rate is not None and product.tax_rate != reference.tax_rate:
                check.findings.append(
                    Finding(
                        item.position,
                        f"tax rate is now {_plain(product.tax_rate)} % (quoted {_plain(reference.tax_rate)} %)",
                        True,
                    )
                )
        if item.quote_line is not None:
            check.findings.extend(_line_changes(item))
    check.order_total = quote_rules.totals((i.line for i in lines), currency).total
    if quote_lines is not None:
        check.quote_total = quote_rules.totals(quote_lines, currency).total
        if check.quote_total != check.order_total:
            check.findings.append(
                Finding(
                    None,
                    f"total {check.order_total} {currency} differs from the accepted quote's "
                    f"{check.quote_total} {currency}",
                    True,
                )
            )
    return check


def _line_changes(item: PricedLine) -> list[Finding]:
    quoted = item.quote_line
    assert quoted is not None
    out = []
    pairs = (
        ("quantity", item.line.quantity, quoted.quantity),
        ("unit price", item.line.unit_price, quoted.unit_price),
        ("tax rate", item.line.tax_rate, quoted.tax_rate),
    )
    for name, now, then in pairs:
        if now != then:
            out.append(
                Finding(item.position, f"{name} {_plain(now)} differs from the quote's {_plain(then)}", True)
            )
    if (item.line.discount_percent, item.line.discount_amount) != (
        quoted.discount_percent,
        quoted.discount_amount,
    ):
        out.append(Finding(item.position, "discount differs from the quote's", True))
    return out
