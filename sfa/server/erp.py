"""The ERP hand-off (docs/orders.md): submitted orders out, the ERP's answers in.

`GET /v1/erp/orders?cursor=N` pages through submitted orders with the cursor semantics of pull (the
server sequence: an order is listed once it is submitted, and not again unless it changes while still
submitted); the order id is the ERP's idempotency key. `POST /v1/erp/ack` records the ERP's answer:
status, reference, message and per-line delivered/invoiced quantities, written with server clocks and
logged as changes, so they reach the rep through the normal pull. An answer repeated changes nothing.

Both are also reached without HTTP by `sfa server erp export|ack` (sfa/cli/server.py), over the
same functions. Only the `erp` and `admin` roles may call them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from pydantic import TypeAdapter
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from sfa.domain import orders as order_rules
from sfa.domain import quotes as quote_rules
from sfa.domain.dates import iso_utc
from sfa.domain.entities import ORDER, ORDER_LINE
from sfa.protocol import DEFAULT_PAGE, MAX_PAGE
from sfa.server import merge as rules
from sfa.server import wire
from sfa.server.merge import Invalid, User

ERP_ROLES = ("erp", "admin")
MAX_ACKS = 1000
# The change log's origin for the ERP's writes: no laptop has it, so every laptop pulls them.
ERP_CLIENT = "erp"


@dataclass
class ErpLine:
    id: str
    position: int
    sku: str | None
    description: str
    quantity: str
    unit_price: str
    discount_percent: str | None
    discount_amount: str | None
    tax_rate: str | None
    net: str
    delivered_quantity: str | None = None
    invoiced_quantity: str | None = None


@dataclass
class ErpOrder:
    """A submitted order as the ERP reads it; `id` is the idempotency key."""

    id: str
    number: str
    status: str
    account: dict[str, Any]
    currency: str
    customer_po: str | None
    requested_date: str | None
    ship_to: str | None
    bill_to: str | None
    payment_terms: str | None
    submitted_at: str | None
    owner: str | None
    lines: list[ErpLine]
    net: str
    tax: str
    total: str
    seq: int


@dataclass
class ErpOrdersPage:
    cursor: int
    head: int
    more: bool
    orders: list[ErpOrder]


@dataclass
class ErpLineAck:
    """Per line: by id or position; quantities as decimal strings."""

    id: str | None = None
    position: int | None = None
    delivered: str | None = None
    invoiced: str | None = None


@dataclass
class ErpAck:
    id: str
    status: str
    erp_ref: str | None = None
    message: str | None = None
    lines: list[ErpLineAck] = field(default_factory=list)


@dataclass
class ErpAckRequest:
    acks: list[ErpAck]


@dataclass
class ErpAckResult:
    id: str
    result: str  # applied, unchanged, rejected
    reason: str | None = None


@dataclass
class ErpAckResponse:
    results: list[ErpAckResult]


_MESSAGES = (ErpOrdersPage, ErpAckRequest, ErpAckResponse)


def components() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cls in _MESSAGES:
        generated = TypeAdapter(cls).json_schema(ref_template="#/components/schemas/{model}")
        out.update(generated.pop("$defs", {}))
        out[cls.__name__] = generated
    return out


# -- reading submitted orders ---------------------------------------------------------------------


def _values(fields: dict[str, list[Any]]) -> dict[str, Any]:
    return {name: pair[0] for name, pair in fields.items()}


def _lines_of(conn: Connection, order_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The live lines of an order. The server stores fields as JSON text written by one encoder, so
    the parent id appears as exactly this text in its lines (no JSON query, portable)."""
    needle = f'%"order_id":[{json.dumps(order_id)},%'
    rows = conn.execute(
        text("SELECT id, fields FROM record WHERE entity = 'order_line' AND deleted = :f AND fields LIKE :n"),
        {"f": False, "n": needle},
    ).all()
    out = [(str(r[0]), _values(json.loads(r[1]))) for r in rows]
    out = [(i, v) for i, v in out if v.get("order_id") == order_id]
    return sorted(out, key=lambda item: (item[1].get("position") or 0, item[0]))


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _order_json(conn: Connection, order_id: str, values: dict[str, Any], seq: int) -> ErpOrder:
    currency = values.get("currency") or "EUR"
    lines = _lines_of(conn, order_id)
    rule_lines = [
        quote_rules.Line(
            quantity=_dec(v.get("quantity")) or Decimal(0),
            unit_price=_dec(v.get("unit_price")) or Decimal(0),
            discount_percent=_dec(v.get("discount_percent")),
            discount_amount=_dec(v.get("discount_amount")),
            tax_rate=_dec(v.get("tax_rate")) or Decimal(0),
        )
        for _, v in lines
    ]
    totals = quote_rules.totals(rule_lines, currency)
    account_id = values.get("account_id")
    account_name = None
    if account_id:
        row = conn.execute(
            text("SELECT fields FROM record WHERE entity = 'account' AND id = :i"), {"i": account_id}
        ).first()
        if row is not None:
            account_name = _values(json.loads(row[0])).get("name")
    return ErpOrder(
        id=order_id,
        number=values.get("number") or "",
        status=values.get("status") or "",
        account={"id": account_id, "name": account_name},
        currency=currency,
        customer_po=values.get("customer_po"),
        requested_date=values.get("requested_date"),
        ship_to=values.get("ship_to"),
        bill_to=values.get("bill_to"),
        payment_terms=values.get("payment_terms"),
        submitted_at=values.get("submitted_at"),
        owner=values.get("owner"),
        lines=[
            ErpLine(
                id=line_id,
                position=int(v.get("position") or 0),
                sku=v.get("sku"),
                description=v.get("description") or "",
                quantity=str(v.get("quantity")),
                unit_price=str(v.get("unit_price")),
                discount_percent=v.get("discount_percent"),
                discount_amount=v.get("discount_amount"),
                tax_rate=v.get("tax_rate"),
                net=str(net),
                delivered_quantity=v.get("delivered_quantity"),
                invoiced_quantity=v.get("invoiced_quantity"),
            )
            for (line_id, v), net in zip(lines, totals.line_nets, strict=True)
        ],
        net=str(totals.net),
        tax=str(totals.tax),
        total=str(totals.total),
        seq=seq,
    )


def orders_page(conn: Connection, cursor: int, limit: int) -> ErpOrdersPage:
    """Submitted orders whose last change is after `cursor`, in server order."""
    head = int(conn.execute(text("SELECT value FROM counter WHERE name = 'seq'")).scalar_one())
    rows = conn.execute(
        text(
            "SELECT id, fields, seq FROM record WHERE entity = 'order' AND deleted = :f AND seq > :c"
            " AND seq <= :h ORDER BY seq LIMIT :n"
        ),
        {"f": False, "c": cursor, "h": head, "n": limit},
    ).all()
    orders = []
    for row in rows:
        values = _values(json.loads(row[1]))
        if values.get("status") == order_rules.SUBMITTED:
            orders.append(_order_json(conn, str(row[0]), values, int(row[2])))
    new_cursor = int(rows[-1][2]) if len(rows) == limit else head
    return ErpOrdersPage(new_cursor, head, new_cursor < head, orders)


# -- the ERP's answers ----------------------------------------------------------------------------


def parse_acks(data: Any) -> list[ErpAck]:
    """`{"acks": [...]}` or a bare list of acks; Invalid names the first problem."""
    items = data.get("acks") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise Invalid("acks: expected a list of acknowledgements")
    if len(items) > MAX_ACKS:
        raise Invalid(f"acks: at most {MAX_ACKS} in one request")
    return [parse_ack(item, n) for n, item in enumerate(items, start=1)]


def _quantity(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise Invalid(f"{where}: {value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise Invalid(f"{where}: {value!r} must be 0 or more")
    return str(wire.check_value(ORDER_LINE, "delivered_quantity", str(number)))


def _text(value: Any, where: str, limit: int = 2000) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str | int):
        raise Invalid(f"{where}: expected text")
    shown = str(value).strip()
    if len(shown) > limit:
        raise Invalid(f"{where}: longer than {limit} characters")
    return shown or None


def parse_ack(item: Any, n: int = 1) -> ErpAck:
    where = f"acks[{n}]"
    if not isinstance(item, dict):
        raise Invalid(f"{where}: expected an object")
    order_id = item.get("id")
    if not isinstance(order_id, str) or not order_id.strip():
        raise Invalid(f"{where}.id: the order id is required")
    status = item.get("status")
    if status not in order_rules.ERP_STATUSES:
        raise Invalid(
            f"{where}.status: {status!r} is not accepted; use one of {', '.join(order_rules.ERP_STATUSES)}"
        )
    lines = item.get("lines") or []
    if not isinstance(lines, list):
        raise Invalid(f"{where}.lines: expected a list")
    parsed_lines = []
    for m, line in enumerate(lines, start=1):
        at = f"{where}.lines[{m}]"
        if not isinstance(line, dict):
            raise Invalid(f"{at}: expected an object")
        line_id, position = line.get("id"), line.get("position")
        if line_id is None and position is None:
            raise Invalid(f"{at}: give the line's id or position")
        if position is not None and (isinstance(position, bool) or not isinstance(position, int)):
            raise Invalid(f"{at}.position: expected a whole number")
        parsed_lines.append(
            ErpLineAck(
                id=str(line_id) if line_id is not None else None,
                position=position,
                delivered=_quantity(line.get("delivered"), f"{at}.delivered"),
                invoiced=_quantity(line.get("invoiced"), f"{at}.invoiced"),
            )
        )
    return ErpAck(
        id=order_id.strip(),
        status=status,
        erp_ref=_text(item.get("erp_ref"), f"{where}.erp_ref", 200),
        message=_text(item.get("message"), f"{where}.message"),
        lines=parsed_lines,
    )


def apply_acks(conn: Connection, user: User, acks: list[ErpAck]) -> list[ErpAckResult]:
    """Record the ERP's answers in one transaction (the caller's), as server writes in the log."""
    from sfa.server.app import _Batch  # the same record and change-log writer as push

    lock = " FOR UPDATE" if conn.engine.dialect.name == "postgresql" else ""
    seq = int(conn.execute(text(f"SELECT value FROM counter WHERE name = 'seq'{lock}")).scalar_one())
    batch = _Batch(conn, user, ERP_CLIENT, seq, None)
    results = []
    for ack in acks:
        results.append(_apply_one(conn, batch, ack, iso_utc(datetime.now(UTC))))
    seq = batch.flush()
    conn.execute(text("UPDATE counter SET value = :v WHERE name = 'seq'"), {"v": seq})
    return results


def _set(batch: Any, entity: str, record_id: str, entry: list[Any], changes: dict[str, Any]) -> bool:
    fields = entry[0]
    changed = {k: v for k, v in changes.items() if fields.get(k, [None])[0] != v}
    if not changed:
        return False
    clocks = [fields[k][1] for k in changed if k in fields]
    clock = rules.server_tick(batch.now, *clocks)
    logged = {k: [v, clock] for k, v in changed.items()}
    fields.update({k: list(v) for k, v in logged.items()})
    entry[6] = True
    scope = (entry[1], entry[2])
    batch.log(entity, record_id, logged, scope, scope, None)
    return True


def _apply_one(conn: Connection, batch: Any, ack: ErpAck, at: str) -> ErpAckResult:
    entry = batch.load(ORDER.name, ack.id)
    if entry is None or entry[3]:
        return ErpAckResult(ack.id, "rejected", "no such order")
    status = entry[0].get("status", [None])[0]
    if status in (order_rules.DRAFT, order_rules.CANCELLED):
        return ErpAckResult(ack.id, "rejected", f"the order is {status}; only submitted orders are answered")
    lines = {line_id: values for line_id, values in _lines_of(conn, ack.id)}
    by_position = {values.get("position"): line_id for line_id, values in lines.items()}
    line_changes: list[tuple[str, dict[str, Any]]] = []
    for line in ack.lines:
        line_id = line.id if line.id is not None else by_position.get(line.position)
        if line_id is None or line_id not in lines:
            shown = line.id if line.id is not None else f"position {line.position}"
            return ErpAckResult(ack.id, "rejected", f"the order has no line {shown}")
        changes: dict[str, Any] = {}
        if line.delivered is not None:
            changes["delivered_quantity"] = line.delivered
        if line.invoiced is not None:
            changes["invoiced_quantity"] = line.invoiced
        line_changes.append((line_id, changes))
    applied = False
    for line_id, changes in line_changes:
        line_entry = batch.load(ORDER_LINE.name, line_id)
        if line_entry is not None and changes:
            applied = _set(batch, ORDER_LINE.name, line_id, line_entry, changes) or applied
    order_changes: dict[str, Any] = {"status": ack.status}
    if ack.erp_ref is not None:
        order_changes["erp_ref"] = ack.erp_ref
    if ack.message is not None:
        order_changes["erp_message"] = ack.message
    if _set(batch, ORDER.name, ack.id, entry, order_changes) or applied:
        _set(batch, ORDER.name, ack.id, entry, {"erp_at": at})
        return ErpAckResult(ack.id, "applied")
    return ErpAckResult(ack.id, "unchanged")


# -- HTTP -----------------------------------------------------------------------------------------


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _replies(name: str) -> dict[int | str, dict[str, Any]]:
    error = {"application/json": {"schema": _ref("ErrorReply")}}
    return {
        200: {"description": "OK", "content": {"application/json": {"schema": _ref(name)}}},
        400: {"description": "malformed body or parameter", "content": error},
        401: {"description": "missing, unknown or revoked token", "content": error},
        403: {"description": "not the erp or admin role", "content": error},
    }


def _erp_only(user: User) -> None:
    if user.role not in ERP_ROLES:
        raise HTTPException(403, "only the erp or admin role may use the ERP hand-off")


def register(app: FastAPI, engine: Engine, current_user: Any) -> None:
    """Add the ERP endpoints and their schemas to the app."""

    @app.get("/v1/erp/orders", responses=_replies("ErpOrdersPage"))
    def erp_orders(
        cursor: int = Query(0, ge=0),
        limit: int = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE),
        user: User = Depends(current_user),
    ) -> dict[str, Any]:
        _erp_only(user)
        with engine.connect() as conn:
            page = orders_page(conn, cursor, limit)
            conn.rollback()
        return TypeAdapter(ErpOrdersPage).dump_python(page, mode="json")  # type: ignore[no-any-return]

    @app.post(
        "/v1/erp/ack",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("ErpAckRequest")}},
            }
        },
        responses=_replies("ErpAckResponse"),
    )
    async def erp_ack(request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
        from sfa.server import limits
        from sfa.server.app import ApiError

        _erp_only(user)
        try:
            acks = parse_acks(limits.parse_json(await limits.read_body(request)))
        except limits.BodyError as exc:
            raise ApiError(exc.status, str(exc)) from None
        except Invalid as exc:
            raise ApiError(400, str(exc)) from None

        def write() -> list[ErpAckResult]:
            with engine.begin() as conn:
                return apply_acks(conn, user, acks)

        results = await run_in_threadpool(write)
        return TypeAdapter(ErpAckResponse).dump_python(ErpAckResponse(results), mode="json")  # type: ignore[no-any-return]

    base = app.openapi

    def openapi() -> dict[str, Any]:
        document = base()
        document["components"]["schemas"].update(components())
        return document

    app.openapi = openapi  # type: ignore[method-assign]


# -- files, for `sfa server erp export|ack` -------------------------------------------------------

EXPORT_CURSOR = "erp.export_cursor"
FORMATS = ("jsonl", "csv")
CSV_COLUMNS = (
    "id",
    "number",
    "status",
    "account",
    "currency",
    "customer_po",
    "requested_date",
    "total",
    "lines",
)
_CLI_USER = User("sfa server erp", "admin", None)


def _export_row(order: ErpOrder) -> dict[str, Any]:
    data: dict[str, Any] = TypeAdapter(ErpOrder).dump_python(order, mode="json")
    data.pop("seq", None)
    return data


def export_files(engine: Engine, fmt: str, output: Path, since: int | None = None) -> dict[str, Any]:
    """Write every submitted order after the cursor (default: where the last export stopped) to one
    file in `output`, one order a line; remember the new cursor."""
    import csv
    import io
    import os

    from sfa.domain.errors import NotFoundError, ValidationError

    if fmt not in FORMATS:
        raise ValidationError("format", f"{fmt!r} is not accepted; use jsonl or csv")
    if not output.is_dir():
        raise NotFoundError(f"--output {output}: no such directory")
    with engine.begin() as conn:
        if since is None:
            row = conn.execute(
                text("SELECT value FROM server_meta WHERE key = :k"), {"k": EXPORT_CURSOR}
            ).first()
            since = int(row[0]) if row else 0
        cursor, found = since, []
        while True:
            page = orders_page(conn, cursor, MAX_PAGE)
            found.extend(page.orders)
            cursor = page.cursor
            if not page.more:
                break
        path = None
        if found:
            path = output / f"orders-{since}-{cursor}.{fmt}"
            buffer = io.StringIO()
            if fmt == "jsonl":
                for order in found:
                    buffer.write(json.dumps(_export_row(order), ensure_ascii=False) + "\n")
            else:
                writer = csv.writer(buffer, lineterminator="\n")
                writer.writerow(CSV_COLUMNS)
                for order in found:
                    data = _export_row(order)
                    data["account"] = (data["account"] or {}).get("name")
                    data["lines"] = json.dumps(data["lines"], ensure_ascii=False)
                    writer.writerow([data.get(c) for c in CSV_COLUMNS])
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(buffer.getvalue(), encoding="utf-8")
            os.replace(tmp, path)
        updated = conn.execute(
            text("UPDATE server_meta SET value = :v WHERE key = :k"), {"v": str(cursor), "k": EXPORT_CURSOR}
        )
        if updated.rowcount == 0:
            conn.execute(
                text("INSERT INTO server_meta(key, value) VALUES (:k, :v)"),
                {"v": str(cursor), "k": EXPORT_CURSOR},
            )
    return {"file": str(path) if path else None, "orders": len(found), "since": since, "cursor": cursor}


def read_ack_file(path: Path) -> list[ErpAck]:
    """JSON lines, or CSV with the columns id, status, erp_ref, message and optionally lines (JSON)."""
    import csv

    from sfa.domain.errors import NotFoundError, ValidationError

    if not path.is_file():
        raise NotFoundError(f"{path}: no such file")
    try:
        content = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError("FILE", f"{path}: cannot be read: {exc}") from None
    items: list[Any] = []
    try:
        if path.suffix.lower() == ".csv":
            for row in csv.DictReader(content.splitlines()):
                item: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
                if "lines" in item:
                    item["lines"] = json.loads(item["lines"])
                items.append(item)
        else:
            items = [json.loads(line) for line in content.splitlines() if line.strip()]
    except (ValueError, csv.Error) as exc:
        raise ValidationError(
            "FILE", f"{path}: not valid {path.suffix.lstrip('.') or 'JSON lines'}: {exc}"
        ) from None
    try:
        return parse_acks(items)
    except Invalid as exc:
        raise ValidationError("FILE", f"{path}: {exc}") from None


def ack_file(engine: Engine, path: Path) -> list[ErpAckResult]:
    acks = read_ack_file(path)
    with engine.begin() as conn:
        return apply_acks(conn, _CLI_USER, acks)
