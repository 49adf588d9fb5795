"""Exports of records as CSV or JSON, and the full backup: `export all` and `import all`.

Field names and value forms are those of `--json` (the wire form of sfa.store.codec): decimals,
dates and instants as strings, tags and refs as lists (joined with commas in CSV).

A backup is a directory: manifest.json (format, schema version, counts), one JSON Lines file per
record type, every record with its id, its fields and its created_at/updated_at, deleted ones too,
and settings.json, the configuration (company, stages, currency, quote terms, ...; the sync token
lives elsewhere and is not in it). `import all` restores the records into an empty store in one
transaction, keeping the ids, then the settings the store's home has not set itself.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from sfa import __version__
from sfa.domain.dates import iso_utc, utc_now
from sfa.domain.entities import ENTITIES, Entity
from sfa.domain.errors import NotFoundError, UsageError, ValidationError
from sfa.domain.hlc import Hlc
from sfa.services.interop.textfile import FileRefused
from sfa.services.workspace import Workspace
from sfa.store import codec
from sfa.store.db import Record
from sfa.store.migrations import LATEST

BACKUP_FORMAT = "sfa-backup"
BACKUP_VERSION = 1
MANIFEST = "manifest.json"
SETTINGS_FILE = "settings.json"
_ALIASES = {"opp": "opportunity", "opps": "opportunity", "quote-line": "quote_line", "line": "quote_line"}


def export_entity(type_name: str) -> Entity:
    name = type_name.strip().lower()
    name = _ALIASES.get(name, name)
    if name.endswith("s") and name[:-1] in ENTITIES:
        name = name[:-1]
    if name not in ENTITIES:
        raise UsageError(f"--type {type_name!r}: use one of {', '.join(ENTITIES)} (or opp)")
    return ENTITIES[name]


def wire_record(entity: Entity, record: Record) -> dict[str, Any]:
    """A record as `--json` shows it (without the display-only short ref)."""
    data: dict[str, Any] = {"id": record["id"]}
    for field in entity.fields:
        data[field.name] = codec.to_wire(field, record.get(field.name))
    data["created_at"] = record["created_at"]
    data["updated_at"] = record["updated_at"]
    return data


def columns_of(entity: Entity) -> list[str]:
    return ["id", *entity.field_names, "created_at", "updated_at"]


def export_records(ws: Workspace, entity: Entity, *, include_deleted: bool = False) -> list[dict[str, Any]]:
    rows = ws.store.select(entity, include_deleted=include_deleted)
    return [wire_record(entity, r) for r in rows]


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def write_csv(entity: Entity, rows: list[dict[str, Any]], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    columns = columns_of(entity)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row[c]) for c in columns])


def write_json(rows: list[dict[str, Any]], out: TextIO) -> None:
    json.dump(rows, out, indent=2, ensure_ascii=False, default=codec.json_default)
    out.write("\n")


def render(entity: Entity, rows: list[dict[str, Any]], fmt: str) -> str:
    buffer = io.StringIO(newline="")
    if fmt == "csv":
        write_csv(entity, rows, buffer)
    else:
        write_json(rows, buffer)
    return buffer.getvalue()


def write_file_atomic(path: Path, text: str) -> None:
    """Write the whole file or nothing: a temporary file beside it, renamed into place."""
    path = path.expanduser()
    if path.is_dir():
        raise ValidationError("--output", f"{path} is a directory; give a file name")
    if not path.parent.exists():
        raise NotFoundError(f"--output {path}: directory {path.parent} does not exist")
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


# -- the full backup ----------------------------------------------------------------------------


def _snapshot(ws: Workspace) -> Iterator[tuple[Entity, list[dict[str, Any]]]]:
    """Every record of every type, with its field clocks, read in one read transaction."""
    conn = ws.store.conn
    conn.execute("BEGIN")
    try:
        for entity in ENTITIES.values():
            clocks = dict(conn.execute(f"SELECT id, clocks FROM {entity.table}").fetchall())
            rows = export_records(ws, entity, include_deleted=True)
            yield entity, [{**row, "clocks": codec.read_clocks(clocks[row["id"]])} for row in rows]
    finally:
        conn.execute("COMMIT")


def export_all(ws: Workspace, directory: Path) -> dict[str, Any]:
    directory = directory.expanduser()
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ValidationError("--output", f"{directory} exists and is not an empty directory; give a new one")
    parent = directory.parent
    if not parent.exists():
        raise NotFoundError(f"--output {directory}: directory {parent} does not exist")
    temp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=parent))
    try:
        counts: dict[str, dict[str, Any]] = {}
        for entity, rows in list(_snapshot(ws)):
            name = f"{entity.name}.jsonl"
            with (temp / name).open("w", encoding="utf-8", newline="\n") as handle:
                for row in rows:
                    handle.write(codec.dumps(row))
                    handle.write("\n")
            counts[entity.name] = {"file": name, "count": len(rows)}
        manifest = {
            "format": BACKUP_FORMAT, "format_version": BACKUP_VERSION,
            "schema_version": ws.store.schema_version, "sfa_version": __version__,
            "exported_at": iso_utc(utc_now()), "replica_id": ws.store.replica_id, "types": counts,
            "settings": SETTINGS_FILE,
        }  # fmt: skip
        configured = dict(sorted(ws.config.values().items()))
        (temp / SETTINGS_FILE).write_text(json.dumps(configured, indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")  # fmt: skip
        (temp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if directory.exists():
            directory.rmdir()
        os.replace(temp, directory)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return {"directory": str(directory), "types": {k: v["count"] for k, v in counts.items()},
            "settings": len(configured)}  # fmt: skip


def _read_settings(directory: Path, manifest: dict[str, Any]) -> dict[str, str]:
    """The backup's settings, each checked as `sfa config set` checks it (a backup written before
    settings were saved has none)."""
    from sfa.domain import settings

    name = manifest.get("settings")
    if not name:
        return {}
    path = directory / Path(str(name)).name
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileRefused(f"{directory}: the manifest lists {path.name} but the file is missing") from None
    except (OSError, ValueError) as exc:
        raise FileRefused(f"{path}: cannot read the settings: {exc}") from None
    if not isinstance(values, dict):
        raise FileRefused(f"{path}: the settings are not an object of key: value")
    checked = {}
    for key, value in values.items():
        known = settings.SETTINGS.get(str(key))
        if known is None:
            continue  # a setting a newer sfa knows: nothing here reads it
        try:
            checked[known.key] = known.check(str(value))
        except ValidationError as exc:
            raise FileRefused(f"{path}: {key}: {exc}; nothing was restored") from None
    return checked


def _read_manifest(directory: Path) -> dict[str, Any]:
    if not directory.is_dir():
        raise NotFoundError(f"{directory}: no such directory")
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileRefused(f"{directory} is not an sfa backup: it has no {MANIFEST}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise FileRefused(f"{path} is not an sfa backup manifest: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise FileRefused(f"{path} is not an sfa backup manifest (format is not {BACKUP_FORMAT!r})")
    if int(manifest.get("format_version", 0)) > BACKUP_VERSION:
        raise FileRefused(f"{directory} was written by a newer sfa (backup format "
                          f"{manifest.get('format_version')}); upgrade sfa to restore it")  # fmt: skip
    return manifest


# ids, values, (created_at, updated_at), field clocks
Loaded = tuple[list[str], list[Record], list[tuple[str, str]], list[dict[str, str]]]


def _read_records(directory: Path, entity: Entity, name: str, expected: int) -> Loaded:
    path = directory / name
    allowed = {"id", "created_at", "updated_at", "clocks", *entity.field_names}
    record_ids: list[str] = []
    values: list[Record] = []
    stamps: list[tuple[str, str]] = []
    clocks: list[dict[str, str]] = []
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise FileRefused(f"{directory}: the manifest lists {name} but the file is missing") from None
    with handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise ValueError("not a JSON object")
                unknown = sorted(set(data) - allowed)
                if unknown:
                    raise ValueError(f"{entity.name} has no field {unknown[0]!r}")
                record_id = str(data["id"])
                record = {f.name: codec.from_wire(f, data[f.name]) for f in entity.fields if f.name in data}
                stamps.append((str(data["created_at"]), str(data["updated_at"])))
                field_clocks = data.get("clocks") or {}
                if not isinstance(field_clocks, dict):
                    raise ValueError("clocks is not a JSON object")
                clocks.append({str(k): Hlc.decode(str(v)).encode() for k, v in field_clocks.items()})
            except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
                reason = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
                raise FileRefused(f"{path}: line {line_no}: {reason}; nothing was restored") from None
            record_ids.append(record_id)
            values.append(record)
    if len(values) != expected:
        raise FileRefused(
            f"{path} holds {len(values)} records but the manifest says {expected}; nothing was restored"
        )
    return record_ids, values, stamps, clocks


def record_count(ws: Workspace) -> int:
    conn = ws.store.conn
    return sum(int(conn.execute(f"SELECT count(*) FROM {e.table}").fetchone()[0]) for e in ENTITIES.values())


def import_all(ws: Workspace, directory: Path) -> dict[str, Any]:
    directory = directory.expanduser()
    manifest = _read_manifest(directory)
    if int(manifest.get("schema_version", 0)) > LATEST:
        raise FileRefused(f"{directory} was written by a newer sfa (schema {manifest['schema_version']}); "
                          "upgrade sfa to restore it")  # fmt: skip
    types = manifest.get("types") or {}
    if not isinstance(types, dict):
        raise FileRefused(f'{directory}/{MANIFEST}: "types" is not an object')
    unknown = sorted(set(types) - set(ENTITIES))
    if unknown:
        raise FileRefused(
            f"{directory}: this sfa has no record type {unknown[0]!r}; upgrade sfa to restore it"
        )
    loaded = []
    for entity in ENTITIES.values():
        if entity.name in types:
            try:
                name, count = Path(str(types[entity.name]["file"])).name, int(types[entity.name]["count"])
            except (KeyError, TypeError, ValueError):
                raise FileRefused(
                    f"{directory}/{MANIFEST}: the entry for {entity.name} needs a file and a count"
                ) from None
            loaded.append((entity, *_read_records(directory, entity, name, count)))
    backed_up = _read_settings(directory, manifest)
    # Only now is the store opened (and made, in a new home): a refused backup leaves nothing behind.
    existing = record_count(ws)
    if existing:
        raise ValidationError(
            "store", f"{ws.db_path} already holds {existing} records; `import all` restores into an "
            "empty store only (use a new --home)",
        )  # fmt: skip
    counts: dict[str, int] = {}
    store = ws.store
    with store.transaction():
        latest = ""
        for entity, record_ids, values, stamps, clocks in loaded:
            for start in range(0, len(values), 5000):
                store.insert_many(entity, values[start : start + 5000],
                                  record_ids=record_ids[start : start + 5000])  # fmt: skip
            latest = max([latest, *(c for record in clocks for c in record.values())])
            _put_back(ws, entity, record_ids, stamps, clocks)
            counts[entity.name] = len(values)
        if latest:
            # Later local writes must order after every restored clock.
            store.clock.observe(Hlc.decode(latest))
            store.tick()
    # After the records are in: a refused backup changes no setting. A setting this home has
    # already (its own owner, a sync server) is kept; the rest come back.
    current = ws.config.values()
    restored = {key: value for key, value in backed_up.items() if key not in current}
    if restored:
        ws.config.update(restored)
    kept = sorted(key for key, value in backed_up.items() if key in current and current[key] != value)
    return {"directory": str(directory), "types": counts, "settings_restored": sorted(restored),
            "settings_kept": kept}  # fmt: skip


def _put_back(
    ws: Workspace, entity: Entity, record_ids: list[str], stamps: list[tuple[str, str]],
    clocks: list[dict[str, str]],
) -> None:  # fmt: skip
    """Give restored records their own bookkeeping back: created_at, updated_at, field clocks.

    The field clocks go on the rows and into the outbox entries of the restore, so that a sync
    after a restore merges by the clocks the values really had: a newer edit made elsewhere after
    the backup still wins, and nothing restored looks newer than it is.
    """
    conn = ws.store.conn
    restored = {i: c for i, c in zip(record_ids, clocks, strict=True) if c}
    conn.executemany(
        f"UPDATE {entity.table} SET created_at = ?, updated_at = ? WHERE id = ?",
        [(c, u, i) for (c, u), i in zip(stamps, record_ids, strict=True)],
    )
    if not restored:
        return
    conn.executemany(
        f"UPDATE {entity.table} SET clocks = ? WHERE id = ?",
        [(json.dumps(own), record_id) for record_id, own in restored.items()],
    )
    changes = []
    for seq, record_id, fields in conn.execute(
        "SELECT seq, record_id, fields FROM outbox WHERE entity = ?", (entity.name,)
    ).fetchall():
        if record_id in restored:
            # Only what was really written, with its clock: a default the restore filled in (no
            # tags, not deleted) must not travel as a fresh write that could undo an edit elsewhere.
            own = restored[record_id]
            sent = codec.read_outbox_fields(fields).items()
            wire = {name: [value, own[name]] for name, (value, _clock) in sent if name in own}
            changes.append((codec.dumps(wire), seq))
    conn.executemany("UPDATE outbox SET fields = ? WHERE seq = ?", changes)
