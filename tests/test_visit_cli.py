"""`sfa visit ...` as real processes: plan, list, route, log, cancel, show and their errors."""

from __future__ import annotations

from typing import Any

import pytest

from sfa.domain.entities import TASK, TIMELINE, VISIT
from tests.conftest import Runner


def ref_of(result: Any) -> str:
    assert result.code == 0, result.err
    return str(result.json()["ref"])


@pytest.fixture
def accounts(sfa: Runner) -> dict[str, str]:
    """Three accounts around Berlin with coordinates, one without, and a contact at the first."""
    refs = {
        "mueller": ref_of(
            sfa(
                "account",
                "add",
                "Müller GmbH",
                "--street",
                "Hauptstr. 1",
                "--postcode",
                "10115",
                "--city",
                "Berlin",
                "--country",
                "DE",
                "--lat",
                "52.52",
                "--lon",
                "13.405",
                "--json",
            )
        ),
        "schmidt": ref_of(
            sfa(
                "account",
                "add",
                "Schmidt AG",
                "--city",
                "Potsdam",
                "--lat",
                "52.39",
                "--lon",
                "13.06",
                "--json",
            )
        ),
        "weber": ref_of(
            sfa(
                "account", "add", "Weber KG", "--city", "Bernau", "--lat", "52.68", "--lon", "13.59", "--json"
            )
        ),
        "nowhere": ref_of(sfa("account", "add", "Nowhere Ltd", "--json")),
    }
    refs["anna"] = ref_of(sfa("contact", "add", "Anna Müller", "--account", refs["mueller"], "--json"))
    refs["bob"] = ref_of(sfa("contact", "add", "Bob Weber", "--account", refs["weber"], "--json"))
    return refs


def plan(sfa: Runner, *args: str) -> Any:
    return sfa("visit", "plan", *args, "--json")


def test_plan_fixed_visit_defaults_location_from_account(sfa: Runner, accounts: dict[str, str]) -> None:
    result = plan(
        sfa,
        "--account",
        accounts["mueller"],
        "--contact",
        accounts["anna"],
        "--at",
        "tomorrow 10:00",
        "--purpose",
        "Product demo",
    )
    assert result.code == 0, result.err
    visit = result.json()
    assert visit["fixed_time"] is True
    assert visit["status"] == "planned"
    assert visit["duration_min"] == 45
    assert visit["location"] == "Hauptstr. 1, 10115 Berlin, DE"
    assert (visit["latitude"], visit["longitude"]) == (52.52, 13.405)
    assert len(visit["contact_ids"]) == 1
    assert visit["purpose"] == "Product demo"
    text = sfa(
        "visit", "plan", "--account", accounts["schmidt"], "--at", "tomorrow 14:30", "--duration", "1h"
    )
    assert text.code == 0
    assert "planned:" in text.out and "14:30" in text.out and "60 min" in text.out


def test_plan_date_only_is_flexible(sfa: Runner, accounts: dict[str, str]) -> None:
    visit = plan(sfa, "--account", accounts["schmidt"], "--at", "tomorrow").json()
    assert visit["fixed_time"] is False
    listed = sfa("visit", "list", "--date", "tomorrow")
    assert "any time" in listed.out


def test_overlap_refused_unless_allowed(sfa: Runner, ws: Any, accounts: dict[str, str]) -> None:
    assert plan(sfa, "--account", accounts["mueller"], "--at", "tomorrow 10:00").code == 0
    clash = plan(sfa, "--account", accounts["schmidt"], "--at", "tomorrow 10:30")
    assert clash.code == 1
    assert "overlaps visit" in clash.err and "--allow-overlap" in clash.err
    assert clash.out == ""
    assert ws.store.count(VISIT) == 1
    # Back to back is fine; a flexible visit never clashes; --allow-overlap overrides.
    assert plan(sfa, "--account", accounts["schmidt"], "--at", "tomorrow 10:45").code == 0
    assert plan(sfa, "--account", accounts["schmidt"], "--at", "tomorrow").code == 0
    assert plan(sfa, "--account", accounts["weber"], "--at", "tomorrow 10:15", "--allow-overlap").code == 0
    assert ws.store.count(VISIT) == 4


def test_cancelled_visit_frees_its_slot(sfa: Runner, accounts: dict[str, str]) -> None:
    first = ref_of(plan(sfa, "--account", accounts["mueller"], "--at", "tomorrow 10:00"))
    assert sfa("visit", "cancel", first, "--reason", "customer ill").code == 0
    assert plan(sfa, "--account", accounts["schmidt"], "--at", "tomorrow 10:00").code == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--account", "ffffff", "--at", "tomorrow 10:00"], "no account matches"),
        (["--account", "not-a-ref!", "--at", "tomorrow 10:00"], "is not a ref"),
        (["--account", "{mueller}", "--at", "someday 10:00"], "at:"),
        (["--account", "{mueller}", "--at", "tomorrow 25:00"], "at:"),
        (["--account", "{mueller}", "--at", "tomorrow 10:00", "--duration", "forever"], "duration:"),
        (
            ["--account", "{mueller}", "--at", "tomorrow 10:00", "--contact", "{bob}"],
            "belongs to another account",
        ),
    ],
)
def test_plan_errors_write_nothing(
    sfa: Runner, ws: Any, accounts: dict[str, str], args: list[str], needle: str
) -> None:
    result = sfa("visit", "plan", *[a.format(**accounts) for a in args])
    assert result.code == 1
    assert needle in result.err
    assert result.err.startswith("sfa: error: ")
    assert ws.store.count(VISIT) == 0


def test_plan_needs_account_and_at(sfa: Runner) -> None:
    result = sfa("visit", "plan", "--at", "tomorrow 10:00")
    assert result.code == 2
    assert "--account" in result.err


def test_list_in_time_order_with_distances(sfa: Runner, accounts: dict[str, str]) -> None:
    plan(sfa, "--account", accounts["schmidt"], "--at", "tomorrow 14:00")
    plan(sfa, "--account", accounts["mueller"], "--at", "tomorrow 09:00")
    plan(sfa, "--account", accounts["nowhere"], "--at", "tomorrow 16:00")
    plan(sfa, "--account", accounts["weber"], "--at", "+2d 09:00")
    rows = sfa("visit", "list", "--date", "tomorrow", "--json").json()
    assert [r["account"] for r in rows] == ["Müller GmbH", "Schmidt AG", "Nowhere Ltd"]
    assert rows[0]["km_from_previous"] is None
    assert rows[1]["km_from_previous"] == pytest.approx(27.5, abs=0.5)
    assert rows[2]["km_from_previous"] is None  # no coordinates
    tsv = sfa("visit", "list", "--date", "tomorrow").out.splitlines()
    assert tsv[0].split("\t") == ["ref", "date", "time", "min", "account", "purpose", "status", "km"]
    assert [line.split("\t")[4] for line in tsv[1:]] == ["Müller GmbH", "Schmidt AG", "Nowhere Ltd"]
    week = sfa("visit", "list", "--week", "--date", "+2d", "--json").json()
    assert len(week) >= 1 and "Weber KG" in [r["account"] for r in week]
    empty = sfa("visit", "list", "--date", "+30d")
    assert empty.code == 0 and empty.out == "" and "no visits" in empty.err
    assert sfa("visit", "list", "--date", "nope").code == 1


def test_route_needs_home(sfa: Runner, accounts: dict[str, str]) -> None:
    plan(sfa, "--account", accounts["schmidt"], "--at", "tomorrow")
    result = sfa("visit", "route", "--date", "tomorrow")
    assert result.code == 1
    assert "home.latitude" in result.err


def test_route_orders_flexible_visits_from_home(sfa: Runner, accounts: dict[str, str]) -> None:
    assert sfa("config", "set", "home.latitude", "52.40").code == 0
    assert sfa("config", "set", "home.longitude", "13.10").code == 0  # near Potsdam
    assert sfa("config", "set", "home.latitude", "91").code == 1
    for name in ("weber", "mueller", "schmidt", "nowhere"):
        plan(sfa, "--account", accounts[name], "--at", "tomorrow")
    plan(sfa, "--account", accounts["mueller"], "--at", "tomorrow 18:00")
    result = sfa("visit", "route", "--date", "tomorrow", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert [s["account"] for s in data["stops"]] == ["Schmidt AG", "Müller GmbH", "Weber KG"]
    assert data["exact"] is True
    assert data["stops"][0]["leg_km"] < 5
    assert data["total_km"] == pytest.approx(sum(s["leg_km"] for s in data["stops"]), abs=0.2)
    assert len(data["unrouted"]) == 1 and len(data["fixed"]) == 1
    text = sfa("visit", "route", "--date", "tomorrow", "--round-trip")
    assert text.code == 0
    # A round trip may run either way round; it starts and ends at home.
    assert "\thome → " in text.out and " → home\t" in text.out
    assert "no coordinates" in text.err and "fixed time" in text.err


def test_log_marks_done_writes_report_and_follow_ups(sfa: Runner, ws: Any, accounts: dict[str, str]) -> None:
    ref = ref_of(
        plan(
            sfa,
            "--account",
            accounts["mueller"],
            "--contact",
            accounts["anna"],
            "--at",
            "today 09:00",
            "--purpose",
            "Quarterly review",
        )
    )
    result = sfa(
        "visit",
        "log",
        ref,
        "--outcome",
        "Wants 50 units",
        "--notes",
        "Budget approved by Zebulon",
        "--follow-up",
        "Send quote",
        "--due",
        "fri",
        "--follow-up",
        "Call back",
        "--due",
        "+3d 10:00",
        "--json",
    )
    assert result.code == 0, result.err
    data = result.json()
    assert data["status"] == "done" and data["outcome"] == "Wants 50 units"
    assert data["report"] == "Budget approved by Zebulon"
    assert [t["title"] for t in data["tasks"]] == ["Send quote", "Call back"]
    for task in data["tasks"]:
        assert task["visit_id"] == data["id"]
        assert task["account_id"] == data["account_id"]
        assert task["contact_id"] == data["contact_ids"][0]
        assert task["status"] == "open"
    assert data["tasks"][0]["due_at"] is None and data["tasks"][1]["due_at"] is not None
    timeline = ws.store.select(TIMELINE, "kind = 'visit_report'")
    assert len(timeline) == 1 and timeline[0]["account_id"] == data["account_id"]
    assert "Budget approved by Zebulon" in timeline[0]["text"]
    found = sfa("search", "zebulon")
    assert found.code == 0 and "Budget approved" in found.out
    account = sfa("account", "show", accounts["mueller"])
    assert "Wants 50 units" in account.out
    again = sfa("visit", "log", ref, "--outcome", "again")
    assert again.code == 1 and "is done" in again.err
    assert ws.store.count(TASK) == 2
    shown = sfa("visit", "show", ref)
    assert "Quarterly review" in shown.out and "Send quote" in shown.out and "Anna Müller" in shown.out
    detail = sfa("visit", "show", ref, "--json").json()
    assert detail["account"] == "Müller GmbH" and len(detail["tasks"]) == 2
    assert detail["timeline"][0]["kind"] == "visit_report"


def test_log_is_all_or_nothing(sfa: Runner, ws: Any, accounts: dict[str, str]) -> None:
    ref = ref_of(plan(sfa, "--account", accounts["mueller"], "--at", "today 09:00"))
    bad_due = sfa(
        "visit",
        "log",
        ref,
        "--outcome",
        "ok",
        "--follow-up",
        "A",
        "--due",
        "fri",
        "--follow-up",
        "B",
        "--due",
        "never",
    )
    assert bad_due.code == 1 and "due" in bad_due.err
    mismatch = sfa(
        "visit", "log", ref, "--outcome", "ok", "--follow-up", "A", "--follow-up", "B", "--due", "fri"
    )
    assert mismatch.code == 2 and "give one due date per follow-up" in mismatch.err
    assert "(--follow-up, --due)" in mismatch.err
    orphan = sfa("visit", "log", ref, "--outcome", "ok", "--due", "fri")
    assert orphan.code == 2
    missing = sfa("visit", "log", ref)
    assert missing.code == 2 and "--outcome" in missing.err
    assert ws.store.count(TASK) == 0
    assert ws.store.count(TIMELINE, "kind = 'visit_report'") == 0
    assert sfa("visit", "show", ref, "--json").json()["status"] == "planned"
    # Follow-ups without any --due are fine; --no-show records the other outcome.
    ok = sfa("visit", "log", ref, "--outcome", "Nobody there", "--no-show", "--follow-up", "Reschedule")
    assert ok.code == 0, ok.err
    assert "no-show" in ok.out and "Reschedule" in ok.out


def test_cancel(sfa: Runner, accounts: dict[str, str]) -> None:
    ref = ref_of(plan(sfa, "--account", accounts["weber"], "--at", "tomorrow 11:00"))
    result = sfa("visit", "cancel", ref, "--reason", "Customer ill", "--json")
    assert result.code == 0
    assert result.json()["status"] == "cancelled" and result.json()["cancel_reason"] == "Customer ill"
    assert sfa("visit", "cancel", ref).code == 1
    logged = sfa("visit", "log", ref, "--outcome", "x")
    assert logged.code == 1 and "cancelled" in logged.err
    assert sfa("visit", "list", "--date", "tomorrow", "--json").json() == []
    assert len(sfa("visit", "list", "--date", "tomorrow", "--all", "--json").json()) == 1
    assert sfa("visit", "cancel", "abcdef").code == 1
    assert sfa("visit", "show", "abcdef").code == 1


def test_overlap_only_with_my_own_visits(sfa: Runner, accounts: dict[str, str]) -> None:
    assert sfa("config", "set", "owner", "colleague").code == 0
    assert plan(sfa, "--account", accounts["mueller"], "--at", "tomorrow 10:00").code == 0
    assert sfa("config", "set", "owner", "rep").code == 0
    assert plan(sfa, "--account", accounts["schmidt"], "--at", "tomorrow 10:00").code == 0
    assert plan(sfa, "--account", accounts["weber"], "--at", "tomorrow 10:15").code == 1
