"""`sfa import csv`: rows from another tool's spreadsheet into sfa records.

Each batch of rows is checked first (values, duplicates), then written in one transaction through
the store, so change capture (field clocks, outbox, history, search index) is on and an interrupted
import leaves whole batches only. Duplicates are found with in-memory keys built once from the store
and extended with every accepted row, so rows repeated within the file are caught too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

from sfa.domain import ids, names, normalize
from sfa.domain.dates import utc_now
from sfa.domain.entities import ACCOUNT, CONTACT, LEAD, OPPORTUNITY, PRODUCT, TIMELINE, Entity
from sfa.domain.errors import SfaError, UsageError, ValidationError
from sfa.domain.money import round_money
from sfa.domain.stages import LOST, find_stage
from sfa.domain.text import check_text
from sfa.services import records
from sfa.services.interop import mapping as mapping_rules
from sfa.services.interop.spreadsheet import Forms, column_forms
from sfa.services.interop.textfile import FileRefused, Table, first_lines, read_csv
from sfa.store import codec
from sfa.store.db import BulkSession, Record, paused_gc
from sfa.store.workspace import Workspace

TYPES = {
    "account": ACCOUNT,
    "contact": CONTACT,
    "lead": LEAD,
    "product": PRODUCT,
    "opp": OPPORTUNITY,
    "opportunity": OPPORTUNITY,
}
ON_DUPLICATE = ("skip", "update", "create")
BATCH_SIZE = 10_000
FIRST_BULK_BATCH = 2_000
BULK_MIN_BYTES = 1 << 20  # about 10,000 rows: smaller files are written in this process

Progress = Callable[[int, int], None]


@dataclass
class Summary:
    entity: str
    file: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    accounts_created: int = 0
    mapping: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    dry_run: bool = False
    header_line: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.entity,
            "file": self.file,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "skipped": len(self.skipped),
            "rejected": len(self.rejected),
            "accounts_created": self.accounts_created,
            "mapping": self.mapping,
            "ignored_columns": self.ignored_columns,
            "header_line": self.header_line,
            "skipped_rows": self.skipped,
            "rejected_rows": self.rejected,
        }


@dataclass(frozen=True)
class Hit:
    entity: str
    record_id: str
    name: str
    reason: str


class KeyIndex:
    """Duplicate-check keys in memory: (reason, key) -> (entity, id, name) of the first record."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], tuple[str, str, str]] = {}

    def remember(
        self, entity: str, record_id: str, name: str, probes: Sequence[tuple[str, str | None]]
    ) -> None:
        owner = (entity, record_id, name)
        for reason, key in probes:
            if key:
                self.keys.setdefault((reason, key), owner)

    def match(self, probes: Sequence[tuple[str, str | None]]) -> Hit | None:
        for reason, key in probes:
            if key:
                found = self.keys.get((reason, key))
                if found is not None:
                    return Hit(*found, reason)
        return None


class Accounts:
    """Accounts by normalised name key, for linking contacts and opportunities by account name."""

    def __init__(self, ws: Workspace) -> None:
        self.by_key: dict[str, str] = {}
        self.key_of: dict[str, str] = {}
        for record_id, _name, key in ws.store.key_rows(ACCOUNT, ("name_key",)):
            self.key_of[record_id] = key or ""
            if key:
                self.by_key.setdefault(key, record_id)

    def add(self, record_id: str, name: str, key: str) -> None:
        self.key_of[record_id] = key
        if key:
            self.by_key.setdefault(key, record_id)


# -- duplicate keys per record type ---------------------------------------------------------------


def _fold_sku(sku: str | None) -> str | None:
    return " ".join(sku.split()).lower() if sku else None


def _person_probes(entity: Entity, values: Record, account_key: str) -> list[tuple[str, str | None]]:
    """A contact's or lead's duplicate probes (the store computes its key columns itself)."""
    email, phone = normalize.email_key(values.get("email")), normalize.phone_key(values.get("phone"))
    if entity is CONTACT:
        person = normalize.person_key(values.get("name"))
        mobile = normalize.phone_key(values.get("mobile"))
        return [
            ("email", email),
            ("phone", phone),
            ("phone", mobile),
            ("name and account", f"{person}|{account_key}" if person else None),
        ]
    name_key = normalize.name_company_key(values.get("name"), values.get("company"))
    return [("email", email), ("phone", phone), ("name and company", name_key)]


def _probes(entity: Entity, values: Record, account_key: str) -> list[tuple[str, str | None]]:
    if entity is CONTACT or entity is LEAD:
        return _person_probes(entity, values, account_key)
    if entity is ACCOUNT:
        return [("name", normalize.company_key(values.get("name")) or None)]
    if entity is PRODUCT:
        return [("sku", _fold_sku(values.get("sku")))]
    name = normalize.fold(values.get("name") or "")
    return [("name and account", f"{name}|{values.get('account_id')}" if name else None)]


def _load_index(ws: Workspace, entity: Entity, accounts: Accounts) -> KeyIndex:
    index = KeyIndex()
    store = ws.store
    if entity in (CONTACT, LEAD):
        for row in store.key_rows(
            CONTACT, ("email_key", "phone_key", "mobile_key", "name_key", "account_id")
        ):
            person = (row[5] or "|").split("|")[0]
            account_key = accounts.key_of.get(row[6], "") if row[6] else ""
            reason = "name and account" if entity is CONTACT else "name and company"
            index.remember(
                "contact",
                row[0],
                row[1],
                [
                    ("email", row[2]),
                    ("phone", row[3]),
                    ("phone", row[4]),
                    (reason, f"{person}|{account_key}" if person else None),
                ],
            )
    if entity is LEAD:
        for row in store.key_rows(LEAD, ("email_key", "phone_key", "name_key")):
            index.remember(
                "lead", row[0], row[1], [("email", row[2]), ("phone", row[3]), ("name and company", row[4])]
            )
    if entity is ACCOUNT:
        for row in store.key_rows(ACCOUNT, ("name_key",)):
            index.remember("account", row[0], row[1], [("name", row[2])])
    if entity is PRODUCT:
        for row in store.key_rows(PRODUCT, ("sku",)):
            index.remember("product", row[0], row[1], [("sku", _fold_sku(row[2]))])
    if entity is OPPORTUNITY:
        for row in store.key_rows(OPPORTUNITY, ("account_id",)):
            index.remember(
                "opportunity", row[0], row[1], [("name and account", f"{normalize.fold(row[1])}|{row[2]}")]
            )
    return index


# -- one row ----------------------------------------------------------------------------------------


@dataclass
class _Batch:
    accounts: list[Record] = field(default_factory=list)
    account_ids: list[str] = field(default_factory=list)
    creates: list[Record] = field(default_factory=list)
    create_ids: list[str] = field(default_factory=list)
    pending: dict[str, Record] = field(default_factory=dict)  # id -> values, created in this batch
    updates: list[tuple[int, str, Record]] = field(default_factory=list)  # (line, id, changes)
    timeline: list[Record] = field(default_factory=list)
    id_pool: list[str] = field(default_factory=list)

    def new_id(self) -> str:
        """Ids from one random read per 1,024 rows, in ascending order (the id index is appended to)."""
        if not self.id_pool:
            self.id_pool = sorted(ids.uuid7_many(1024), reverse=True)
        return self.id_pool.pop()


class _RowError(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _raw_values(
    entity: Entity,
    cells: list[str],
    header_len: int,
    columns: list[tuple[int, str]],
    labelled_phones: Sequence[tuple[int, int]] = (),
) -> dict[str, str]:
    width = len(cells)
    if width > header_len and any(c.strip() for c in cells[header_len:]):
        raise _RowError(
            f"has {width} fields but the header has {header_len} (a delimiter or quote out of place?)"
        )
    raw: dict[str, str] = {}
    for index, target in columns:
        if index < width:
            value = cells[index].strip()
            if value:
                if "\r" in value:  # a line break inside a cell, as Windows writes it: one \n
                    value = value.replace("\r\n", "\n").replace("\r", "\n")
                raw[target] = value
    for label_index, value_index in labelled_phones:
        number = cells[value_index].split(":::")[0].strip() if value_index < width else ""
        if number:  # Google joins several numbers of one label with " ::: "; the first is kept
            label = cells[label_index].lower() if label_index < width else ""
            raw.setdefault("mobile" if "mobile" in label or "cell" in label else "phone", number)
    if entity is CONTACT or entity is LEAD:
        name = raw.get("name")
        if "first_name" in raw or "middle_name" in raw or "last_name" in raw:
            parts = [raw.pop(p, "") for p in mapping_rules.NAME_PARTS]
            name = name or names.join_name(*parts)
        if name:
            raw["name"] = names.unflip(" ".join(name.split()))
    else:
        for part in mapping_rules.NAME_PARTS:
            raw.pop(part, None)
    if "tags" in raw:
        tags = raw["tags"].replace(":::", ",").replace(";", ",").replace("*", "").split(",")
        # Google puts every contact in its "myContacts" system group: not a tag anyone chose.
        raw["tags"] = ",".join(t for t in tags if t.strip().lower() != "mycontacts")
    return raw


class CsvImporter:
    def __init__(
        self, ws: Workspace, entity: Entity, *, on_duplicate: str, dry_run: bool, forms: Forms | None = None
    ) -> None:
        self.ws = ws
        self.forms = forms or Forms({}, {})
        self.entity = entity
        self.on_duplicate = on_duplicate
        self.dry_run = dry_run
        self.defaults = records.scope_defaults(ws) if "owner" in entity.by_name else {}
        self.accounts = Accounts(ws)
        self.index = _load_index(ws, entity, accounts=self.accounts)
        self.currency = ws.setting("currency")
        self.stages = ws.stages if entity is OPPORTUNITY else ()
        self._company_keys: dict[str, str] = {}
        self.kept_ids: dict[str, str] = {}  # id -> title of records created with the id their source gave

    def company_key(self, name: str) -> str:
        """The account name key, remembered: a file names the same companies again and again."""
        key = self._company_keys.get(name)
        if key is None:
            key = self._company_keys[name] = normalize.company_key(name)
        return key

    def _spreadsheet_values(self, raw: dict[str, str]) -> None:
        """Dates and numbers in the forms spreadsheets write, made into sfa's (spreadsheet.py); a
        currency symbol gives the row's currency."""
        for name, read_date in self.forms.dates.items():
            if name in raw:
                raw[name] = read_date(raw[name])
        for name, read_number in self.forms.numbers.items():
            if name not in raw:
                continue
            text = raw[name]
            raw[name], currency = read_number(text)
            if currency is None or "currency" not in self.entity.by_name:
                continue
            stated = raw.get("currency", "").strip().upper()
            if stated and stated != currency:
                raise ValidationError(name, f"{text!r} is in {currency}, but the row's currency is {stated}")
            raw["currency"] = currency

    # Values typed as the row gives them, checked by field kind; the account name kept aside.
    def prepare(self, raw: dict[str, str]) -> tuple[Record, str | None]:
        account_name = raw.pop(mapping_rules.ACCOUNT_BY_NAME, None)
        if account_name:  # the name of an account the import may create: the rules of its name
            check_text("account", account_name)
        if self.entity is OPPORTUNITY:
            return self._prepare_opportunity(raw, account_name), account_name
        values = records.clean(self.ws, self.entity, raw, creating=True)
        if self.entity is PRODUCT and values.get("unit_price") is not None:
            # A price: rounded to the currency's minor unit, as opportunity amounts are.
            currency = values.get("currency") or self.currency
            values["unit_price"] = round_money(Decimal(values["unit_price"]), currency)
        return values, account_name

    def _prepare_opportunity(self, raw: dict[str, str], account_name: str | None) -> Record:
        raw = dict(raw)
        stage_text = raw.pop("stage", None)
        stage = find_stage(self.stages, stage_text) if stage_text else self.stages[0]
        if not account_name and not raw.get("account_id"):
            raise ValidationError("account", "is required (an account name or account_id)")
        # The account may come by name (found or created later), so account_id is not required here.
        values = records.clean(self.ws, OPPORTUNITY, {**raw, "stage": stage.name}, creating=False)
        for spec in OPPORTUNITY.fields:
            if spec.required and spec.name != "account_id" and values.get(spec.name) is None:
                raise ValidationError(spec.name, "is required")
        values.setdefault("currency", self.currency)
        if values.get("probability") is None:
            values["probability"] = stage.probability
        if not 0 <= values["probability"] <= 100:
            raise ValidationError("probability", f"{values['probability']} is outside 0..100")
        if values.get("amount") is not None:
            values["amount"] = round_money(Decimal(values["amount"]), values["currency"])
        if stage.name == LOST and not values.get("lost_reason"):
            raise ValidationError("lost_reason", "a lost opportunity needs a reason")
        return values

    def _account_for(self, name: str, batch: _Batch) -> str:
        key = self.company_key(name)
        existing = self.accounts.by_key.get(key) if key else None
        if existing:
            return existing
        record_id = batch.new_id()
        batch.accounts.append({**records.scope_defaults(self.ws), "name": " ".join(name.split())})
        batch.account_ids.append(record_id)
        self.accounts.add(record_id, name, key)
        return record_id

    def row(
        self, line: int, raw: dict[str, str], batch: _Batch, summary: Summary, record_id: str | None = None
    ) -> None:
        """One row: checked, then queued as a create, an update, or a skip.

        `record_id` is an id the source carries (a vCard UID written by sfa): the record keeps it,
        and a record that already has it is the duplicate.
        """
        entity = self.entity
        if self.forms.dates or self.forms.numbers:
            self._spreadsheet_values(raw)
        provided = set(raw)
        values, account_name = self.prepare(raw)
        # What the row itself says (not the defaults filled in): an update changes only these.
        given = {name: value for name, value in values.items() if name in provided}
        if "stage" in given and "probability" not in given:
            given["probability"] = values["probability"]  # the probability follows the stage
        if account_name:
            account_key = self.company_key(account_name)
        elif values.get("account_id"):
            account_key = self.accounts.key_of.get(values["account_id"], "")
        else:
            account_key = ""
        if entity is OPPORTUNITY and account_name:
            # The duplicate key needs the account id; an unknown account means a new opportunity.
            values["account_id"] = self.accounts.by_key.get(account_key) or f"new:{account_key}"
        probes = _probes(entity, values, account_key)
        hit = self.index.match(probes) if self.on_duplicate != "create" else None
        kept_id = record_id
        if record_id is not None:
            known = self.ws.store.find(entity, record_id)
            earlier = self.kept_ids.get(record_id)  # an earlier row of this file had the id
            if known is None and earlier is None:
                pass
            elif self.on_duplicate == "create":
                record_id = kept_id = None
            else:
                name = str(known.get(entity.title) or "") if known is not None else earlier or ""
                deleted = known is not None and bool(known.get("deleted"))
                hit = Hit(entity.name, record_id, name, "id, deleted in sfa" if deleted else "id")
        if hit is not None:
            self._duplicate(line, hit, given, account_name, batch, summary)
            return
        if account_name:
            values["account_id"] = self._account_for(account_name, batch)
            given["account_id"] = values["account_id"]
        if entity is LEAD:
            values.setdefault("status", "new")
        if entity is PRODUCT:
            values.setdefault("currency", self.currency)
            values.setdefault("active", True)
        record_id = record_id or batch.new_id()
        full = {**self.defaults, **values}
        batch.creates.append(full)
        batch.create_ids.append(record_id)
        batch.pending[record_id] = full
        if entity is OPPORTUNITY:
            batch.timeline.append(
                {
                    "record_entity": "opportunity",
                    "record_id": record_id,
                    "account_id": values["account_id"],
                    "kind": "stage",
                    "text": f"imported at stage {values['stage']}",
                    "owner": self.ws.owner,
                }
            )
        if entity is OPPORTUNITY:
            probes = _probes(entity, values, account_key)
        self.index.remember(entity.name, record_id, str(values.get(entity.title) or ""), probes)
        if kept_id is not None:
            self.kept_ids[kept_id] = str(values.get(entity.title) or "")
        summary.created += 1

    def _duplicate(
        self, line: int, hit: Hit, given: Record, account_name: str | None, batch: _Batch, summary: Summary
    ) -> None:
        described = f"{hit.entity} {ids.handle_of(hit.record_id)[:8]} {hit.name!r} (same {hit.reason})"
        if self.on_duplicate == "skip" or hit.entity != self.entity.name:
            summary.skipped.append(
                {
                    "line": line,
                    "reason": f"duplicate of {described}",
                    "duplicate_of": {
                        "entity": hit.entity,
                        "id": hit.record_id,
                        "name": hit.name,
                        "reason": hit.reason,
                    },
                }
            )
            return
        changes = dict(given)
        if account_name and "account_id" not in changes:
            changes["account_id"] = self._account_for(account_name, batch)
        if hit.record_id in batch.pending:
            batch.pending[hit.record_id].update(changes)
            summary.updated += 1
            return
        current = self.ws.store.get(self.entity, hit.record_id, include_deleted=True)
        changed = {
            name: value
            for name, value in changes.items()
            if codec.to_wire(self.entity.by_name[name], current[name])
            != codec.to_wire(self.entity.by_name[name], value)
        }
        if not changed:
            summary.skipped.append(
                {
                    "line": line,
                    "reason": f"unchanged: same as {described}",
                    "duplicate_of": {
                        "entity": hit.entity,
                        "id": hit.record_id,
                        "name": hit.name,
                        "reason": hit.reason,
                    },
                }
            )
            return
        batch.updates.append((line, hit.record_id, changed))
        summary.updated += 1

    def write(self, batch: _Batch, summary: Summary, bulk: BulkSession | None = None) -> None:
        """One batch, one transaction: here, or (`bulk`) in the writer process while the next is read."""
        summary.accounts_created += len(batch.accounts)
        if self.dry_run:
            return
        timeline = [{**t, "at": utc_now()} for t in batch.timeline]
        if bulk is not None and not batch.updates:
            bulk.insert_many(ACCOUNT, batch.accounts, record_ids=batch.account_ids, records=False)
            bulk.insert_many(self.entity, batch.creates, record_ids=batch.create_ids, records=False)
            bulk.insert_many(TIMELINE, timeline, records=False)
            bulk.commit()
            return
        store = self.ws.store
        with store.transaction():
            if batch.accounts:
                store.insert_many(ACCOUNT, batch.accounts, record_ids=batch.account_ids)
            if batch.creates:
                store.insert_many(self.entity, batch.creates, record_ids=batch.create_ids)
            for _line, record_id, changes in batch.updates:
                store.update(self.entity, record_id, changes)
            if timeline:
                store.insert_many(TIMELINE, timeline)


def entity_for(type_name: str) -> Entity:
    try:
        return TYPES[type_name.strip().lower()]
    except KeyError:
        raise UsageError(
            f"type: {type_name!r} is not a record type; use one of account, contact, lead, product, opp",
            asks_for=("type",),
        ) from None


def check_header(path: Path, entity: Entity, table: Table, mapped: mapping_rules.Mapping) -> None:
    """Refuse a file whose first line is not a header sfa can use (nothing is written)."""
    if table.header and table.header[0].lstrip().startswith(("{", "[")):
        raise FileRefused(
            f"{path}: line {table.header_line} is JSON, not a CSV header "
            "(a backup written by sfa export all is read by sfa import all)"
        )
    if not mapped.columns:
        looks_like_data = any("@" in h or sum(c.isdigit() for c in h) >= 5 for h in table.header)
        what = "looks like data, not a header line" if looks_like_data else "names no field sfa knows"
        shown = _shown_columns(table.header, quoted=True)
        raise FileRefused(
            f"{path}: line {table.header_line} {what} ({shown}); "
            "give the header line, or map the columns (COLUMN=FIELD)",
            asks_for=("map",),
        )
    missing = mapping_rules.missing_required(entity.name, mapped)
    if missing:
        wanted = " and ".join(missing)
        raise FileRefused(
            f"{path}: no column gives the {entity.name} {wanted}; columns are "
            f"{_shown_columns(table.header)}. Map one: COLUMN={missing[0]}",
            asks_for=("map",),
        )


def _shown_columns(header: Sequence[str], *, quoted: bool = False) -> str:
    """Column names for an error line: at most 8, each cut at 40 characters (the line stays one
    readable line even when the "header" is a line of JSON)."""
    names = [h if len(h) <= 40 else h[:39] + "…" for h in header[:8]]
    shown = ", ".join(repr(n) if quoted else n for n in names)
    return shown + (f", … ({len(header)} columns)" if len(header) > 8 else "")


def import_csv(
    ws: Workspace,
    path: Path,
    type_name: str,
    *,
    maps: Sequence[str] = (),
    dry_run: bool = False,
    on_duplicate: str = "skip",
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> Summary:
    entity = entity_for(type_name)
    if on_duplicate not in ON_DUPLICATE:
        raise UsageError(
            f"on_duplicate: {on_duplicate!r}: use one of {', '.join(ON_DUPLICATE)}",
            asks_for=("on_duplicate",),
        )
    overrides = mapping_rules.parse_overrides(entity.name, maps)
    if dry_run:
        ws.check_without_creating()
    # A large file is written by the store's writer process, on the other core, while the next
    # batch is read and checked; the writer is started before the file is read, so that the memory
    # its fork shares is small. Updating duplicates reads records the previous batch may still be
    # writing, so that mode (and a dry run) stays in this process, as do small files.
    with ExitStack() as stack:
        bulk = None
        if not dry_run and on_duplicate != "update" and _size(path) >= BULK_MIN_BYTES:
            bulk = stack.enter_context(ws.store.bulk())
        table = read_csv(path)
        mapped = mapping_rules.guess(entity.name, table.header, overrides)
        if not mapped.columns and not overrides:
            below = _header_below_titles(path, entity)
            if below is not None:
                table = read_csv(path, header_from=below)
                mapped = mapping_rules.guess(entity.name, table.header, overrides)
        check_header(path, entity, table, mapped)
        summary = Summary(
            entity.name,
            str(path),
            rows=len(table.rows) + len(table.broken),
            dry_run=dry_run,
            mapping=mapped.as_dict(table.header),
            ignored_columns=mapped.ignored,
            header_line=table.header_line,
        )
        summary.rejected += [{"line": line, "reason": reason} for line, reason in table.broken]
        importer = CsvImporter(
            ws, entity, on_duplicate=on_duplicate, dry_run=dry_run, forms=_forms(entity, table, mapped)
        )
        if progress:
            progress(0, len(table.rows))
        with paused_gc():  # rows are dicts and lists of strings: no cycles for the collector to find
            _import_rows(table, entity, mapped, importer, summary, progress, batch_size, bulk)
    summary.rejected.sort(key=lambda rejected: int(rejected["line"]))
    return summary


def _forms(entity: Entity, table: Table, mapped: mapping_rules.Mapping) -> Forms:
    """How the file's date and number columns are read, decided per column (spreadsheet.py)."""
    dates = {f.name for f in entity.fields if f.kind == "date"}
    numbers = {f.name for f in entity.fields if f.kind in ("decimal", "int")}
    columns = {
        target: _column(table, index)
        for index, target in mapped.columns
        if target in dates or target in numbers
    }
    return column_forms(columns, dates, numbers)


def _column(table: Table, index: int) -> Iterator[str]:
    """A column's values, read only as far as a caller looks (usually a few rows)."""
    return (cells[index] for _, cells in table.rows if index < len(cells))


def _header_below_titles(path: Path, entity: Entity) -> int | None:
    """The line of a usable header among the first lines, when the first line is a title (a report
    name, an export date) rather than the header."""
    for number, cells in first_lines(path, 10)[1:]:
        candidate = mapping_rules.guess(entity.name, cells, [])
        if candidate.columns and mapping_rules.missing_required(entity.name, candidate) is None:
            return number
    return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # read_csv reports it


def _batches(total: int, size: int, bulk: bool) -> list[tuple[int, int]]:
    """Row ranges of the batches. With the writer process the first batch is small, so that it
    starts writing soon instead of idling while this process checks a whole batch."""
    first = FIRST_BULK_BATCH if bulk and size > FIRST_BULK_BATCH else size
    bounds = [0, *range(min(first, total), total, size), total] if total else [0]
    return list(pairwise(bounds))


def _import_rows(
    table: Table,
    entity: Entity,
    mapped: mapping_rules.Mapping,
    importer: CsvImporter,
    summary: Summary,
    progress: Progress | None,
    batch_size: int,
    bulk: BulkSession | None = None,
) -> None:
    total = len(table.rows)
    header_len = len(table.header)
    done = 0
    id_column = mapped.id_column
    for start, end in _batches(total, batch_size, bulk is not None):
        batch = _Batch()
        for line, cells in table.rows[start:end]:
            try:
                raw = _raw_values(entity, cells, header_len, mapped.columns, mapped.labelled_phones)
                # An sfa export's id column: the record keeps its id (so references between
                # files, like a contact's account_id, still hold); other tools' ids are not ours.
                kept = (
                    ids.parse_full_id(cells[id_column])
                    if id_column is not None and id_column < len(cells)
                    else None
                )
                importer.row(line, raw, batch, summary, record_id=kept)
            except _RowError as exc:
                summary.rejected.append({"line": line, "reason": exc.reason})
            except SfaError as exc:
                summary.rejected.append({"line": line, "reason": str(exc)})
            done += 1
            if progress and done % 500 == 0:
                progress(done, total)
        importer.write(batch, summary, bulk)
        if progress:
            progress(done, total)
