"""`sfa product ...` as a real process: every command and its error paths."""

from __future__ import annotations

from typing import Any


def test_add_list_show_edit_deactivate(sfa: Any) -> None:
    r = sfa("product", "add", "Förderband Modul 2 m", "--sku", "FB-200", "--price", "1,250.00")
    assert r.code == 0, r.err
    assert r.out.startswith("product ") and "Förderband Modul 2 m" in r.out
    r = sfa("product", "add", "Handbuch", "--sku", "HB-1", "--price", "49.90", "--tax", "7", "--json")
    handbook = r.json()
    assert (handbook["unit_price"], handbook["tax_rate"], handbook["currency"]) == ("49.90", "7", "EUR")
    assert handbook["active"] is True
    r = sfa("product", "add", "Service (USD)", "--sku", "SV-1", "--price", "1.2k", "--currency", "usd", "-q")
    assert len(r.out.strip()) == 36

    r = sfa("product", "list")
    assert r.code == 0
    lines = r.out.strip().splitlines()
    assert lines[0].split("\t") == ["ref", "sku", "name", "price", "tax %", "status"]
    assert [line.split("\t")[1] for line in lines[1:]] == ["FB-200", "HB-1", "SV-1"]
    assert "1,250.00 EUR" in r.out and "1,200.00 USD" in r.out

    r = sfa("product", "show", "fb-200")  # SKU, any case
    assert r.code == 0 and "unit price: 1,250.00 EUR" in r.out and "tax rate: 19 %" in r.out
    r = sfa("product", "show", handbook["ref"], "--json")  # short ref
    assert r.json()["sku"] == "HB-1"

    r = sfa("product", "edit", "HB-1", "--price", "54", "--name", "Technisches Handbuch", "--json")
    assert r.code == 0 and r.json()["unit_price"] == "54" and r.json()["name"] == "Technisches Handbuch"

    r = sfa("product", "deactivate", "HB-1")
    assert r.code == 0 and "deactivated" in r.out
    assert "HB-1" not in sfa("product", "list").out
    listed = sfa("product", "list", "--all", "--json").json()
    assert {p["sku"]: p["active"] for p in listed} == {"FB-200": True, "HB-1": False, "SV-1": True}
    assert "active: no" in sfa("product", "show", "HB-1").out

    # The SKU of an inactive product may be reused; reactivating the old one then clashes.
    assert sfa("product", "add", "Handbuch 2027", "--sku", "hb-1", "--price", "59").code == 0
    r = sfa("product", "activate", handbook["id"])
    assert r.code == 1 and "already used" in r.err


def test_errors(sfa: Any) -> None:
    assert sfa("product", "add", "Modul", "--sku", "M-1", "--price", "10").code == 0
    r = sfa("product", "add", "Other", "--sku", "m-1", "--price", "10")
    assert r.code == 1 and "sku" in r.err and "already used" in r.err
    r = sfa("product", "add", "Bad price", "--sku", "B-1", "--price", "ten")
    assert r.code == 1 and "price" in r.err and "not an amount" in r.err
    r = sfa("product", "add", "Bad tax", "--sku", "B-2", "--price", "10", "--tax", "120")
    assert r.code == 1 and "tax" in r.err and "0..100" in r.err
    r = sfa("product", "add", "Bad currency", "--sku", "B-3", "--price", "10", "--currency", "euro")
    assert r.code == 1 and "currency" in r.err
    r = sfa("product", "add", "No sku", "--price", "10")
    assert r.code == 2 and "--sku" in r.err
    r = sfa("product", "add", "Blank", "--sku", "  ", "--price", "10")
    assert r.code == 1 and "sku" in r.err
    r = sfa("product", "show", "NOPE-1")
    assert r.code == 1 and "no product" in r.err
    r = sfa("product", "edit", "M-1")
    assert r.code == 1 and "nothing to change" in r.err
    assert sfa("product", "deactivate", "M-1").code == 0
    r = sfa("product", "deactivate", "M-1")
    assert r.code == 1 and "already inactive" in r.err
    assert "Bad" not in sfa("product", "list", "--all").out  # nothing was written on error
