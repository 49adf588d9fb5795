"""`sfa doc ...` in-process: keep files with records, content-addressed; the refusals, versions,
get and open."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from sfa.services import crm, products


@pytest.fixture
def account(ws: Any) -> dict[str, Any]:
    products.add_product(ws, {"name": "Pumpe", "sku": "P-1", "unit_price": "10"})
    return dict(crm.add_account(ws, {"name": "Huber Maschinenbau GmbH"}))


def _blob_files(home: Path) -> list[Path]:
    root = home / "blobs"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_add_list_get_version_delete(sfa: Any, home: Path, account: dict[str, Any], tmp_path: Path) -> None:
    source = tmp_path / "Angebot Anlage.pdf"
    source.write_bytes(b"%PDF-1.4 " + os.urandom(5000))
    r = sfa("doc", "add", str(source), "--account", account["id"], "--kind", "brochure", "--json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["filename"] == "Angebot Anlage.pdf" and doc["media_type"] == "application/pdf"
    assert doc["size"] == 5009 and doc["kind"] == "brochure" and doc["content_here"] is True
    assert doc["record_entity"] == "account" and doc["account_id"] == account["id"] and doc["version"] == 1
    sheet = sfa("doc", "add", str(source), "--product", "P-1", "--kind", "datasheet", "--json").json()
    assert sheet["sha256"] == doc["sha256"] and sheet["owner"] is None
    assert len(_blob_files(home)) == 1  # identical content is stored once

    listed = sfa("doc", "list", "--account", account["id"], "--json").json()
    assert [d["id"] for d in listed] == [doc["id"]]
    assert len(sfa("doc", "list", "--json").json()) == 2
    assert len(sfa("doc", "list", "--kind", "datasheet", "--json").json()) == 1
    assert "sha256: " + doc["sha256"] in sfa("doc", "show", doc["ref"]).out

    out = tmp_path / "copy.pdf"
    assert sfa("doc", "get", doc["ref"], "--output", str(out)).code == 0
    assert out.read_bytes() == source.read_bytes()
    folder = tmp_path / "folder"
    folder.mkdir()
    r = sfa("doc", "get", doc["ref"], "--output", str(folder))
    assert r.code == 0 and (folder / "Angebot Anlage.pdf").read_bytes() == source.read_bytes()

    newer = tmp_path / "v2.pdf"
    newer.write_bytes(b"%PDF-1.4 second")
    v2 = sfa("doc", "version", doc["ref"], str(newer), "--json").json()
    assert (v2["version"], v2["previous_id"], v2["title"]) == (2, doc["id"], doc["title"])
    assert [d["id"] for d in sfa("doc", "list", "--account", account["id"], "--json").json()] == [v2["id"]]
    r = sfa("doc", "version", doc["ref"], str(newer))
    assert r.code == 1 and "newer version" in r.err

    assert sfa("doc", "delete", v2["ref"]).code == 0  # deleting a version shows the one before again
    assert [d["id"] for d in sfa("doc", "list", "--account", account["id"], "--json").json()] == [doc["id"]]
    assert sfa("doc", "delete", doc["ref"]).code == 0
    assert sfa("doc", "list", "--account", account["id"], "--json").json() == []


def test_open_hands_the_file_to_the_opener(sfa: Any, account: dict[str, Any], tmp_path: Path) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(b"\xff\xd8\xff" + os.urandom(100))
    doc = sfa("doc", "add", str(source), "--account", account["id"], "--json").json()
    assert doc["kind"] == "photo"
    seen = tmp_path / "seen"
    opener = tmp_path / "opener.sh"
    opener.write_text(f'#!/bin/sh\necho "$1" > {seen}\n')
    opener.chmod(opener.stat().st_mode | stat.S_IXUSR)
    r = sfa("doc", "open", doc["ref"], env={"SFA_OPENER": str(opener)})
    assert r.code == 0, r.err
    opened = Path(r.out.strip())
    assert opened.name == "photo.jpg" and opened.read_bytes() == source.read_bytes()
    import time

    for _ in range(100):  # the opener runs detached
        if seen.exists():
            break
        time.sleep(0.05)
    assert seen.read_text().strip() == str(opened)


def test_refusals_are_one_line_and_store_nothing(
    sfa: Any, home: Path, account: dict[str, Any], tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(2 << 20))
    assert sfa("config", "set", "files.max_mb", "1").code == 0
    cases = [
        ((str(tmp_path / "missing.pdf"), "--account", account["id"]), "no such file"),
        ((str(tmp_path), "--account", account["id"]), "is a directory"),
        ((str(big), "--account", account["id"]), "larger than files.max_mb (1 MB)"),
        ((str(big), "--account", "nope"), None),
    ]
    for args, text in cases:
        r = sfa("doc", "add", *args)
        assert r.code != 0 and r.err.count("\n") == 1 and r.err.startswith("sfa: error: "), r.err
        if text:
            assert text in r.err and r.err.startswith("sfa: error: FILE: "), r.err
    r = sfa("doc", "add", str(big), "--account", account["id"], "--product", "P-1")
    assert r.code == 2 and "cannot be used together" in r.err
    assert sfa("doc", "add", str(big), "--account", account["id"], "--kind", "poster").code == 1
    assert sfa("doc", "list", "--json").json() == []
    assert _blob_files(home) == []  # nothing half-stored, no temporary file left


def test_visit_log_keeps_photos(sfa: Any, home: Path, account: dict[str, Any], tmp_path: Path) -> None:
    visit = sfa("visit", "plan", "--account", account["id"], "--at", "today 09:00", "--json")
    assert visit.code == 0, visit.err
    ref = visit.json()["ref"]
    photos = [tmp_path / "a.jpg", tmp_path / "b.jpg"]
    for n, path in enumerate(photos):
        path.write_bytes(b"\xff\xd8\xff" + bytes([n]) * 50)
    # A missing photo is refused before anything is written: the visit stays planned.
    r = sfa(
        "visit", "log", ref, "--outcome", "ok", "--photo", str(photos[0]), "--photo", str(tmp_path / "c.jpg")
    )
    assert r.code == 1 and r.err.startswith("sfa: error: --photo: ") and "c.jpg: no such file" in r.err
    assert sfa("visit", "show", ref, "--json").json()["status"] == "planned"
    assert sfa("doc", "list", "--json").json() == []
    r = sfa("visit", "log", ref, "--outcome", "ok", "--photo", str(photos[0]), "--photo", str(photos[1]))
    assert r.code == 0, r.err
    docs = sfa("doc", "list", "--visit", ref, "--json").json()
    assert sorted(d["filename"] for d in docs) == ["a.jpg", "b.jpg"]
    assert {d["kind"] for d in docs} == {"photo"} and {d["account_id"] for d in docs} == {account["id"]}


def test_quote_export_attaches_the_products_datasheets(
    sfa: Any, account: dict[str, Any], tmp_path: Path
) -> None:
    from fpdf import FPDF
    from pypdf import PdfReader

    sheet = tmp_path / "p1-datasheet.pdf"
    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.cell(0, 10, "Pumpe P-1 technical data")
    pdf.output(str(sheet))
    assert sfa("doc", "add", str(sheet), "--product", "P-1", "--kind", "datasheet").code == 0
    quote = sfa("quote", "new", "--account", account["id"], "--json").json()["number"]
    assert sfa("quote", "add-line", quote, "--product", "P-1", "--qty", "2").code == 0
    assert sfa("quote", "add-line", quote, "--product", "P-1").code == 0  # the same sheet once
    plain, full = tmp_path / "plain.pdf", tmp_path / "full.pdf"
    assert sfa("quote", "export", quote, "--output", str(plain)).code == 0
    r = sfa("quote", "export", quote, "--output", str(full), "--attach-datasheets")
    assert r.code == 0, r.err
    assert len(PdfReader(str(full)).pages) == len(PdfReader(str(plain)).pages) + 2
    assert "technical data" in PdfReader(str(full)).pages[-1].extract_text()
    r = sfa("quote", "export", quote, "--output", str(tmp_path / "q.md"), "--attach-datasheets")
    assert r.code == 2 and "needs a .pdf" in r.err
