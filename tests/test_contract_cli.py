"""`sfa contract ...` in-process: the lifecycle, states computed on read, renewal, errors, export,
and the pure rules (dates, states, derived ids, who may change what)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfa.domain import contracts as rules
from sfa.domain import ids
from sfa.domain.dates import local_today
from sfa.protocol import is_uuid
from sfa.services import crm, products


@pytest.fixture
def account(ws: Any) -> dict[str, Any]:
    products.add_product(ws, {"name": "Wartung", "sku": "SV-1", "unit_price": "100"})
    return dict(crm.add_account(ws, {"name": "Huber Maschinenbau GmbH", "city": "München"}))


def _new(sfa: Any, *args: str) -> dict[str, Any]:
    r = sfa("contract", "new", *args, "--json")
    assert r.code == 0, r.err
    data: dict[str, Any] = r.json()
    return data


def test_a_contract_from_draft_to_terminated(sfa: Any, account: dict[str, Any], tmp_path: Path) -> None:
    start = local_today() - timedelta(days=30)
    c = _new(sfa, "--account", account["id"], "--start", start.isoformat(), "--term", "2y", "--notice", "60d")
    number = c["number"]
    assert number.startswith(f"C-{local_today().year}-") and c["status"] == c["state"] == "draft"
    assert c["end_date"] == (rules.add_months(start, 24) - timedelta(days=1)).isoformat()
    assert (c["term_months"], c["notice_days"]) == (24, 60)
    assert sfa("contract", "add-line", number, "--product", "SV-1", "--qty", "12").code == 0
    assert sfa("contract", "show", number, "--json").json()["value"] == "1200.00"  # follows the lines
    assert sfa("contract", "edit", number, "--title", "Wartungsvertrag", "--billing", "monthly").code == 0

    r = sfa("contract", "submit", number, "--comment", "standard terms")
    assert r.code == 0 and "(in approval)" in r.out
    r = sfa("contract", "edit", number, "--title", "x")
    assert r.code == 1 and "only drafts can be changed" in r.err
    r = sfa("contract", "reject", number, "--reason", "price too low")
    assert r.code == 0 and "(draft)" in r.out
    assert sfa("contract", "show", number, "--json").json()["reject_reason"] == "price too low"
    assert sfa("contract", "submit", number).code == 0
    assert sfa("contract", "sign", number, "--customer", "Anna Huber", "--on", "today").code == 0
    r = sfa("contract", "release", number)
    assert r.code == 0 and "(active)" in r.out
    shown = sfa("contract", "show", number, "--json").json()
    assert [a["action"] for a in shown["approvals"]] == ["submit", "reject", "submit", "release"]
    assert shown["customer_signed_by"] == "Anna Huber" and shown["state"] == "active"

    for args in (
        ("edit", number, "--title", "y"),
        ("add-line", number, "--product", "SV-1"),
        ("submit", number),
    ):
        assert sfa("contract", *args).code == 1, args
    assert sfa("contract", "list", "--status", "active", "--json").json()[0]["number"] == number
    assert sfa("contract", "list", "--status", "in-approval", "--json").json() == []
    assert sfa("contract", "list", "--status", "bogus").err.startswith("sfa: error: status: ")

    target = tmp_path / "contract.md"
    assert sfa("contract", "export", number, "--output", str(target)).code == 0
    text = target.read_text()
    assert text.startswith(f"# Contract {number}") and "| Term | 24 months |" in text

    r = sfa("contract", "terminate", number, "--on", "+30d", "--reason", "moved away")
    assert r.code == 0 and "(terminated)" in r.out
    assert sfa("contract", "terminate", number, "--on", "today", "--reason", "x").code == 1


def test_revise_keeps_the_negotiation_history(sfa: Any, account: dict[str, Any]) -> None:
    c = _new(sfa, "--account", account["id"], "--start", "today")
    assert sfa("contract", "add-line", c["number"], "--product", "SV-1").code == 0
    assert sfa("contract", "submit", c["number"]).code == 0
    r = sfa("contract", "revise", c["number"], "--json")
    assert r.code == 0, r.err
    new = r.json()
    assert new["revision"] == 2 and new["previous_id"] == c["id"] and new["status"] == "draft"
    assert sfa("contract", "show", c["ref"], "--json").json()["status"] == "cancelled"
    assert len(sfa("contract", "show", c["number"], "--json").json()["lines"]) == 1  # latest revision
    assert sfa("contract", "release", c["ref"]).code == 1  # an old revision is not released


def test_renewal_due_listing_renew_and_today(sfa: Any, account: dict[str, Any]) -> None:
    end_soon = local_today() + timedelta(days=40)
    start = rules.add_months(end_soon + timedelta(days=1), -12)
    soon = _new(sfa, "--account", account["id"], "--start", start.isoformat(), "--term", "12m")
    later = _new(sfa, "--account", account["id"], "--start", "today", "--term", "36m")
    for c in (soon, later):
        assert sfa("contract", "submit", c["number"]).code == 0
        assert sfa("contract", "release", c["number"]).code == 0
    due = sfa("contract", "list", "--renewal-due", "0d", "--json").json()
    assert [c["number"] for c in due] == [soon["number"]] and due[0]["state"] == "renewal due"
    assert sfa("contract", "list", "--renewal-due", "90d", "--json").json() == due
    assert soon["number"] in sfa("today").out
    assert [c["number"] for c in sfa("today", "--json").json()["contracts_renewal_due"]] == [soon["number"]]

    r = sfa("contract", "renew", soon["number"], "--json")
    assert r.code == 0, r.err
    renewal = r.json()
    assert renewal["contract"]["id"] == rules.derived_id(soon["id"], "renewal")
    assert renewal["contract"]["start_date"] == (end_soon + timedelta(days=1)).isoformat()
    assert renewal["opportunity"]["close_date"] == (end_soon - timedelta(days=90)).isoformat()
    assert renewal["task"]["due_date"] == (end_soon - timedelta(days=90)).isoformat()
    assert sfa("contract", "list", "--renewal-due", "90d", "--json").json() == []
    assert sfa("contract", "show", soon["number"], "--json").json()["state"] == "renewed"
    r = sfa("contract", "renew", soon["number"])
    assert r.code == 1 and "already renewed" in r.err


def test_bad_input_is_one_line_and_writes_nothing(sfa: Any, account: dict[str, Any]) -> None:
    for args, field in (
        (("--account", account["id"], "--start", "today", "--term", "0m"), "term"),
        (("--account", account["id"], "--start", "today", "--notice", "lots"), "notice"),
        (("--account", account["id"], "--start", "someday"), "start"),
        (("--account", account["id"], "--start", "today", "--billing", "weekly"), "billing"),
    ):
        r = sfa("contract", "new", *args)
        assert r.code == 1 and r.err.startswith(f"sfa: error: {field}: ") and r.err.count("\n") == 1, r.err
    assert sfa("contract", "new", "--account", account["id"]).code == 2
    assert sfa("contract", "list", "--json").json() == []


# -- the pure rules -------------------------------------------------------------------------------


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(1, 240))
def test_a_term_ends_the_day_before_the_same_date_after_it(start: date, months: int) -> None:
    end = rules.end_of(start, months)
    assert start <= end < rules.add_months(start, months + 1)
    if start.day <= 28:
        assert end + timedelta(days=1) == rules.add_months(start, months)


@given(st.integers(0, 2**48 - 1).map(lambda ms: ids.uuid7(ms)), st.text(min_size=1, max_size=20))
def test_derived_ids_are_stable_uuids(base: str, purpose: str) -> None:
    made = rules.derived_id(base, purpose)
    assert is_uuid(made) and made == rules.derived_id(base, purpose) and made != base
    assert made[:13] == base[:13]


def test_states_on_read() -> None:
    s, e = date(2026, 1, 1), date(2026, 12, 31)
    assert rules.state_of("activated", s, e, 90, date(2025, 12, 31)) == "pending"
    assert rules.state_of("activated", s, e, 90, date(2026, 10, 1)) == "active"
    assert rules.state_of("activated", s, e, 90, date(2026, 10, 2)) == "renewal due"
    assert rules.state_of("activated", s, e, 90, date(2027, 1, 1)) == "expired"
    assert rules.state_of("activated", s, e, 90, date(2027, 1, 1), renewed=True) == "renewed"
    assert rules.state_of("in approval", s, e, 90, date(2027, 1, 1)) == "in approval"


def test_who_may_change_a_contract() -> None:
    problem = rules.change_problem
    assert problem({"status": "draft"}, {"title": "x"}, approver=False) is None
    assert "releases" in (problem({"status": "in approval"}, {"status": "activated"}, approver=False) or "")
    assert (
        problem({"status": "in approval"}, {"status": "activated", "activated_by": "m"}, approver=True)
        is None
    )
    assert "rejects" in (
        problem({"status": "in approval"}, {"status": "draft", "reject_reason": "r"}, approver=False) or ""
    )
    assert problem({"status": "in approval"}, {"status": "cancelled"}, approver=False) is None  # revised
    assert "immutable" in (problem({"status": "activated"}, {"value": "1"}, approver=True) or "")
    assert problem({"status": "activated"}, {"renewed_by": "x"}, approver=False) is None
    assert (
        problem({"status": "activated"}, {"status": "terminated", "terminated_on": "d"}, approver=False)
        is None
    )
    assert "draft contract's lines" in (
        problem({"status": "activated"}, {"quantity": "2"}, approver=True, line=True) or ""
    )
    assert rules.approval_problem("release", False) and rules.approval_problem("submit", False) is None
