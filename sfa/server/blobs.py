"""Blobs on the server: `PUT /v1/blobs/{sha256}`, `GET /v1/blobs/{sha256}` and
`GET /v1/blobs/{sha256}/upload` (docs/documents.md).

Content-addressed files in a directory (beside a SQLite database, or `SFA_BLOB_DIR`). A PUT is
idempotent by hash; it may resume with `Content-Range: bytes START-END/TOTAL` from the length the
upload status reports; the hash is checked before the blob is moved into place, so nothing
half-stored is ever served. A GET honours `Range: bytes=N-`. Both are allowed only when a live
document the user may see refers to the hash; otherwise 404 (a known hash outside the user's scope
is not even confirmed to exist).

One upload of a blob at a time: a PUT holds an exclusive lock on `.partial/lock-<first 2 hex>` (flock, so
it holds across worker processes) while it writes the partial file, and the upload status waits for
it, so two requests never write one partial file. A client whose connection was cut mid-body may
still ask how much arrived before the server has even started on the dead request; it then sends
from an offset below what the dead request later wrote, and the server takes its bytes from that
offset (truncating the partial file) instead of refusing with 416 and making it send again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from sfa.server import merge as rules
from sfa.server.merge import User

SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
DEFAULT_MAX_MB = 50


def blob_dir_for(engine: Engine) -> Path | None:
    configured = os.environ.get("SFA_BLOB_DIR")
    if configured:
        return Path(configured)
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent / "blobs"
    return None


def max_bytes() -> int:
    try:
        return int(os.environ.get("SFA_BLOB_MAX_MB", DEFAULT_MAX_MB)) * (1 << 20)
    except ValueError:
        return DEFAULT_MAX_MB * (1 << 20)


def may_access(engine: Engine, user: User, sha: str) -> bool:
    """A live document referring to `sha` is visible to the user."""
    needle = f'%"sha256":[{json.dumps(sha)},%'
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT owner, team FROM record WHERE entity = 'document' AND deleted = :f AND fields LIKE :n"
            ),
            {"f": False, "n": needle},
        ).all()
        conn.rollback()
    return any(rules.visible(user, row[0], row[1]) for row in rows)


def _hash_into(digest: Any, path: Path) -> None:
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)


_BINARY = {"schema": {"type": "string", "format": "binary"}}


def _error(text: str) -> dict[str, Any]:
    return {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorReply"}}},
    }


def _replies(name: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        },
        400: _error("malformed hash or header"),
        401: _error("missing, unknown or revoked token"),
        404: _error("no live document in your scope refers to this hash"),
    }


BLOB_STATUS = {
    "title": "BlobStatus",
    "type": "object",
    "description": "How much of a blob the server holds.",
    "properties": {
        "sha256": {"type": "string"},
        "received": {"type": "integer", "description": "bytes held (the resume offset)"},
        "complete": {"type": "boolean", "description": "stored and hash-checked"},
    },
    "required": ["sha256", "received", "complete"],
}


@contextlib.asynccontextmanager
async def upload_lock(partial: Path) -> AsyncIterator[None]:
    """Exclusive use of one blob's partial file, across requests and worker processes."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): one request at a time is not enforced
        yield
        return
    partial.parent.mkdir(parents=True, exist_ok=True)
    # 256 lock files, by the hash's first two digits: none pile up, and two blobs rarely share one
    handle = open(partial.parent / f"lock-{partial.name[:2]}", "a+b")  # noqa: SIM115 (held across awaits)
    try:
        await run_in_threadpool(fcntl.flock, handle.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # releases the lock


def register(app: FastAPI, engine: Engine, current_user: Any, root: Path | None = None) -> None:
    root = root or blob_dir_for(engine)
    limit = max_bytes()

    def paths(sha: str) -> tuple[Path, Path]:
        if root is None:
            raise HTTPException(503, "this server has no blob directory (set SFA_BLOB_DIR)")
        if not SHA_RE.match(sha):
            raise HTTPException(400, "sha256: expected 64 lowercase hex digits")
        return root / sha[:2] / sha[2:], root / ".partial" / sha

    async def check(user: User, sha: str) -> tuple[Path, Path]:
        final, partial = paths(sha)
        if not await run_in_threadpool(may_access, engine, user, sha):
            raise HTTPException(404, "no such blob (or not in your scope)")
        return final, partial

    @app.get("/v1/blobs/{sha}/upload", responses=_replies("BlobStatus"))
    async def upload_status(sha: str, user: User = Depends(current_user)) -> dict[str, Any]:
        final, partial = await check(user, sha)
        if final.is_file():
            size = final.stat().st_size
            return {"sha256": sha, "received": size, "complete": True}
        async with upload_lock(partial):  # an upload still writing answers when it has finished
            if final.is_file():
                return {"sha256": sha, "received": final.stat().st_size, "complete": True}
            return {
                "sha256": sha,
                "received": partial.stat().st_size if partial.is_file() else 0,
                "complete": False,
            }

    @app.put(
        "/v1/blobs/{sha}",
        openapi_extra={"requestBody": {"required": True, "content": {"application/octet-stream": _BINARY}}},
        responses={**_replies("BlobStatus"), 413: _error("larger than the server's limit")},
    )
    async def put_blob(sha: str, request: Request, user: User = Depends(current_user)) -> JSONResponse:
        final, partial = await check(user, sha)
        async with upload_lock(partial):
            return await _put(sha, request, final, partial)

    async def _put(sha: str, request: Request, final: Path, partial: Path) -> JSONResponse:
        if final.is_file():
            return JSONResponse({"sha256": sha, "received": final.stat().st_size, "complete": True})
        header = request.headers.get("content-range")
        length = request.headers.get("content-length")
        start, total = 0, int(length) if length and length.isdigit() else None
        if header:
            match = _CONTENT_RANGE.match(header.strip())
            if not match:
                raise HTTPException(400, "content-range: expected bytes START-END/TOTAL")
            start, total = int(match.group(1)), int(match.group(3))
            have = partial.stat().st_size if partial.is_file() else 0
            if start > have:
                return JSONResponse(
                    {"error": f"content-range: resume from {have}", "received": have}, status_code=416
                )
            if start < have:  # the client resumes from less than arrived (it asked before a cut
                os.truncate(partial, start)  # request had finished writing): its bytes win
        if total is not None and total > limit:
            raise HTTPException(413, f"the blob is larger than the server's limit of {limit // (1 << 20)} MB")
        partial.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        if start:  # resuming: the hash runs over what is already here, then the rest as it arrives
            await run_in_threadpool(_hash_into, digest, partial)
        written = start
        with open(partial, "ab" if start else "wb") as out:
            async for chunk in request.stream():
                written += len(chunk)
                if written > limit:
                    out.close()
                    partial.unlink(missing_ok=True)
                    raise HTTPException(
                        413, f"the blob is larger than the server's limit of {limit // (1 << 20)} MB"
                    )
                digest.update(chunk)
                out.write(chunk)
        if total is not None and written < total:
            return JSONResponse({"sha256": sha, "received": written, "complete": False})

        def finish() -> int:
            if digest.hexdigest() != sha:
                partial.unlink(missing_ok=True)
                raise HTTPException(400, f"sha256: the content's hash is {digest.hexdigest()}, not {sha}")
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(partial, final)
            return final.stat().st_size

        size = await run_in_threadpool(finish)
        return JSONResponse({"sha256": sha, "received": size, "complete": True})

    @app.get(
        "/v1/blobs/{sha}",
        response_model=None,
        responses={
            200: {"description": "the blob", "content": {"application/octet-stream": _BINARY}},
            206: {"description": "the requested range", "content": {"application/octet-stream": _BINARY}},
            **{k: v for k, v in _replies("BlobStatus").items() if k != 200},
        },
    )
    async def get_blob(sha: str, request: Request, user: User = Depends(current_user)) -> Response:
        final, _partial = await check(user, sha)
        if not final.is_file():
            raise HTTPException(404, "the blob has not been uploaded yet")
        size = final.stat().st_size
        header = request.headers.get("range")
        if header:
            match = _RANGE.match(header.strip())
            if not match or int(match.group(1)) > size:
                return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else size - 1
            end = min(end, size - 1)

            def read() -> bytes:
                with open(final, "rb") as handle:
                    handle.seek(start)
                    return handle.read(end - start + 1)

            data = await run_in_threadpool(read)
            return Response(
                data,
                status_code=206,
                media_type="application/octet-stream",
                headers={"Content-Range": f"bytes {start}-{end}/{size}", "Accept-Ranges": "bytes"},
            )
        return FileResponse(final, media_type="application/octet-stream", headers={"Accept-Ranges": "bytes"})

    base = app.openapi

    def openapi() -> dict[str, Any]:
        document = base()
        document["components"]["schemas"]["BlobStatus"] = BLOB_STATUS
        get = document["paths"].get("/v1/blobs/{sha}", {}).get("get", {})
        get.get("responses", {}).get("200", {}).get("content", {}).pop("application/json", None)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
