"""Documents through the server (in-process, SQLite): blobs by hash, resumable both ways, scope
checked through the documents that refer to them, priming during sync."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from inprocess import URL, InProcessServer

from sfa.domain.entities import DOCUMENT
from sfa.protocol import PushRequest
from sfa.services import crm, documents, products
from sfa.store.blobs import partial_path
from sfa.store.replica import Replica
from sfa.store.workspace import Workspace
from sfa.sync import blobs, engine


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    (tmp_path / "server").mkdir()
    srv = InProcessServer(tmp_path / "server")
    yield srv
    srv.close()


@pytest.fixture
def http(server: InProcessServer) -> Iterator[httpx.Client]:
    with httpx.Client(transport=server.transport, base_url=URL) as client:
        yield client


def _laptop(
    server: InProcessServer, home: Path, name: str, role: str = "rep", team: str = "north"
) -> tuple[Workspace, Any]:
    ws = Workspace(home / name)
    return ws, server.login(ws, server.add_user(name, role, team))


def _file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def test_documents_sync_to_a_second_laptop_with_hashes_checked(
    server: InProcessServer, http: httpx.Client, tmp_path: Path
) -> None:
    ana, ana_conn = _laptop(server, tmp_path, "ana")
    bob, bob_conn = _laptop(server, tmp_path, "bob")
    sam, _sam_conn = _laptop(server, tmp_path, "sam", team="south")
    meg, meg_conn = _laptop(server, tmp_path, "meg", role="manager")  # products are the managers'
    try:
        account = crm.add_account(ana, {"name": "Huber Maschinenbau GmbH"})
        products.add_product(meg, {"name": "Pumpe", "sku": "P-1", "unit_price": "10"})
        files = [_file(tmp_path / f"f{n}.pdf", 50_000 + n) for n in range(5)]
        docs = [documents.add(ana, str(f), "account", account["id"]) for f in files[:4]]
        sheet = documents.add(meg, str(files[4]), "product", "P-1", kind="datasheet")
        twice = documents.add(ana, str(files[0]), "account", account["id"], title="again")
        assert twice["sha256"] == docs[0]["sha256"]  # stored once
        engine.sync_once(meg, conn=meg_conn)
        engine.sync_once(ana, conn=ana_conn)
        engine.sync_once(bob, conn=bob_conn)
        for doc, source in zip([*docs, sheet], files, strict=True):
            target = tmp_path / "out" / doc["filename"]
            target.parent.mkdir(exist_ok=True)
            assert documents.has_content(bob, doc)  # primed during sync
            documents.get(bob, doc["id"], str(target))
            assert target.read_bytes() == source.read_bytes()

        # Scope: a rep of another team gets 404 for a known hash; the product datasheet is everyone's.
        sam_headers = {"Authorization": f"Bearer {server.add_user('sam2', 'rep', 'south')}"}
        known = docs[0]["sha256"]
        assert http.get(f"/v1/blobs/{known}", headers=sam_headers).status_code == 404
        assert http.put(f"/v1/blobs/{known}", content=b"x", headers=sam_headers).status_code == 404
        assert http.get(f"/v1/blobs/{sheet['sha256']}", headers=sam_headers).status_code == 200
        engine.sync_once(sam, conn=_sam_conn)
        assert sam.store.find(DOCUMENT, docs[0]["id"]) is None  # out of scope: not even the record
        assert documents.has_content(sam, sam.store.get(DOCUMENT, sheet["id"]))
    finally:
        ana.close(), bob.close(), sam.close(), meg.close()


def test_blob_upload_resumes_checks_the_hash_and_is_idempotent(
    server: InProcessServer, http: httpx.Client, tmp_path: Path
) -> None:
    ana, ana_conn = _laptop(server, tmp_path, "ana")
    try:
        account = crm.add_account(ana, {"name": "Huber"})
        content = os.urandom(300_000)
        source = tmp_path / "drawing.dxf"
        source.write_bytes(content)
        doc = documents.add(ana, str(source), "account", account["id"], kind="drawing")
        sha = doc["sha256"]
        # Push the record only: the blob goes by hand below.
        replica = Replica(ana.store)
        mutations = replica.pending(100)
        reply = ana_conn.push(
            PushRequest(ana.store.replica_id, mutations, replica.acked, None, replica.cursor)
        )
        replica.acknowledge(mutations, reply.results)
        headers = {"Authorization": ana_conn.http.headers["Authorization"]}

        half = len(content) // 2
        first = http.put(
            f"/v1/blobs/{sha}",
            content=content[:half],
            headers={**headers, "Content-Range": f"bytes 0-{half - 1}/{len(content)}"},
        )
        assert first.json() == {"sha256": sha, "received": half, "complete": False}
        assert http.get(f"/v1/blobs/{sha}/upload", headers=headers).json()["received"] == half
        assert http.get(f"/v1/blobs/{sha}", headers=headers).status_code == 404  # nothing half-served
        # A start beyond what arrived is refused with the length to resume from.
        wrong = http.put(
            f"/v1/blobs/{sha}",
            content=content[half + 10 :],
            headers={**headers, "Content-Range": f"bytes {half + 10}-{len(content) - 1}/{len(content)}"},
        )
        assert wrong.status_code == 416 and wrong.json()["received"] == half
        # A start below it (the client asked before a cut request had finished writing) is taken
        # from there: the server drops what it held beyond that offset.
        behind = http.put(
            f"/v1/blobs/{sha}",
            content=content[10:],
            headers={**headers, "Content-Range": f"bytes 10-{len(content) - 1}/{len(content)}"},
        )
        assert behind.json()["complete"] is True
        again = http.put(f"/v1/blobs/{sha}", content=b"", headers=headers)
        assert again.json() == {"sha256": sha, "received": len(content), "complete": True}
        ranged = http.get(f"/v1/blobs/{sha}", headers={**headers, "Range": "bytes=1000-"})
        assert ranged.status_code == 206 and ranged.content == content[1000:]

        # A body whose hash differs is refused and nothing is kept.
        other = crm.add_account(ana, {"name": "Other"})
        fake_sha = hashlib.sha256(b"the real content").hexdigest()
        documents.add(ana, str(_write(tmp_path / "real.txt", b"the real content")), "account", other["id"])
        mutations = replica.pending(100)
        replica.acknowledge(
            mutations,
            ana_conn.push(
                PushRequest(ana.store.replica_id, mutations, replica.acked, None, replica.cursor)
            ).results,
        )
        bad = http.put(f"/v1/blobs/{fake_sha}", content=b"something else", headers=headers)
        assert bad.status_code == 400 and "hash" in bad.json()["error"]
        assert http.get(f"/v1/blobs/{fake_sha}/upload", headers=headers).json() == {
            "sha256": fake_sha,
            "received": 0,
            "complete": False,
        }
        assert http.put("/v1/blobs/not-a-hash", content=b"x", headers=headers).status_code == 400
    finally:
        ana.close()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_download_resumes_from_its_partial_file(server: InProcessServer, tmp_path: Path) -> None:
    ana, ana_conn = _laptop(server, tmp_path, "ana")
    bob, bob_conn = _laptop(server, tmp_path, "bob")
    try:
        account = crm.add_account(ana, {"name": "Huber"})
        content = os.urandom(200_000)
        doc = documents.add(ana, str(_write(tmp_path / "a.bin", content)), "account", account["id"])
        engine.sync_once(ana, conn=ana_conn)
        bob.config.set("files.auto_max_mb", "0")  # nothing primed: on demand only
        engine.sync_once(bob, conn=bob_conn)
        assert not documents.has_content(bob, doc)
        store = blobs.blob_store(bob)
        partial = partial_path(store.root, doc["sha256"])
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(content[:80_000])  # a cut transfer
        before = server.transport.requests
        summary = blobs.BlobSummary()
        assert blobs.download(bob, bob_conn.http, doc["sha256"], summary)
        assert server.transport.requests == before + 1 and summary.bytes_fetched == 120_000  # only the rest
        assert store.path_of(doc["sha256"]).read_bytes() == content and not partial.exists()
        # A partial file with wrong bytes fails the hash check, is dropped, and the next try succeeds.
        store.path_of(doc["sha256"]).unlink()
        partial.write_bytes(b"\0" * 80_000)
        assert blobs.download(bob, bob_conn.http, doc["sha256"])
        assert store.path_of(doc["sha256"]).read_bytes() == content
    finally:
        ana.close(), bob.close()


def test_the_server_refuses_a_blob_over_its_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFA_BLOB_MAX_MB", "1")
    (tmp_path / "server").mkdir()
    server = InProcessServer(tmp_path / "server")
    try:
        ana, ana_conn = _laptop(server, tmp_path, "ana")
        account = crm.add_account(ana, {"name": "Huber"})
        doc = documents.add(
            ana, str(_write(tmp_path / "big.bin", os.urandom(1_200_000))), "account", account["id"]
        )
        from sfa.domain.errors import SyncError

        with pytest.raises(SyncError, match="limit"):
            engine.sync_once(ana, conn=ana_conn)
        assert not (tmp_path / "server" / "blobs" / doc["sha256"][:2]).exists()
        ana.close()
    finally:
        server.close()
