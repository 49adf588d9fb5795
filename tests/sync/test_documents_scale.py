"""Documents at the issue's scale (issue 15, "Tests and figures"): 200 files totalling 200 MB sync
from one laptop to a second one through the fault proxy, with 30 % of the blob transfers cut (uploads
cut mid-body or their answer dropped, downloads cut halfway): every blob arrives with its hash
checked, none is sent twice in full (both ways resume), and a rep of another team gets 404 for a
known hash.

Kept affordable for CI: the files are os.urandom bytes written in one go and added through the
service (no process per file); the real server process and `sfa sync` processes carry the bytes;
SQLite only (blobs live in the server's blob directory whatever the database; the metadata path is
the same on PostgreSQL and is run there by tests/sync/test_deal_e2e.py). The cuts come from a seeded
generator, so the same transfers are hit on every run.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from faultproxy import FaultProxy
from synchelp import Server

from sfa.services import crm, documents

FILES = 200
SIZE = 1_000_000  # 200 files of 1 MB: 200 MB
CUT = 0.30


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.timeout(900)
def test_200_files_200_mb_reach_a_second_laptop_through_30_percent_cut_transfers(
    server: Server, laptop: Any, proxy: FaultProxy, tmp_path: Path, backend: str
) -> None:
    ana = laptop("ana")
    bob = laptop("bob")
    source = tmp_path / "files"
    source.mkdir()
    hashes: dict[str, str] = {}  # sha256 -> file name
    ws = ana.workspace()
    try:
        account = crm.add_account(ws, {"name": "Huber Maschinenbau GmbH"})
        for n in range(FILES):
            path = source / f"drawing-{n:03d}.bin"
            data = os.urandom(SIZE)
            path.write_bytes(data)
            hashes[hashlib.sha256(data).hexdigest()] = path.name
            documents.add(ws, str(path), "account", account["id"], kind="drawing")
    finally:
        ws.close()
    assert len(hashes) == FILES

    # Uploads: 30 % of the PUTs are cut, half of those mid-body, half after the server stored them.
    proxy.add("/v1/blobs/", "cut_upload", times=10_000, method="PUT", ratio=CUT / 2)
    proxy.add("/v1/blobs/", "cut_after", times=10_000, method="PUT", ratio=CUT / 2 / (1 - CUT / 2))
    first = ana.synced()
    assert first["rejected"] == 0
    puts_cut = proxy.faults["cut_upload"] + proxy.faults["cut_after"]
    assert puts_cut >= FILES * CUT * 0.6, proxy.faults  # about 60 of about 260 PUTs
    total = FILES * SIZE
    for sha in hashes:
        puts = [e for e in proxy.log if e[0] == "PUT" and e[1] == f"/v1/blobs/{sha}"]
        assert proxy.up_by_path[f"/v1/blobs/{sha}"] >= SIZE, puts  # it all arrived
        full = [e for e in puts if e[3] >= SIZE]
        assert len(full) <= 1, puts  # never sent twice in full: a cut one resumes
    sent_all = sum(proxy.up_by_path[f"/v1/blobs/{sha}"] for sha in hashes)
    assert sent_all < 1.3 * total, sent_all / total

    # Downloads (the priming of the second laptop's sync): 30 % of the GETs cut halfway.
    proxy.clear()
    proxy.add("/v1/blobs/", "truncate", times=10_000, method="GET", ratio=CUT)
    second = bob.synced()
    assert second["rejected"] == 0
    assert proxy.faults["truncate"] >= FILES * CUT * 0.6, proxy.faults
    ws = bob.workspace()
    try:
        listed = documents.list_documents(ws)
        assert len(listed) == FILES
        got = tmp_path / "got"
        got.mkdir()
        for doc in listed:
            assert documents.has_content(ws, doc), doc["filename"]  # primed during sync
            target = got / doc["filename"]
            documents.get(ws, doc["id"], str(target))
            digest = hashlib.sha256(target.read_bytes()).hexdigest()
            assert digest == doc["sha256"] and hashes[digest] == doc["filename"]
            target.unlink()
    finally:
        ws.close()
    for sha in hashes:
        received = proxy.down_by_path[f"/v1/blobs/{sha}"]
        gets = [e for e in proxy.log if e[0] == "GET" and e[1] == f"/v1/blobs/{sha}"]
        assert SIZE <= received < 1.5 * SIZE, (received, gets)  # resumed with Range, not fetched again

    received_all = sum(proxy.down_by_path[f"/v1/blobs/{sha}"] for sha in hashes)
    print(  # the figures, for the record (pytest -s)
        f"uploads: {puts_cut} PUTs cut ({dict(proxy.faults)}), {sent_all / total:.3f}x the content sent; "
        f"downloads: {proxy.faults['truncate']} GETs cut, {received_all / total:.3f}x the content received"
    )

    # Nothing outside scope: a rep of another team gets 404 for a hash it knows.
    other = server.add_user("sam", "rep", "south")
    known = next(iter(hashes))
    reply = httpx.get(
        f"http://127.0.0.1:{server.port}/v1/blobs/{known}", headers={"Authorization": f"Bearer {other}"}
    )
    assert reply.status_code in (403, 404)
