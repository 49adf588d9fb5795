"""Document contents over sync: upload the blobs this laptop has and the server lacks, and fetch the
blobs of documents in scope up to `files.auto_max_mb` (priming); the rest on demand (`sfa doc get`).

Both directions resume after a cut connection: an upload asks the server how much it holds
(`GET /v1/blobs/{sha}/upload`) and sends the rest with Content-Range; a download keeps a partial file
and asks for `Range: bytes=N-`. Every blob is hash-checked before it is stored (docs/documents.md).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from sfa.domain.dates import iso_utc, utc_now
from sfa.domain.entities import DOCUMENT
from sfa.domain.errors import NotFoundError, SyncError, UnreachableError
from sfa.store.blobs import CHUNK, BlobStore, adopt, hash_file, mark_sent, partial_path, sent_blobs
from sfa.store.workspace import Workspace

ATTEMPTS = 8  # per blob: each attempt resumes where the last one stopped


@dataclass
class BlobSummary:
    sent: int = 0
    fetched: int = 0
    bytes_sent: int = 0
    bytes_fetched: int = 0
    skipped: int = 0


def blob_store(ws: Workspace) -> BlobStore:
    return BlobStore(ws.home / "blobs")


def _sent(ws: Workspace) -> set[str]:
    return sent_blobs(ws.store)


def _mark_sent(ws: Workspace, sha: str) -> None:
    mark_sent(ws.store, sha, iso_utc(utc_now()))


def _file_from(path: Path, offset: int) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(offset)
        while chunk := handle.read(CHUNK):
            yield chunk


def upload(ws: Workspace, http: httpx.Client, sha: str, summary: BlobSummary | None = None) -> bool:
    """Send one blob, resuming; False when the server does not take it (no document in scope)."""
    store = blob_store(ws)
    path = store.path_of(sha)
    size = path.stat().st_size
    failure = ""
    for _ in range(ATTEMPTS):
        try:
            status = http.get(f"/v1/blobs/{sha}/upload")
            if status.status_code == 404:
                return False
            if status.status_code == 503:
                raise SyncError("the sync server keeps no document contents (its blob directory is not set)")
            status.raise_for_status()
            state = status.json()
            if state.get("complete"):
                return True
            offset = int(state.get("received", 0))
            headers = {"Content-Type": "application/octet-stream"}
            if size:
                headers["Content-Range"] = f"bytes {offset}-{size - 1}/{size}"
            reply = http.put(f"/v1/blobs/{sha}", content=_file_from(path, offset), headers=headers)
            if reply.status_code in (400, 413):
                raise SyncError(
                    f"the server refused document content {sha[:12]}: {reply.json().get('error')}"
                )
            if reply.status_code < 300 and reply.json().get("complete"):
                if summary is not None:
                    summary.bytes_sent += size - offset
                return True
        except (httpx.TransportError, httpx.HTTPStatusError, ValueError) as exc:
            failure = str(exc) or type(exc).__name__
    raise UnreachableError(f"could not send document content {sha[:12]} after {ATTEMPTS} attempts: {failure}")


def download(ws: Workspace, http: httpx.Client, sha: str, summary: BlobSummary | None = None) -> bool:
    """Fetch one blob, resuming a partial file; False when the server has none for this user."""
    store = blob_store(ws)
    if store.has(sha):
        return True
    partial = partial_path(store.root, sha)
    partial.parent.mkdir(parents=True, exist_ok=True)
    failure = ""
    for _ in range(ATTEMPTS):
        have = partial.stat().st_size if partial.is_file() else 0
        # Identity: the content is sent as stored (compressing it on the fly costs more than it saves
        # for the PDFs and photos documents are, and a byte range means the stored bytes).
        headers = {"Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        computed: str | None = None
        try:
            with http.stream("GET", f"/v1/blobs/{sha}", headers=headers) as reply:
                if reply.status_code == 404:
                    return False
                if reply.status_code == 416:  # what we hold is the whole blob
                    pass
                elif reply.status_code not in (200, 206):
                    failure = f"HTTP {reply.status_code}"
                    continue
                else:
                    resumed = reply.status_code == 206
                    digest = hash_file(partial) if resumed else hashlib.sha256()
                    with open(partial, "ab" if resumed else "wb") as out:
                        for chunk in reply.iter_bytes():  # as it arrives: a cut keeps every byte
                            digest.update(chunk)
                            out.write(chunk)
                            if summary is not None:
                                summary.bytes_fetched += len(chunk)
                        out.flush()
                        os.fsync(out.fileno())
                    computed = digest.hexdigest()
            adopt(store, partial, sha, computed)
            return True
        except (httpx.TransportError, ValueError) as exc:
            failure = str(exc) or type(exc).__name__
        except Exception as exc:  # a hash mismatch: the partial file is gone, start again
            from sfa.domain.errors import ValidationError

            if not isinstance(exc, ValidationError):
                raise
            failure = str(exc)
    raise UnreachableError(
        f"could not fetch document content {sha[:12]} after {ATTEMPTS} attempts: {failure}"
    )


def transfer(ws: Workspace, http: httpx.Client) -> BlobSummary:
    """After push and pull: send what the server lacks, then prime within `files.auto_max_mb`."""
    summary = BlobSummary()
    store = blob_store(ws)
    sent = _sent(ws)
    docs = ws.store.select(DOCUMENT, "", (), order="created_at DESC, rid DESC")
    refused: list[str] = []
    for sha in dict.fromkeys(d["sha256"] for d in docs):
        if sha in sent or not store.has(sha):
            continue
        try:
            accepted = upload(ws, http, sha, summary)
        except SyncError as exc:
            if isinstance(exc, UnreachableError):
                raise
            refused.append(str(exc))  # the others still go; the refusal is reported below
            continue
        if accepted:
            _mark_sent(ws, sha)
            summary.sent += 1
        else:
            summary.skipped += 1
    budget = int(ws.setting("files.auto_max_mb")) * (1 << 20)
    held = 0
    # Product documents first (every rep needs the datasheets), then the newest.
    ordered = sorted(docs, key=lambda d: (d["record_entity"] != "product",))
    for doc in ordered:
        sha = doc["sha256"]
        if store.has(sha):
            continue
        if held + int(doc["size"]) > budget:
            continue
        if download(ws, http, sha, summary):
            held += int(doc["size"])
            summary.fetched += 1
            _mark_sent(ws, sha)  # the server has it
    if refused:
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise SyncError(refused[0] + more)
    return summary


def fetch_on_demand(ws: Workspace, sha: str) -> None:
    """`sfa doc get` of a blob this laptop does not hold: from the server this laptop syncs with."""
    from sfa.sync.engine import Connection, load_token, server_url

    conn = Connection(server_url(ws), load_token(ws.home))
    try:
        if not download(ws, conn.http, sha):
            raise NotFoundError(
                "the server has no content for this document (not uploaded yet, or not in your scope)"
            )
    finally:
        conn.close()
