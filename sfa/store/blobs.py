"""The content-addressed blob store under the data home: blobs/ab/cdef… by SHA-256.

Identical files are stored once. Nothing is half-stored: content is written to a temporary file in
the store, hashed while it is written, flushed, checked, and only then renamed into place; a failed
or cut write leaves no blob (docs/documents.md).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sfa.domain.errors import ValidationError

if TYPE_CHECKING:
    from sfa.store.db import Store

CHUNK = 1 << 20
SHA_RE = re.compile(r"^[0-9a-f]{64}$")


def is_sha256(text: str) -> bool:
    return SHA_RE.match(text) is not None


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha: str) -> Path:
        if not is_sha256(sha):
            raise ValidationError("sha256", f"{sha[:80]!r} is not a SHA-256 in hex")
        return self.root / sha[:2] / sha[2:]

    def has(self, sha: str) -> bool:
        return self.path_of(sha).is_file()

    def size_of(self, sha: str) -> int:
        return self.path_of(sha).stat().st_size

    def put_file(self, source: Path, limit: int | None = None) -> tuple[str, int]:
        """Copy a file in; returns (sha256, size). Refuses more than `limit` bytes (read as it goes,
        so a file growing meanwhile is refused too)."""
        with open(source, "rb") as handle:
            return self.put_stream(iter(lambda: handle.read(CHUNK), b""), limit=limit)

    def put_stream(
        self, chunks: Iterable[bytes], expected: str | None = None, limit: int | None = None
    ) -> tuple[str, int]:
        """Store the bytes of `chunks`; with `expected`, refuse content whose hash differs."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        handle, tmp_name = tempfile.mkstemp(prefix=".incoming.", dir=self.root)
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise ValidationError("file", f"is larger than the limit of {limit // (1 << 20)} MB")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            if expected is not None and sha != expected:
                raise ValidationError("sha256", f"the content's hash is {sha}, not {expected}")
            target = self.path_of(sha)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_file():
                Path(tmp_name).unlink()
            else:
                os.chmod(tmp_name, 0o644)
                os.replace(tmp_name, target)
            return sha, size
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    @contextmanager
    def open(self, sha: str) -> Iterator[BinaryIO]:
        with open(self.path_of(sha), "rb") as handle:
            yield handle

    def copy_out(self, sha: str, target: Path) -> int:
        """Write the blob to `target` atomically (temp file beside it, rename)."""
        handle, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        size = 0
        try:
            with os.fdopen(handle, "wb") as out, self.open(sha) as source:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return size


def partial_path(root: Path, sha: str) -> Path:
    """Where a download in progress is kept, so a cut transfer resumes from its length."""
    return root / ".partial" / sha


def hash_file(path: Path, digest: Any = None) -> Any:
    """A running SHA-256 (or `digest`) updated with the file's bytes."""
    digest = digest or hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest


def adopt(store: BlobStore, partial: Path, sha: str, computed: str | None = None) -> int:
    """Check a completed download's hash (`computed` while it arrived, else read now) and move it
    into place; a mismatch deletes it."""
    found = computed or hash_file(partial).hexdigest()
    size = partial.stat().st_size
    if found != sha:
        partial.unlink(missing_ok=True)
        raise ValidationError("sha256", f"the downloaded content's hash is {found}, not {sha}")
    target = store.path_of(sha)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, target)
    return size


def sent_blobs(store: Store) -> set[str]:
    """The blobs this store has seen the server take (the `blob_sent` table)."""
    return {row[0] for row in store.conn.execute("SELECT sha256 FROM blob_sent")}


def mark_sent(store: Store, sha: str, at: str) -> None:
    with store.transaction():
        store.conn.execute("INSERT OR REPLACE INTO blob_sent(sha256, at) VALUES (?, ?)", (sha, at))
