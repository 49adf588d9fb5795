"""`sfa quote ...` as a real process: the life of a quote, every command and its error paths."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from sfa.domain.dates import local_today
from sfa.domain.entities import QUOTE
from sfa.services import crm, products


@pytest.fixture
def setup(ws: Any) -> dict[str, Any]:
    """An account with a contact and an open opportunity, a second account, and a price list."""
    account = crm.add_account(
        ws,
        {
            "name": "Huber Maschinenbau GmbH",
            "city": "München",
            "street": "Leopoldstraße 12",
            "postcode": "80802",
        },
    )
    contact = crm.add_contact(ws, {"name": "Anna Huber", "account_id": account["id"]})
    other = crm.add_account(ws, {"name": "Gruber Logistik AG"})
    stranger = crm.add_contact(ws, {"name": "Ben Gruber", "account_id": other["id"]})
    opp = crm.add_opportunity(
        ws,
        {
            "name": "Retrofit line 3",
            "account_id": account["id"],
            "contact_id": contact["id"],
            "amount": "40k",
            "stage": "qualification",
        },
    )
    products.add_product(ws, {"name": "Förderband Modul 2 m", "sku": "FB-200", "unit_price": "1250"})
    products.add_product(ws, {"name": "Handbuch", "sku": "HB-1", "unit_price": "49.90", "tax_rate": "7"})
    products.add_product(ws, {"name": "Service USD", "sku": "US-1", "unit_price": "100", "currency": "USD"})
    old = products.add_product(ws, {"name": "Altes Modul", "sku": "OLD-1", "unit_price": "10"})
    products.set_active(ws, old["id"], False)
    return {"account": account, "contact": contact, "other": other, "stranger": stranger, "opp": opp}


def _new(sfa: Any, *args: str) -> dict[str, Any]:
    r = sfa("quote", "new", *args, "--json")
    assert r.code == 0, r.err
    data: dict[str, Any] = r.json()
    return data


def test_a_quote_from_draft_to_accepted(sfa: Any, setup: dict[str, Any]) -> None:
    opp = setup["opp"]
    quote = _new(sfa, "--opp", opp["id"], "--terms", "Net 30 days")
    number, ref = quote["number"], quote["ref"]
    assert quote["number"].startswith(f"Q-{local_today().year}-") and quote["revision"] == 1
    assert quote["status"] == "draft" and quote["contact_id"] == setup["contact"]["id"]
    assert quote["account_id"] == setup["account"]["id"] and quote["currency"] == "EUR"
    assert quote["valid_until"] == (local_today() + timedelta(days=30)).isoformat()

    r = sfa("quote", "add-line", number, "--product", "FB-200", "--qty", "3", "--discount", "10%")
    assert r.code == 0, r.err
    assert (
        r.out.strip()
        == "line 1 added to " + number + ": Förderband Modul 2 m, 3 × 1,250.00 EUR = 3,375.00 EUR"
    )
    assert sfa("quote", "add-line", ref, "--product", "hb-1", "--qty", "2").code == 0
    r = sfa(
        "quote",
        "add-line",
        ref,
        "--description",
        "Montage vor Ort",
        "--price",
        "85.50",
        "--qty",
        "7.5",
        "--discount",
        "25.00",
        "--json",
    )
    line = r.json()
    assert (line["position"], line["discount_amount"], line["tax_rate"]) == (3, "25", "19")
    assert sfa("quote", "add-line", ref, "--description", "Anfahrt", "--price", "120", "--tax", "0").code == 0

    # Remove line 2: the lines after it move up.
    r = sfa("quote", "remove-line", ref, "2")
    assert r.code == 0 and "Handbuch" in r.out
    shown = sfa("quote", "show", ref, "--json").json()
    assert [(ln["position"], ln["description"]) for ln in shown["lines"]] == [
        (1, "Förderband Modul 2 m"),
        (2, "Montage vor Ort"),
        (3, "Anfahrt"),
    ]
    assert [ln["net"] for ln in shown["lines"]] == ["3375.00", "616.25", "120.00"]
    assert shown["totals"] == {
        "currency": "EUR",
        "net": "4111.25",
        "taxes": [
            {"rate": "0", "base": "120.00", "tax": "0.00"},
            {"rate": "19", "base": "3991.25", "tax": "758.34"},
        ],
        "tax": "758.34",
        "total": "4869.59",
    }

    text = sfa("quote", "show", number).out
    assert f"{number} rev 1  (draft)" in text and "account: Huber Maschinenbau GmbH" in text
    assert "tax 19 % on 3,991.25 EUR: 758.34 EUR" in text and "total: 4,869.59 EUR" in text
    assert "Montage vor Ort\t7.5\t85.50 EUR\t25.00\t19\t616.25 EUR" in text

    assert sfa("quote", "edit", ref, "--valid-until", "+14d", "--contact", "").code == 0
    edited = sfa("quote", "show", ref, "--json").json()
    assert edited["valid_until"] == (local_today() + timedelta(days=14)).isoformat()
    assert edited["contact_id"] is None

    r = sfa("quote", "send", number)
    assert r.code == 0, r.err
    assert r.out.strip().endswith(f"sent: {number} rev 1 (sent)")
    assert sfa("opp", "show", opp["id"], "--json").json()["stage"] == "quotation sent"

    # A sent quote is locked.
    r = sfa("quote", "add-line", number, "--product", "FB-200")
    assert r.code == 1 and "is sent; only drafts can be changed" in r.err
    assert sfa("quote", "remove-line", number, "1").code == 1
    assert sfa("quote", "edit", number, "--terms", "x").code == 1
    r = sfa("quote", "send", number)
    assert r.code == 1 and "only drafts" in r.err

    r = sfa("quote", "accept", number, "--json")
    assert r.code == 0 and r.json()["status"] == "accepted" and r.json()["decided_at"]
    assert re.search(r"^  sent: \d{4}-\d\d-\d\d \d\d:\d\d$", sfa("quote", "show", number).out, re.M)
    won = sfa("opp", "show", opp["id"], "--json").json()
    assert won["stage"] == "won"
    assert [t["text"] for t in won["timeline"]][:2] == [
        "stage: quotation sent → won",
        "stage: qualification → quotation sent",
    ]
    r = sfa("quote", "revise", number)
    assert r.code == 1 and "accepted" in r.err
    r = sfa("quote", "reject", number)
    assert r.code == 1 and "only a sent quote" in r.err

    timeline = [
        t["text"] for t in sfa("account", "show", setup["account"]["id"], "--json").json()["timeline"]
    ]
    assert f"quote {number} drafted" in timeline
    assert f"quote {number} rev 1 sent (4,869.59 EUR)" in timeline
    assert f"quote {number} rev 1 accepted (4,869.59 EUR)" in timeline


def test_revise_reject_and_list(sfa: Any, setup: dict[str, Any]) -> None:
    first = _new(sfa, "--account", setup["account"]["id"])
    number = first["number"]
    r = sfa("quote", "send", number)
    assert r.code == 1 and "has no lines" in r.err  # an empty quote cannot be sent
    r = sfa("quote", "revise", number)
    assert r.code == 1 and "still a draft" in r.err
    assert sfa("quote", "add-line", number, "--product", "FB-200", "--qty", "2").code == 0
    assert sfa("quote", "send", number).code == 0

    r = sfa("quote", "reject", number, "--reason", "price too high", "--json")
    assert r.code == 0 and r.json()["status"] == "rejected" and r.json()["reject_reason"] == "price too high"

    r = sfa("quote", "revise", number, "--json")
    assert r.code == 0, r.err
    second = r.json()
    assert (second["number"], second["revision"], second["status"]) == (number, 2, "draft")
    assert second["previous_id"] == first["id"]
    # The number now means the latest revision; the old one is kept as it was.
    assert sfa("quote", "show", number, "--json").json()["id"] == second["id"]
    old = sfa("quote", "show", first["ref"], "--json").json()
    assert old["status"] == "rejected" and old["latest_revision"] is False
    assert (
        len(old["lines"]) == 1
        and sfa("quote", "show", number, "--json").json()["lines"][0]["sku"] == "FB-200"
    )
    assert "newer revision: yes" in sfa("quote", "show", first["ref"]).out
    # Lines were copied: changing the revision leaves revision 1 alone.
    assert sfa("quote", "add-line", number, "--product", "HB-1").code == 0
    assert len(sfa("quote", "show", first["ref"], "--json").json()["lines"]) == 1
    r = sfa("quote", "revise", first["ref"])
    assert r.code == 1 and "newer revision" in r.err

    draft = _new(sfa, "--account", setup["other"]["id"])
    listed = sfa("quote", "list").out.strip().splitlines()
    assert listed[0].split("\t") == ["ref", "number", "rev", "account", "status", "valid until", "total"]
    assert len(listed) == 3  # latest revision of each number
    assert sfa("quote", "list", "--status", "draft", "--json").json()[0]["id"] in (draft["id"], second["id"])
    assert len(sfa("quote", "list", "--all-revisions", "--json").json()) == 3
    assert [
        q["revision"]
        for q in sfa("quote", "list", "--status", "rejected", "--all-revisions", "--json").json()
    ] == [1]
    assert sfa("quote", "list", "--status", "accepted").err.strip() == "no quotes"
    r = sfa("quote", "list", "--status", "won")
    assert r.code == 1 and "draft, sent, accepted, rejected, expired" in r.err
    by_account = sfa("quote", "list", "--account", setup["other"]["id"], "--json").json()
    assert [q["number"] for q in by_account] == [draft["number"]]
    assert by_account[0]["totals"]["total"] == "0.00"


def test_expired_is_computed_on_read(sfa: Any, setup: dict[str, Any], ws: Any) -> None:
    quote = _new(sfa, "--opp", setup["opp"]["id"])
    assert sfa("quote", "add-line", quote["number"], "--product", "FB-200").code == 0
    assert sfa("quote", "send", quote["number"]).code == 0
    # Time passes: the quote's validity ends yesterday (nothing is written when it expires).
    ws.store.update(QUOTE, quote["id"], {"valid_until": local_today() - timedelta(days=1)})
    shown = sfa("quote", "show", quote["number"], "--json").json()
    assert (shown["status"], shown["stored_status"]) == ("expired", "sent")
    assert [q["id"] for q in sfa("quote", "list", "--status", "expired", "--json").json()] == [quote["id"]]
    assert sfa("quote", "list", "--status", "sent").err.strip() == "no quotes"
    r = sfa("quote", "accept", quote["number"])
    assert r.code == 1 and "expired on" in r.err and "revise" in r.err
    r = sfa("quote", "revise", quote["number"], "--json")
    assert r.code == 0 and r.json()["valid_until"] >= local_today().isoformat()
    # On an older revision nothing can be decided any more; only the latest counts.
    r = sfa("quote", "reject", quote["ref"])
    assert r.code == 1 and "newer revision" in r.err
    # An expired quote may be declined.
    other = _new(sfa, "--account", setup["account"]["id"])
    assert sfa("quote", "add-line", other["number"], "--product", "HB-1").code == 0
    assert sfa("quote", "send", other["number"]).code == 0
    ws.store.update(QUOTE, other["id"], {"valid_until": local_today() - timedelta(days=3)})
    r = sfa("quote", "reject", other["number"], "--reason", "too late", "--json")
    assert r.code == 0 and (r.json()["status"], r.json()["reject_reason"]) == ("rejected", "too late")


def test_new_and_add_line_errors(sfa: Any, setup: dict[str, Any]) -> None:
    r = sfa("quote", "new")
    assert r.code == 2 and "--opp" in r.err and "--account" in r.err
    r = sfa("quote", "new", "--opp", setup["opp"]["id"], "--account", setup["other"]["id"])
    assert r.code == 1 and "another account" in r.err
    r = sfa("quote", "new", "--account", setup["account"]["id"], "--contact", setup["stranger"]["id"])
    assert r.code == 1 and "contact" in r.err and "another account" in r.err
    r = sfa("quote", "new", "--account", setup["account"]["id"], "--valid-until", "yesterday")
    assert r.code == 1 and "valid_until" in r.err and "in the past" in r.err
    r = sfa("quote", "new", "--account", "ffffffff")
    assert r.code == 1 and "no account" in r.err

    number = _new(sfa, "--account", setup["account"]["id"])["number"]
    cases = [
        (["--description", "Free text"], 2, "--price"),
        (["--product", "NOPE"], 1, "no product"),
        (["--product", "OLD-1"], 1, "inactive"),
        (["--product", "US-1"], 1, "priced in USD"),
        (["--product", "FB-200", "--qty", "0"], 1, "qty"),
        (["--product", "FB-200", "--qty", "many"], 1, "qty"),
        (["--product", "FB-200", "--discount", "150%"], 1, "discount"),
        (["--product", "FB-200", "--discount", "2000"], 1, "more than the line"),
        (["--product", "FB-200", "--discount", "1.005"], 1, "decimals"),
        (["--product", "FB-200", "--tax", "x"], 1, "tax"),
        (["--description", " ", "--price", "5"], 1, "description"),
    ]
    for args, code, text in cases:
        r = sfa("quote", "add-line", number, *args)
        assert (r.code, text in r.err) == (code, True), (args, r.err)
    assert sfa("quote", "show", number, "--json").json()["lines"] == []  # nothing was written on error

    assert sfa("quote", "add-line", number, "--product", "FB-200").code == 0
    r = sfa("quote", "remove-line", number, "5")
    assert r.code == 1 and "no line 5" in r.err and "1..1" in r.err
    r = sfa("quote", "show", "Q-1999-ZZZZ-0001")
    assert r.code == 1 and "no quote numbered" in r.err
    r = sfa("quote", "edit", number)
    assert r.code == 1 and "nothing to change" in r.err
    r = sfa("quote", "accept", number)
    assert r.code == 1 and "draft" in r.err
    r = sfa("quote", "add-line", number, "--product", "FB-200", "-q")
    assert r.code == 0 and len(r.out.strip()) == 36


def test_send_does_not_move_an_opportunity_backwards(sfa: Any, setup: dict[str, Any]) -> None:
    opp = setup["opp"]
    assert sfa("opp", "stage", opp["id"], "final stage").code == 0
    quote = _new(sfa, "--opp", opp["id"])
    assert sfa("quote", "add-line", quote["number"], "--product", "FB-200").code == 0
    assert sfa("quote", "send", quote["number"]).code == 0
    assert sfa("opp", "show", opp["id"], "--json").json()["stage"] == "final stage"


def test_quote_delete_removes_a_draft_and_refuses_a_sent_quote(sfa: Any, setup: dict[str, Any]) -> None:
    quote = _new(sfa, "--opp", setup["opp"]["id"])
    number = quote["number"]
    assert sfa("quote", "add-line", number, "--product", "FB-200").code == 0
    assert sfa("quote", "send", number).code == 0
    refused = sfa("quote", "delete", number)
    assert refused.code != 0 and "only drafts" in refused.err and refused.err.count("\n") == 1
    assert sfa("quote", "show", number, "--json").json()["status"] == "sent"
    # a revision's draft is deleted; the sent revision is the latest again
    assert sfa("quote", "revise", number).code == 0
    assert sfa("quote", "show", number, "--json").json()["revision"] == 2
    r = sfa("quote", "delete", number)
    assert r.code == 0 and f"deleted: {number} rev 2" in r.out
    shown = sfa("quote", "show", number, "--json").json()
    assert (shown["revision"], shown["status"]) == (1, "sent")
    # a first draft is gone entirely, its lines with it
    draft = _new(sfa, "--opp", setup["opp"]["id"])
    assert sfa("quote", "add-line", draft["number"], "--product", "HB-1").code == 0
    assert sfa("quote", "delete", draft["ref"], "--json").json()["number"] == draft["number"]
    gone = sfa("quote", "show", draft["number"])
    assert gone.code != 0 and "no quote numbered" in gone.err
    listed = sfa("quote", "list", "--json").json()
    assert [q["number"] for q in listed] == [number]
