"""Documents: the use cases behind `sfa doc ...` (docs/documents.md).

The record holds the metadata and syncs in the change log; the content is a blob in the
content-addressed store under the data home (sfa/store/blobs.py), sent and fetched by sync
(sfa/sync/blobs.py). A new version is a new record, so blobs never conflict.
"""

from __future__ import annotations

import mimetypes
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfa.domain.entities import (
    ACCOUNT,
    CONTACT,
    CONTRACT,
    DOCUMENT,
    DOCUMENT_KINDS,
    OPPORTUNITY,
    ORDER,
    QUOTE,
    VISIT,
    Entity,
)
from sfa.domain.errors import NotFoundError, StateError, UsageError, ValidationError
from sfa.domain.text import check_text
from sfa.services import products
from sfa.store.blobs import BlobStore
from sfa.store.db import Record
from sfa.store.workspace import Workspace

OWNERS: dict[str, Entity] = {
    "account": ACCOUNT,
    "contact": CONTACT,
    "opportunity": OPPORTUNITY,
    "quote": QUOTE,
    "order": ORDER,
    "contract": CONTRACT,
    "visit": VISIT,
}


def blob_store(ws: Workspace) -> BlobStore:
    return BlobStore(ws.home / "blobs")


def _kind(text: str | None, filename: str, media_type: str | None) -> str:
    if text is None:
        if media_type and media_type.startswith("image/"):
            return "photo"
        return "other"
    value = text.strip().lower()
    if value not in DOCUMENT_KINDS:
        raise ValidationError("kind", f"{text!r} is not accepted; use one of {', '.join(DOCUMENT_KINDS)}")
    return value


def check_file(path_text: str, limit_mb: int, field: str = "FILE") -> Path:
    """A readable regular file within the limit, else one line naming it."""
    path = Path(path_text).expanduser()
    if not path.exists():
        raise ValidationError(field, f"{path_text}: no such file")
    if path.is_dir():
        raise ValidationError(field, f"{path_text}: is a directory, not a file")
    if not path.is_file():
        raise ValidationError(field, f"{path_text}: is not a regular file")
    if not os.access(path, os.R_OK):
        raise ValidationError(field, f"{path_text}: cannot be read (permission denied)")
    if path.stat().st_size > limit_mb * (1 << 20):
        raise ValidationError(field, f"{path_text}: is larger than files.max_mb ({limit_mb} MB)")
    return path


def check_files(ws: Workspace, paths: list[str], field: str) -> None:
    """Every file readable and within `files.max_mb`, before a command writes anything."""
    limit = int(ws.setting("files.max_mb"))
    for path in paths:
        check_file(path, limit, field)


def _owner(ws: Workspace, owner: str, ref: str) -> tuple[str, Record]:
    if owner == "product":
        return "product", products.resolve(ws, ref)
    if owner not in OWNERS:
        raise UsageError(f"documents belong to one of {', '.join([*OWNERS, 'product'])}")
    return owner, ws.store.resolve(OWNERS[owner], ref)


def _product_data(ws: Workspace) -> None:
    """Product documents are product data: a manager's (the server refuses them from a rep)."""
    from sfa.services import authority

    authority.require_manager(ws, "product documents", scoped=False)


def add(
    ws: Workspace,
    file: str,
    owner: str,
    ref: str,
    *,
    kind: str | None = None,
    title: str | None = None,
    language: str | None = None,
) -> Record:
    limit = int(ws.setting("files.max_mb"))
    path = check_file(file, limit)
    record_entity, record = _owner(ws, owner, ref)
    if record_entity == "product":
        _product_data(ws)
    media_type = mimetypes.guess_type(path.name)[0]
    try:
        sha, size = blob_store(ws).put_file(path, limit=limit * (1 << 20))
    except OSError as exc:
        raise ValidationError("FILE", f"{file}: cannot be read: {exc.strerror or exc}") from None
    except ValidationError:
        raise ValidationError("FILE", f"{file}: is larger than files.max_mb ({limit} MB)") from None
    if record_entity == "product":
        scope: Record = {"owner": None, "team": None}  # product documents are everyone's
        account_id = None
    else:
        scope = {"owner": record.get("owner"), "team": record.get("team")}
        account_id = record["id"] if record_entity == "account" else record.get("account_id")
    values: Record = {
        **scope,
        "title": check_text("title", title.strip()) if title and title.strip() else path.name,
        "kind": _kind(kind, path.name, media_type),
        "filename": check_text("filename", path.name),
        "media_type": media_type,
        "size": size,
        "sha256": sha,
        "record_entity": record_entity,
        "record_id": record["id"],
        "account_id": account_id,
        "language": check_text("language", language.strip()) if language else None,
        "version": 1,
    }
    return ws.store.insert(DOCUMENT, values)


def version(ws: Workspace, ref: str, file: str) -> Record:
    """A new version: a new record pointing at the one it replaces."""
    old = ws.store.resolve(DOCUMENT, ref)
    if old["record_entity"] == "product":
        _product_data(ws)
    newer = ws.store.count(DOCUMENT, "previous_id = ?", (old["id"],))
    if newer:
        raise StateError(f"document {old['title']!r} already has a newer version; version the latest")
    limit = int(ws.setting("files.max_mb"))
    path = check_file(file, limit)
    try:
        sha, size = blob_store(ws).put_file(path, limit=limit * (1 << 20))
    except OSError as exc:
        raise ValidationError("FILE", f"{file}: cannot be read: {exc.strerror or exc}") from None
    except ValidationError:
        raise ValidationError("FILE", f"{file}: is larger than files.max_mb ({limit} MB)") from None
    keep = ("title", "kind", "record_entity", "record_id", "account_id", "language", "owner", "team", "tags")
    values: Record = {name: old[name] for name in keep}
    values.update(
        filename=path.name,
        media_type=mimetypes.guess_type(path.name)[0],
        size=size,
        sha256=sha,
        version=(old["version"] or 1) + 1,
        previous_id=old["id"],
    )
    return ws.store.insert(DOCUMENT, values)


def list_documents(
    ws: Workspace,
    *,
    owner: str | None = None,
    ref: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
) -> list[Record]:
    clauses: list[str] = []
    params: list[Any] = []
    if owner and ref:
        _, record = _owner(ws, owner, ref)
        if owner == "account":
            clauses.append("(record_id = ? OR account_id = ?)")
            params += [record["id"], record["id"]]
        else:
            clauses.append("record_id = ?")
            params.append(record["id"])
    if kind:
        clauses.append("kind = ?")
        params.append(_kind(kind, "", None))
    clauses.append(
        "NOT EXISTS (SELECT 1 FROM document AS newer WHERE newer.previous_id = document.id AND newer.deleted = 0)"
    )
    return ws.store.select(
        DOCUMENT, " AND ".join(clauses), params, order="created_at DESC, rid DESC", limit=limit
    )


def has_content(ws: Workspace, document: Record) -> bool:
    return blob_store(ws).has(document["sha256"])


def _ensure_content(ws: Workspace, document: Record) -> None:
    if has_content(ws, document):
        return
    from sfa.sync.blobs import fetch_on_demand

    fetch_on_demand(ws, document["sha256"])


@dataclass
class Written:
    path: Path
    size: int


def get(ws: Workspace, ref: str, output: str) -> Written:
    document = ws.store.resolve(DOCUMENT, ref)
    target = Path(output).expanduser()
    if target.is_dir():
        target = target / document["filename"]
    if not target.parent.is_dir():
        raise NotFoundError(f"output: {output}: directory {target.parent} does not exist")
    _ensure_content(ws, document)
    size = blob_store(ws).copy_out(document["sha256"], target)
    return Written(target.resolve(), size)


def open_document(ws: Workspace, ref: str) -> Path:
    """Copy the content out under its file name and hand it to the desktop's opener
    (SFA_OPENER overrides: tests, or a desktop without xdg-open)."""
    document = ws.store.resolve(DOCUMENT, ref)
    folder = ws.home / "open" / document["id"]
    folder.mkdir(parents=True, exist_ok=True)
    written = get(ws, document["id"], str(folder / document["filename"]))
    opener = os.environ.get("SFA_OPENER")
    if opener:
        command = [opener, str(written.path)]
    elif sys.platform == "darwin":
        command = ["open", str(written.path)]
    elif sys.platform.startswith("win"):
        os.startfile(str(written.path))  # type: ignore[attr-defined]
        return written.path
    else:
        found = shutil.which("xdg-open")
        if found is None:
            raise StateError(f"no opener found (xdg-open); the file is at {written.path}")
        command = [found, str(written.path)]
    subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return written.path


def delete(ws: Workspace, ref: str) -> Record:
    document = ws.store.resolve(DOCUMENT, ref)
    if document["record_entity"] == "product":
        _product_data(ws)
    return ws.store.delete(DOCUMENT, document["id"])


def datasheets_for_quote(ws: Workspace, quote_id: str) -> list[Path]:
    """The PDF datasheets of the products on a quote's lines (latest versions, each once, in line
    order), as files in the blob store (fetched on demand when not on this laptop)."""
    from sfa.services import quotes

    found: list[Path] = []
    seen: set[str] = set()
    sheets = list_documents(ws, kind="datasheet")
    for line in quotes.lines_of(ws, quote_id):
        if not line["product_id"]:
            continue
        for doc in sheets:
            if doc["record_id"] != line["product_id"] or doc["media_type"] != "application/pdf":
                continue
            if doc["sha256"] in seen:
                continue
            seen.add(doc["sha256"])
            _ensure_content(ws, doc)
            found.append(blob_store(ws).path_of(doc["sha256"]))
    return found
