"""The product encyclopedia: fields, specs, import, compare, related products, search by spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _ok(sfa: Any, *args: str) -> Any:
    result = sfa(*args)
    assert result.code == 0, (args, result.err)
    return result


def _catalogue(sfa: Any, tmp_path: Path) -> None:
    sheet = tmp_path / "la600.pdf"
    sheet.write_bytes(b"%PDF-1.4 LA-600 datasheet")
    _ok(
        sfa,
        "product",
        "add",
        "Actuator 600",
        "--sku",
        "LA-600",
        "--price",
        "480",
        "--model",
        "LA600-24",
        "--family",
        "Linear",
        "--unit",
        "pcs",
        "--datasheet",
        str(sheet),
    )
    _ok(sfa, "product", "add", "Actuator 450", "--sku", "LA-450", "--price", "430")
    _ok(sfa, "product", "add", "Bracket", "--sku", "BR-1", "--price", "12")
    _ok(sfa, "product", "add", "Rotary drive", "--sku", "RD-1", "--price", "99")


def test_specs_show_compare_and_search(sfa: Any, tmp_path: Path) -> None:
    _catalogue(sfa, tmp_path)
    _ok(sfa, "product", "spec", "set", "LA-600", "Stroke", "600", "--unit", "mm")
    _ok(sfa, "product", "spec", "set", "LA-600", "Voltage", "24V")
    _ok(sfa, "product", "spec", "set", "la-600", "voltage", "48V")  # the same spec, changed
    _ok(sfa, "product", "spec", "set", "RD-1", "Voltage", "24V")
    _ok(sfa, "product", "spec", "set", "RD-1", "Torque", "600", "--unit", "Nm")
    csv = tmp_path / "specs.csv"
    csv.write_text("SKU,Name,Value,Unit\nLA-450,Stroke,450,mm\nLA-450,Voltage,24V,\nLA-600,Voltage,24V,\n")
    summary = _ok(sfa, "product", "import", str(csv), "--json").json()
    assert summary == {"rows": 3, "created": 2, "updated": 1, "products": 2}
    _ok(
        sfa,
        "product",
        "edit",
        "LA-600",
        "--accessory",
        "BR-1",
        "--alternative",
        "LA-450",
        "--successor",
        "LA-450",
    )
    shown = _ok(sfa, "product", "show", "LA-600", "--json").json()
    assert [(s["name"], s["value"], s["unit"]) for s in shown["specs"]] == [
        ("Stroke", "600", "mm"),
        ("Voltage", "24V", None),
    ]
    assert shown["model_number"] == "LA600-24" and shown["unit"] == "pcs"
    assert shown["datasheet"] is None  # a document now, not a path
    [doc] = shown["documents"]
    assert (doc["kind"], doc["filename"], doc["record_entity"]) == ("datasheet", "la600.pdf", "product")
    assert (shown["successor"], shown["accessory_skus"], shown["alternative_skus"]) == (
        "LA-450",
        ["BR-1"],
        ["LA-450"],
    )
    text = _ok(sfa, "product", "show", "LA-600").out
    assert "successor: LA-450 (Actuator 450)" in text and "specs (2)" in text

    compared = _ok(sfa, "product", "compare", "LA-600", "LA-450", "RD-1", "--json").json()
    assert compared["specs"] == [
        {"name": "Stroke", "values": ["600 mm", "450 mm", ""], "differ": True},
        {"name": "Voltage", "values": ["24V", "24V", "24V"], "differ": False},
        {"name": "Torque", "values": ["", "", "600 Nm"], "differ": True},
    ]
    found = _ok(sfa, "search", "600 mm 24V", "--json").json()
    skus = [r["sku"] for r in found if r["type"] == "product"]
    assert skus[0] == "LA-600" and "LA-450" not in skus  # 600 mm is LA-600's, 24V both
    # RD-1 has 600 (Nm) and 24V but no "mm": words must all match one product's entries.
    assert "RD-1" not in skus
    assert [r["sku"] for r in _ok(sfa, "search", "linear", "24v", "--json").json()] == ["LA-600"]
    assert all(r["type"] != "product_spec" for r in _ok(sfa, "search", "stroke", "--json").json())

    _ok(sfa, "product", "spec", "remove", "LA-600", "stroke")
    gone = sfa("product", "spec", "remove", "LA-600", "Colour")
    assert gone.code == 1 and gone.err == "sfa: error: name: LA-600 has no spec 'Colour'; it has: Voltage\n"
    assert [r["sku"] for r in _ok(sfa, "search", "600 mm 24V", "--json").json()] == []


def test_bad_input_names_the_field_and_writes_nothing(sfa: Any, tmp_path: Path) -> None:
    _catalogue(sfa, tmp_path)
    csv = tmp_path / "specs.csv"
    csv.write_text("sku,name,value\nLA-600,Stroke,600\nNOPE,Stroke,1\n")
    bad = sfa("product", "import", str(csv))
    assert bad.code == 1 and bad.err.startswith("sfa: error: line 3: sku: no product with SKU or ref 'NOPE'")
    assert _ok(sfa, "product", "show", "LA-600", "--json").json()["specs"] == []  # all or nothing
    csv.write_text("sku,name,colour\nLA-600,Stroke,600\n")
    assert "missing column 'value'" in sfa("product", "import", str(csv)).err
    empty = sfa("product", "spec", "set", "LA-600", "Stroke", " ")
    assert empty.code == 1 and empty.err.startswith("sfa: error: value: is required")
    own = sfa("product", "edit", "LA-600", "--successor", "LA-600")
    assert own.code == 1 and own.err.startswith("sfa: error: successor: LA-600 cannot be its own successor")
    missing = sfa("product", "edit", "LA-600", "--accessory", "XX-9")
    assert missing.code == 1 and missing.err.startswith("sfa: error: accessories: no product")
    one = sfa("product", "compare", "LA-600")
    assert one.code == 1 and "at least two" in one.err


def test_datasheets_and_the_picture_are_documents_of_the_product(sfa: Any, tmp_path: Path) -> None:
    sheet, manual, photo = tmp_path / "p1.pdf", tmp_path / "p1-manual.pdf", tmp_path / "p1.png"
    sheet.write_bytes(b"%PDF-1.4 sheet")
    manual.write_bytes(b"%PDF-1.4 manual")
    photo.write_bytes(b"\x89PNG picture")
    missing = sfa(
        "product", "add", "Pump", "--sku", "P-1", "--price", "10", "--datasheet", str(tmp_path / "no.pdf")
    )
    assert (
        missing.code == 1
        and missing.err.startswith("sfa: error: datasheet: ")
        and "no such file" in missing.err
    )
    assert _ok(sfa, "product", "list", "--json").json() == []  # refused before anything was written
    _ok(sfa, "product", "add", "Pump", "--sku", "P-1", "--price", "10", "--datasheet", str(sheet))
    _ok(sfa, "product", "edit", "P-1", "--datasheet", str(manual), "--image", str(photo))
    shown = _ok(sfa, "product", "show", "P-1", "--json").json()
    kinds = sorted((d["kind"], d["filename"]) for d in shown["documents"])
    assert kinds == [("datasheet", "p1-manual.pdf"), ("datasheet", "p1.pdf"), ("photo", "p1.png")]
    picture = next(d for d in shown["documents"] if d["kind"] == "photo")
    assert shown["image"] == picture["id"]
    listed = _ok(sfa, "doc", "list", "--product", "P-1", "--json").json()
    assert len(listed) == 3  # the same records `sfa doc` manages
    out = tmp_path / "out.pdf"
    datasheet = next(d for d in shown["documents"] if d["filename"] == "p1.pdf")
    _ok(sfa, "doc", "get", datasheet["ref"], "--output", str(out))
    assert out.read_bytes() == b"%PDF-1.4 sheet"
    text = _ok(sfa, "product", "show", "P-1").out
    assert "documents (3)" in text and "p1-manual.pdf" in text and "image: p1.png (document" in text
