"""`sfa dedupe scan`, `sfa merge`, `sfa unmerge` on one laptop."""

from __future__ import annotations

from typing import Any


def _ok(sfa: Any, *args: str) -> str:
    result = sfa(*args)
    assert result.code == 0, (args, result.err)
    return str(result.out.strip())


def test_scan_merge_and_unmerge_a_contact(sfa: Any) -> None:
    account = _ok(sfa, "account", "add", "Acme GmbH", "-q")
    keep = _ok(sfa, "contact", "add", "Hans Müller", "--account", account, "--email", "hans@acme.de", "-q")
    other = _ok(
        sfa,
        "contact",
        "add",
        "Mueller, Hans",
        "--email",
        "HANS@acme.de",
        "--phone",
        "+49 89 1234",
        "--title",
        "Buyer",
        "--allow-duplicate",
        "-q",
    )
    third = _ok(sfa, "contact", "add", "Somebody Else", "--email", "else@acme.de", "-q")
    task = _ok(sfa, "task", "add", "Call Hans", "--contact", other, "-q")
    _ok(sfa, "note", "add", "met at the fair", "--contact", other)
    scan = sfa("dedupe", "scan", "--type", "contact", "--json").json()
    assert [[r["id"] for r in g["records"]] for g in scan] == [[keep, other]]
    assert scan[0]["reasons"] == ["email"]
    text = sfa("dedupe", "scan")
    assert "same email" in text.out and "Somebody" not in text.out

    merged = sfa("merge", "contact", keep, other, "--take", "title=OTHER", "--json")
    assert merged.code == 0, merged.err
    data = merged.json()
    assert data["taken"] == ["phone", "title"] and data["children"] == 1
    survivor = sfa("contact", "show", keep, "--json").json()
    assert survivor["title"] == "Buyer" and survivor["phone"] == "+49 89 1234"
    assert survivor["account_id"] == account  # its own, not the other's empty one
    assert sfa("task", "show", task, "--json").json()["contact_id"] == keep
    assert "met at the fair" in sfa("contact", "show", keep).out  # the merged-away record's notes
    assert sfa("contact", "show", other).code == 1  # gone
    assert sfa("dedupe", "scan", "--type", "contact", "--json").json() == []
    assert _ok(sfa, "contact", "list", "--json").count('"id"') == 2

    back = sfa("unmerge", other)
    assert back.code == 0, back.err
    assert "1 linked records moved back" in back.out
    restored = sfa("contact", "show", other, "--json").json()
    assert restored["merged_into"] is None and restored["title"] == "Buyer"
    survivor = sfa("contact", "show", keep, "--json").json()
    assert survivor["title"] is None and survivor["phone"] is None
    assert sfa("task", "show", task, "--json").json()["contact_id"] == other
    assert sfa("unmerge", other).code == 1  # nothing left to undo
    assert third


def test_merge_refusals_name_the_field(sfa: Any) -> None:
    a = _ok(sfa, "lead", "add", "Ann", "--email", "ann@x.de", "-q")
    b = _ok(sfa, "lead", "add", "Ann B", "--email", "ANN@x.de", "--allow-duplicate", "-q")
    same = sfa("merge", "lead", a, a)
    assert same.code == 2 and "same record" in same.err
    bad = sfa("merge", "lead", a, b, "--take", "colour=OTHER")
    assert bad.code == 1 and bad.err.startswith(
        "sfa: error: take: lead has no field 'colour'; allowed: name,"
    )
    worse = sfa("merge", "lead", a, b, "--take", "email=mine")
    assert worse.code == 1 and worse.err.startswith("sfa: error: take: ")
    typ = sfa("dedupe", "scan", "--type", "opportunity")
    assert typ.code == 1 and typ.err.startswith("sfa: error: type: ")
    assert sfa("lead", "list", "--json").json()[0]["merged_into"] is None  # nothing written


def test_accounts_merge_moves_contacts_and_opportunities(sfa: Any) -> None:
    keep = _ok(sfa, "account", "add", "Müller GmbH", "-q")
    other = _ok(sfa, "account", "add", "MULLER", "--city", "Köln", "--allow-duplicate", "-q")
    contact = _ok(sfa, "contact", "add", "Eva", "--account", other, "-q")
    opp = _ok(sfa, "opp", "add", "Deal", "--account", other, "--amount", "1000", "-q")
    groups = sfa("dedupe", "scan", "--type", "account", "--json").json()
    assert groups[0]["reasons"] == ["name"]
    assert _ok(sfa, "merge", "account", keep, other, "-q") == keep
    assert sfa("contact", "show", contact, "--json").json()["account_id"] == keep
    assert sfa("opp", "show", opp, "--json").json()["account_id"] == keep
    assert sfa("account", "show", keep, "--json").json()["city"] == "Köln"


def test_scan_compares_phone_with_mobile_and_skips_deleted(ws: Any) -> None:
    from sfa.domain.entities import ACCOUNT, CONTACT
    from sfa.services import dedupe

    store = ws.store
    a = store.insert(CONTACT, {"name": "A One", "phone": "+49 (0)89 1234567"})
    b = store.insert(CONTACT, {"name": "B Two", "mobile": "+49 89 1234567"})
    c = store.insert(CONTACT, {"name": "C Three", "email": "c@x.de"})
    d = store.insert(CONTACT, {"name": "D Four", "email": "C@X.DE"})
    store.delete(CONTACT, d["id"])
    acme = store.insert(ACCOUNT, {"name": "Acme GmbH"})
    other = store.insert(ACCOUNT, {"name": "Other"})
    e = store.insert(CONTACT, {"name": "Eva Maier", "account_id": acme["id"]})
    f = store.insert(CONTACT, {"name": "Maier, Eva", "account_id": acme["id"]})
    store.insert(CONTACT, {"name": "Eva Maier", "account_id": other["id"]})  # another company
    groups = {frozenset(i for i, _ in g.records): g.reasons for g in dedupe.scan(ws, ["contact"])}
    assert groups == {
        frozenset((a["id"], b["id"])): ["phone"],
        frozenset((e["id"], f["id"])): ["name and company"],
    }
    assert c


def _snapshot(ws: Any) -> dict[str, Any]:
    from sfa.domain.entities import CONTACT, OPPORTUNITY, TASK
    from sfa.store import codec

    return {
        (entity.name, r["id"]): {f.name: codec.to_wire(f, r[f.name]) for f in entity.fields}
        for entity in (CONTACT, TASK, OPPORTUNITY)
        for r in ws.store.select(entity, include_deleted=True)
    }


def test_unmerge_after_merge_gives_back_what_was_there(tmp_path: Any) -> None:
    """Property: merge then unmerge, nothing changed in between: every contact, task and
    opportunity holds exactly its values from before (whatever the fields, tags, --take)."""
    import itertools

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from sfa.domain.entities import ACCOUNT, CONTACT, OPPORTUNITY, TASK
    from sfa.services import dedupe
    from sfa.store.workspace import Workspace

    counter = itertools.count()
    text = st.one_of(st.none(), st.sampled_from(["Buyer", "CEO", "x"]))
    person = st.fixed_dictionaries(
        {
            "title": text,
            "email": st.one_of(st.none(), st.sampled_from(["a@x.de", "b@x.de"])),
            "phone": st.one_of(st.none(), st.sampled_from(["+49 30 1111", "+49 30 2222"])),
            "tags": st.lists(st.sampled_from(["fair", "vip", "key"]), unique=True),
            "notes": text,
        }
    )

    @settings(max_examples=40, deadline=None)
    @given(
        person,
        person,
        st.lists(st.sampled_from(["title", "email", "phone", "notes"]), unique=True),
        st.integers(0, 3),
        st.integers(0, 3),
        st.booleans(),
    )
    def run(
        keep_values: Any, other_values: Any, take: list[str], keep_tasks: int, other_tasks: int, account: bool
    ) -> None:
        ws = Workspace(tmp_path / f"h{next(counter)}")
        try:
            acme = ws.store.insert(ACCOUNT, {"name": "Acme"})
            keep = ws.store.insert(
                CONTACT, {"name": "Keep", **keep_values, "account_id": acme["id"] if account else None}
            )
            other = ws.store.insert(CONTACT, {"name": "Other", **other_values, "account_id": acme["id"]})
            for n in range(keep_tasks + other_tasks):
                owner = keep if n < keep_tasks else other
                ws.store.insert(
                    TASK,
                    {"title": f"t{n}", "contact_id": owner["id"], "status": "open", "priority": "normal"},
                )
            ws.store.insert(
                OPPORTUNITY,
                {"name": "Deal", "account_id": acme["id"], "contact_id": other["id"], "stage": "prospecting"},
            )
            before = _snapshot(ws)
            dedupe.merge(ws, "contact", keep["id"], other["id"], [f"{t}=OTHER" for t in take])
            merged = ws.store.select(TASK, "contact_id = ?", (keep["id"],))
            assert len(merged) == keep_tasks + other_tasks
            dedupe.unmerge(ws, other["id"])
            assert _snapshot(ws) == before
        finally:
            ws.close()

    run()


def test_merge_moves_documents_and_campaign_members_and_unmerge_moves_them_back(
    sfa: Any, tmp_path: Any
) -> None:
    account = _ok(sfa, "account", "add", "Maier AG", "-q")
    keep = _ok(sfa, "contact", "add", "Eva Maier", "--email", "eva@x.de", "--account", account, "-q")
    other = _ok(sfa, "contact", "add", "Maier, Eva", "--email", "EVA@x.de", "--allow-duplicate", "-q")
    met = ["--contact", other, "--contact", keep]
    visit = _ok(sfa, "visit", "plan", "--account", account, "--at", "2026-05-04", *met, "-q")
    card = tmp_path / "card.png"
    card.write_bytes(b"\x89PNG card")
    doc = sfa("doc", "add", str(card), "--contact", other, "--json").json()["id"]
    _ok(sfa, "event", "add", "Fair", "--kind", "trade-show", "--from", "2026-05-01")
    _ok(sfa, "event", "invite", "Fair", "--contact", other)
    data = sfa("merge", "contact", keep, other, "--json").json()
    assert data["children"] == 3  # the document, the member row, the visit
    assert sfa("visit", "show", visit, "--json").json()["contact_ids"] == [keep]  # once, in place
    assert [d["id"] for d in sfa("doc", "list", "--contact", keep, "--json").json()] == [doc]
    members = sfa("event", "show", "Fair", "--json").json()["members"]
    assert [m["contact_id"] for m in members] == [keep]
    assert _ok(sfa, "unmerge", other)
    assert [d["id"] for d in sfa("doc", "list", "--contact", other, "--json").json()] == [doc]
    assert [m["contact_id"] for m in sfa("event", "show", "Fair", "--json").json()["members"]] == [other]
    assert sfa("visit", "show", visit, "--json").json()["contact_ids"] == [other, keep]  # as it was
