"""`sfa quote export`: Markdown, HTML and PDF (read back with pypdf), written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from sfa.domain.errors import ValidationError
from sfa.services import crm, products, quote_export, quotes


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"  # beside the data home, which is tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def quote(ws: Any, home: Path) -> dict[str, Any]:
    for key, value in {
        "company.name": "Alpenblick Fördertechnik GmbH",
        "company.address": "Gewerbepark Nord 7; 85356 Freising",
        "company.vat_id": "DE812345678",
    }.items():
        ws.config.set(key, value)
    account = crm.add_account(
        ws,
        {
            "name": "Müller & Söhne Brauerei GmbH",
            "street": "Hopfenweg 3",
            "postcode": "85354",
            "city": "Freising",
            "country": "Germany",
        },
    )
    contact = crm.add_contact(ws, {"name": "Łukasz Wróbel", "account_id": account["id"]})
    opp = crm.add_opportunity(ws, {"name": "Abfüllanlage <Linie 2>", "account_id": account["id"]})
    products.add_product(ws, {"name": "Gurtförderer Modul 2 m", "sku": "FT-200", "unit_price": "2650"})
    products.add_product(
        ws, {"name": "Technisches Handbuch", "sku": "HB-DE", "unit_price": "49.90", "tax_rate": "7"}
    )
    made = quotes.new_quote(
        ws, opp_ref=opp["id"], contact_ref=contact["id"], terms="Zahlbar in 30 Tagen | netto"
    )
    quotes.add_line(ws, made["id"], product_ref="FT-200", qty="3", discount="10%")
    quotes.add_line(ws, made["id"], product_ref="HB-DE", qty="2")
    quotes.add_line(
        ws,
        made["id"],
        description="Montage vor Ort – 2 Techniker",
        price="85.50",
        qty="7.5",
        discount="25.00",
    )
    quotes.send(ws, made["id"])
    return made


def test_markdown(sfa: Any, quote: dict[str, Any], out_dir: Path) -> None:
    out = out_dir / "quote.md"
    r = sfa("quote", "export", quote["number"], "--output", str(out))
    assert r.code == 0, r.err
    assert r.out.strip() == str(out.resolve())
    text = out.read_text()
    assert text.startswith(f"# Quotation {quote['number']}\n")
    for expected in (
        "Alpenblick Fördertechnik GmbH",
        "Gewerbepark Nord 7  ",
        "VAT ID: DE812345678",
        "Müller & Söhne Brauerei GmbH",
        "Attn. Łukasz Wróbel",
        "85354 Freising",
        "| Reference | Abfüllanlage <Linie 2> |",
        "| 1 | Gurtförderer Modul 2 m (FT-200) | 3 | 2,650.00 | 10 % | 19 % | 7,155.00 |",
        "| VAT 7 % on 99.80 | 6.99 |",
        "| VAT 19 % on 7,771.25 | 1,476.54 |",
        "| **Total (EUR)** | **9,354.58** |",
        "Zahlbar in 30 Tagen | netto",
    ):
        assert expected in text, expected


def test_html_is_escaped_and_complete(sfa: Any, quote: dict[str, Any], out_dir: Path) -> None:
    out = out_dir / "quote.html"
    r = sfa("quote", "export", quote["id"][-12:-4], "-o", str(out), "--json")
    assert r.code == 0, r.err
    assert r.json()["format"] == "html" and r.json()["revision"] == 1
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "Abfüllanlage &lt;Linie 2&gt;" in text and "<Linie 2>" not in text
    assert "Müller &amp; Söhne Brauerei GmbH" in text
    assert '<td class="num">9,354.58</td>' in text


def test_pdf_reads_back(sfa: Any, quote: dict[str, Any], out_dir: Path) -> None:
    out = out_dir / "quote.pdf"
    r = sfa("quote", "export", quote["number"], "--output", str(out))
    assert r.code == 0, r.err
    assert out.read_bytes().startswith(b"%PDF-")
    reader = PdfReader(out)
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in (
        quote["number"],
        "Quotation",
        "Alpenblick Fördertechnik GmbH",
        "DE812345678",
        "Müller & Söhne Brauerei GmbH",
        "Łukasz Wróbel",
        "Gurtförderer Modul 2 m",
        "7,155.00",
        "VAT 19 % on 7,771.25",
        "1,476.54",
        "7,871.05",
        "9,354.58",
        "Total (EUR)",
        "Zahlbar in 30 Tagen",
    ):
        assert expected in text, expected
    assert reader.metadata is not None and reader.metadata.title == f"Quotation {quote['number']}"
    assert [p.name for p in out_dir.iterdir()] == ["quote.pdf"]  # no temporary file left behind


def test_long_quote_spans_pages(ws: Any, out_dir: Path) -> None:
    account = crm.add_account(ws, {"name": "Huber GmbH"})
    made = quotes.new_quote(ws, account_ref=account["id"])
    for n in range(1, 121):
        quotes.add_line(
            ws,
            made["id"],
            description=f"Position {n} " + "lange Beschreibung " * (n % 4),
            price=f"{n}.25",
            qty="2",
        )
    out = out_dir / "long.pdf"
    quote_export.export(ws, made["number"], str(out))
    reader = PdfReader(out)
    assert len(reader.pages) > 2
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Position 120" in text and f"Page {len(reader.pages)}/{len(reader.pages)}" in text
    total = quotes.totals_of(made, quotes.lines_of(ws, made["id"])).total
    assert f"{total:,.2f}" in text


def test_pdf_without_a_unicode_font_transliterates(
    ws: Any, quote: dict[str, Any], out_dir: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(quote_export, "find_font", lambda ws: None)
    out = out_dir / "core.pdf"
    result = quote_export.export(ws, quote["number"], str(out))
    assert "transliteration" in result.note
    text = "\n".join(page.extract_text() for page in PdfReader(out).pages)
    assert "Müller & Söhne Brauerei GmbH" in text  # in Latin-1: kept
    assert "Lukasz Wróbel" in text  # Ł is outside it: transliterated; ó is kept
    assert "9,354.58" in text
    assert quote_export.transliterate("Łódź – 5 €") == "Lódz - 5 EUR"
    assert quote_export.transliterate("→") == "?"


def test_configured_font_must_exist(sfa: Any, quote: dict[str, Any], out_dir: Path) -> None:
    refused = sfa("config", "set", "quote.font", str(out_dir / "missing.ttf"))
    assert refused.code == 1 and "no such file" in refused.err  # a missing file: error, exit 1
    gone = out_dir / "gone.ttf"
    gone.write_text("")
    assert sfa("config", "set", "quote.font", str(gone)).code == 0
    gone.unlink()  # the font was there when it was set, and went away
    r = sfa("quote", "export", quote["number"], "-o", str(out_dir / "q.pdf"))
    assert r.code == 1 and "quote.font" in r.err
    not_a_font = out_dir / "notes.ttf"
    not_a_font.write_text("this is not a font")
    assert sfa("config", "set", "quote.font", str(not_a_font)).code == 0
    r = sfa("quote", "export", quote["number"], "-o", str(out_dir / "q.pdf"))
    assert r.code == 1 and "cannot use" in r.err and "TrueType" in r.err
    assert not (out_dir / "q.pdf").exists()


def test_export_errors(sfa: Any, quote: dict[str, Any], out_dir: Path) -> None:
    r = sfa("quote", "export", quote["number"], "-o", str(out_dir / "quote.docx"))
    assert r.code == 1 and ".pdf, .md or .html" in r.err
    r = sfa("quote", "export", quote["number"], "-o", str(out_dir / "missing" / "quote.pdf"))
    assert r.code == 1 and "does not exist" in r.err
    r = sfa("quote", "export", "Q-2000-AAAA-0001", "-o", str(out_dir / "quote.pdf"))
    assert r.code == 1 and "no quote numbered" in r.err
    r = sfa("quote", "export", quote["number"])
    assert r.code == 2 and "--output" in r.err
    assert list(out_dir.iterdir()) == []


def test_a_failed_export_leaves_the_old_file_alone(
    ws: Any, quote: dict[str, Any], out_dir: Path, monkeypatch: Any
) -> None:
    out = out_dir / "quote.md"
    out.write_text("previous version")

    monkeypatch.setattr(quote_export.os, "fdopen", _broken_fdopen)
    with pytest.raises(OSError, match="disk full"):
        quote_export.export(ws, quote["number"], str(out))
    assert out.read_text() == "previous version"
    assert [p.name for p in out_dir.iterdir()] == ["quote.md"]


def _broken_fdopen(handle: int, mode: str) -> Any:
    import os

    os.close(handle)
    raise OSError("disk full")


def test_export_refuses_a_directory(ws: Any, quote: dict[str, Any], out_dir: Path) -> None:
    target = out_dir / "folder.pdf"
    target.mkdir()
    with pytest.raises(ValidationError, match="is a directory"):
        quote_export.export(ws, quote["number"], str(target))


_PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('FPDF' if 'fpdf' in sys.modules else 'CLEAN', file=sys.stderr))\n"
    "from sfa.cli.main import run\n"
    "run(sys.argv[1:])\n"
)


def test_fpdf_is_imported_only_by_pdf_export(home: Path, quote: dict[str, Any], out_dir: Path) -> None:
    import subprocess
    import sys

    def loaded(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, "--home", str(home), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stderr.strip().splitlines()[-1]

    assert loaded("quote", "list") == "CLEAN"
    assert loaded("quote", "show", quote["number"]) == "CLEAN"
    assert loaded("product", "add", "Modul", "--sku", "X-1", "--price", "5") == "CLEAN"
    assert loaded("quote", "export", quote["number"], "-o", str(out_dir / "q.md")) == "CLEAN"
    assert loaded("quote", "export", quote["number"], "-o", str(out_dir / "q.pdf")) == "FPDF"
