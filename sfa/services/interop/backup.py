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
from sfa.domain.dates import from_iso_utc, iso_utc, utc_now
from sfa.domain.entities import ENTITIES, Entity
from sfa.domain.errors import NotFoundError, UsageError, ValidationError
from sfa.domain.hlc import Hlc
from sfa.domain.text import check_text
from sfa.services import records
from sfa.services.interop.textfile import FileRefused
from sfa.store import codec
from sfa.store.db import Record
from sfa.store.migrations import LATEST
from sfa.store.workspace import Workspace

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
        raise UsageError(
            f"type: {type_name!r} is not a record type; use one of {', '.join(ENTITIES)} (or opp)",
            asks_for=("type",),
        )
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
        raise ValidationError("output", f"{path} is a directory; give a file name", asks_for=("output",))
    if not path.parent.exists():
        raise NotFoundError(f"output {path}: directory {path.parent} does not exist", asks_for=("output",))
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
    with ws.store.snapshot():
        for entity in ENTITIES.values():
            clocks = ws.store.field_clocks(entity)
            rows = export_records(ws, entity, include_deleted=True)
            yield entity, [{**row, "clocks": clocks[row["id"]]} for row in rows]


def export_all(ws: Workspace, directory: Path) -> dict[str, Any]:
    directory = directory.expanduser()
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ValidationError(
            "output",
            f"{directory} exists and is not an empty directory; give a new one",
            asks_for=("output",),
        )
    parent = directory.parent
    if not parent.exists():
        raise NotFoundError(f"output {directory}: directory {parent} does not exist", asks_for=("output",))
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
            "format": BACKUP_FORMAT,
            "format_version": BACKUP_VERSION,
            "schema_version": ws.store.schema_version,
            "sfa_version": __version__,
            "exported_at": iso_utc(utc_now()),
            "replica_id": ws.store.replica_id,
            "types": counts,
            "settings": SETTINGS_FILE,
        }
        configured = dict(sorted(ws.config.values().items()))
        (temp / SETTINGS_FILE).write_text(
            json.dumps(configured, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (temp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if directory.exists():
            directory.rmdir()
        os.replace(temp, directory)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return {
        "directory": str(directory),
        "types": {k: v["count"] for k, v in counts.items()},
        "settings": len(configured),
    }


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
            checked[known.key] = known.checked(str(value))
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
        raise FileRefused(
            f"{directory} was written by a newer sfa (backup format "
            f"{manifest.get('format_version')}); upgrade sfa to restore it"
        )
    return manifest


# ids, values, (created_at, updated_at), field clocks, line numbers
Loaded = tuple[list[str], list[Record], list[tuple[str, str]], list[dict[str, str]], list[int]]


def _read_records(directory: Path, entity: Entity, name: str, expected: int) -> Loaded:
    """Every line of one record type, each value decoded and checked by the rules typed values
    meet (records.check_value); the first bad line refuses the backup, naming file, line and field."""
    path = directory / name
    allowed = {"id", "created_at", "updated_at", "clocks", *entity.field_names}
    record_ids: list[str] = []
    values: list[Record] = []
    stamps: list[tuple[str, str]] = []
    clocks: list[dict[str, str]] = []
    lines: list[int] = []
    seen: set[str] = set()
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise FileRefused(f"{directory}: the manifest lists {name} but the file is missing") from None
    with handle:
        line_no = 0
        try:
            for line_no, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                record_id, record, stamp, field_clocks = _read_line(entity, line, allowed)
                if record_id in seen:
                    raise ValidationError("id", f"{record_id!r} is on an earlier line too")
                seen.add(record_id)
                record_ids.append(record_id)
                values.append(record)
                stamps.append(stamp)
                clocks.append(field_clocks)
                lines.append(line_no)
        except ValidationError as exc:
            raise FileRefused(f"{path}: line {line_no}: {exc}; nothing was restored") from None
        except UnicodeDecodeError:
            raise FileRefused(
                f"{path}: line {line_no + 1}: is not UTF-8 text; nothing was restored"
            ) from None
    if len(values) != expected:
        raise FileRefused(
            f"{path} holds {len(values)} records but the manifest says {expected}; nothing was restored"
        )
    return record_ids, values, stamps, clocks, lines


def _read_line(
    entity: Entity, line: str, allowed: set[str]
) -> tuple[str, Record, tuple[str, str], dict[str, str]]:
    """One backup line: (id, field values, (created_at, updated_at), field clocks), or a
    ValidationError naming what is wrong ("FIELD: why")."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ValidationError("line", f"is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationError("line", "is not a JSON object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError(str(unknown[0]), f"{entity.name} has no such field")
    for key in ("id", "created_at", "updated_at"):
        if key not in data:
            raise ValidationError(key, "is missing")
    record_id = data["id"]
    if not isinstance(record_id, str) or not record_id.strip():
        raise ValidationError("id", f"{record_id!r} is not a record id")
    check_text("id", record_id)
    for key in ("created_at", "updated_at"):
        try:
            from_iso_utc(str(data[key]))
        except ValueError:
            raise ValidationError(key, f"{data[key]!r} is not a time (ISO 8601, UTC)") from None
    record: Record = {}
    for spec in entity.fields:
        if spec.name not in data:
            if spec.required:
                raise ValidationError(spec.name, "is missing; it is required")
            continue
        raw = data[spec.name]
        if spec.kind == "bool" and raw not in (True, False, None):
            raise ValidationError(spec.name, f"{raw!r} is not true or false")
        if spec.kind in ("tags", "refs") and not isinstance(raw, list | None):
            raise ValidationError(spec.name, f"{raw!r} is not a list")
        try:
            value = codec.from_wire(spec, raw)
        except (ValueError, TypeError, ArithmeticError, AttributeError):
            raise ValidationError(
                spec.name, f"{data[spec.name]!r} is not a {_KIND_NAMES.get(spec.kind, spec.kind)}"
            ) from None
        record[spec.name] = records.check_value(entity, spec.name, value)
    field_clocks = data.get("clocks") or {}
    if not isinstance(field_clocks, dict):
        raise ValidationError("clocks", "is not a JSON object")
    try:
        own = {str(k): Hlc.decode(str(v)).encode() for k, v in field_clocks.items()}
    except (ValueError, TypeError):
        raise ValidationError("clocks", "holds a value that is not a clock") from None
    return record_id, record, (str(data["created_at"]), str(data["updated_at"])), own


_KIND_NAMES = {
    "decimal": "number",
    "date": "date (YYYY-MM-DD)",
    "datetime": "time (ISO 8601, UTC)",
    "tags": "list",
    "refs": "list of ids",
}


def _check_references(directory: Path, loaded: list[tuple[Entity, str, Loaded]]) -> None:
    """Every reference of a restored record names a record of the backup (`import all` restores
    into an empty store, so there is nothing else it could name)."""
    ids = {entity.name: set(data[0]) for entity, _, data in loaded}
    for entity, name, (_ids, values, _stamps, _clocks, lines) in loaded:
        refs = [f for f in entity.fields if f.kind in ("ref", "refs")]
        timeline = entity.name == "timeline"
        for line_no, record in zip(lines, values, strict=True):
            for spec in refs:
                value = record.get(spec.name)
                targets = value if isinstance(value, list) else [value] if value else []
                for target in targets:
                    assert spec.ref is not None
                    if target not in ids.get(spec.ref, ()):
                        raise FileRefused(
                            f"{directory / name}: line {line_no}: {spec.name}: {target!r} names no "
                            f"{spec.ref} in the backup; nothing was restored"
                        )
            owner = record.get("record_entity") if timeline else None
            if owner in ENTITIES and record.get("record_id") not in ids.get(str(owner), ()):
                raise FileRefused(
                    f"{directory / name}: line {line_no}: record_id: {record.get('record_id')!r} "
                    f"names no {owner} in the backup; nothing was restored"
                )


def record_count(ws: Workspace) -> int:
    return ws.store.total_records()


def import_all(ws: Workspace, directory: Path) -> dict[str, Any]:
    directory = directory.expanduser()
    manifest = _read_manifest(directory)
    if int(manifest.get("schema_version", 0)) > LATEST:
        raise FileRefused(
            f"{directory} was written by a newer sfa (schema {manifest['schema_version']}); "
            "upgrade sfa to restore it"
        )
    types = manifest.get("types") or {}
    if not isinstance(types, dict):
        raise FileRefused(f'{directory}/{MANIFEST}: "types" is not an object')
    unknown = sorted(set(types) - set(ENTITIES))
    if unknown:
        raise FileRefused(
            f"{directory}: this sfa has no record type {unknown[0]!r}; upgrade sfa to restore it"
        )
    loaded: list[tuple[Entity, str, Loaded]] = []
    for entity in ENTITIES.values():
        if entity.name in types:
            try:
                name, count = Path(str(types[entity.name]["file"])).name, int(types[entity.name]["count"])
            except (KeyError, TypeError, ValueError):
                raise FileRefused(
                    f"{directory}/{MANIFEST}: the entry for {entity.name} needs a file and a count"
                ) from None
            loaded.append((entity, name, _read_records(directory, entity, name, count)))
    _check_references(directory, loaded)
    backed_up = _read_settings(directory, manifest)
    # Only now is the store opened (and made, in a new home): a refused backup leaves nothing behind.
    # Should the write still fail (a full disk), what the restore made in a new home is removed.
    made = _new_paths(ws)
    try:
        return _restore(ws, directory, loaded, backed_up)
    except BaseException:
        _remove_made(ws, made)
        raise


def _new_paths(ws: Workspace) -> list[Path]:
    """The home and data file a restore would create, outermost first: what to remove if it fails."""
    if ws.db_path.exists():
        return []
    made = [ws.db_path]
    folder = ws.home
    while not folder.exists() and folder.parent != folder:
        made.insert(0, folder)
        folder = folder.parent
    return made


def _remove_made(ws: Workspace, made: list[Path]) -> None:
    if not made:
        return
    if "store" in ws.__dict__:
        ws.store.close()
        del ws.__dict__["store"]
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{ws.db_path}{suffix}").unlink(missing_ok=True)
    for folder in reversed(made[:-1]):
        try:
            folder.rmdir()  # only if empty: nothing of anyone else's is removed
        except OSError:
            break


def _restore(
    ws: Workspace, directory: Path, loaded: list[tuple[Entity, str, Loaded]], backed_up: dict[str, str]
) -> dict[str, Any]:
    existing = record_count(ws)
    if existing:
        raise ValidationError(
            "store",
            f"{ws.db_path} already holds {existing} records; `import all` restores into an "
            "empty store only; use a new data home",
            asks_for=("home",),
        )
    counts: dict[str, int] = {}
    store = ws.store
    with store.transaction():
        latest = ""
        for entity, _name, (record_ids, values, stamps, clocks, _lines) in loaded:
            for start in range(0, len(values), 5000):
                store.insert_many(
                    entity, values[start : start + 5000], record_ids=record_ids[start : start + 5000]
                )
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
    return {
        "directory": str(directory),
        "types": counts,
        "settings_restored": sorted(restored),
        "settings_kept": kept,
    }


def _put_back(
    ws: Workspace,
    entity: Entity,
    record_ids: list[str],
    stamps: list[tuple[str, str]],
    clocks: list[dict[str, str]],
) -> None:
    """Give restored records their own bookkeeping back: created_at, updated_at, field clocks."""
    ws.store.restore_bookkeeping(entity, record_ids, stamps, clocks)
