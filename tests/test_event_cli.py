"""Events and campaigns: add, invite, booth capture (duplicate check, member row, follow-up), badge
files, the event report, `report campaigns`, `today` and the calendar export."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any


def _ok(sfa: Any, *args: str) -> Any:
    result = sfa(*args)
    assert result.code == 0, (args, result.err)
    return result


def test_capture_links_creates_and_follows_up(sfa: Any, tmp_path: Path) -> None:
    _ok(
        sfa,
        "event",
        "add",
        "Hannover Messe",
        "--kind",
        "trade show",
        "--from",
        "2026-12-01",
        "--to",
        "2026-12-03",
        "--venue",
        "Hannover",
        "--booth",
        "H12",
        "--budget",
        "12000",
    )
    eva = _ok(sfa, "contact", "add", "Eva Maier", "--email", "eva@x.de", "-q").out.strip()
    old_lead = _ok(sfa, "lead", "add", "Tom Berg", "--email", "tom@berg.de", "-q").out.strip()
    invited = _ok(sfa, "event", "invite", "hannover messe", "--contact", eva, "--json").json()
    assert invited == {"invited": 1, "already": 0}

    met = _ok(sfa, "event", "capture", "Hannover Messe", "Eva M.", "--email", "EVA@x.de", "--json").json()[0]
    assert met["linked"] == "contact" and met["person"] == eva
    assert met["member"]["status"] == "met" and met["member"]["contact_id"] == eva
    tom = _ok(
        sfa, "event", "capture", "Hannover Messe", "Thomas Berg", "--email", "tom@berg.de", "--json"
    ).json()[0]
    assert tom["linked"] == "lead" and tom["person"] == old_lead
    new = _ok(
        sfa,
        "event",
        "capture",
        "Hannover Messe",
        "Ann Lee",
        "--company",
        "Lee Ltd",
        "--email",
        "ann@lee.com",
        "--rating",
        "hot",
        "--notes",
        "wants a demo",
        "--json",
    ).json()[0]
    assert new["linked"] == "new lead"
    lead = _ok(sfa, "lead", "show", new["person"], "--json").json()
    assert lead["source"] == "event: Hannover Messe" and lead["rating"] == "hot"
    assert lead["campaign_id"] is not None
    again = _ok(
        sfa, "event", "capture", "Hannover Messe", "Ann Lee", "--email", "ann@lee.com", "--json"
    ).json()[0]
    assert again["member"]["id"] == new["member"]["id"] and again["task"] == new["task"]  # one row, one task

    task = _ok(sfa, "task", "show", new["task"], "--json").json()
    assert (
        task["due_date"] == "2026-12-04" and task["priority"] == "high" and task["lead_id"] == new["person"]
    )

    badges = tmp_path / "badges.csv"
    badges.write_text(
        "First Name;Last Name;E-Mail;Company\nBob;Ray;bob@ray.com;Ray Inc\nCleo;Park;cleo@park.io;\n"
    )
    from_file = _ok(sfa, "event", "capture", "Hannover Messe", "--from", str(badges), "--json").json()
    assert [c["linked"] for c in from_file] == ["new lead", "new lead"]
    assert _ok(sfa, "lead", "show", from_file[0]["person"], "--json").json()["name"] == "Bob Ray"

    shown = _ok(sfa, "event", "show", "Hannover Messe", "--json").json()
    assert sorted(m["status"] for m in shown["members"]) == ["met"] * 5
    assert len(shown["members"]) == 5  # Eva's invitation became her "met" row

    # A converted lead with a won deal: the report counts it.
    account = _ok(sfa, "account", "add", "Lee Ltd", "-q").out.strip()
    converted = _ok(
        sfa,
        "lead",
        "convert",
        new["person"],
        "--account",
        account,
        "--opportunity",
        "Lee deal",
        "--amount",
        "30000",
        "--json",
    ).json()
    assert converted["opportunity"]["campaign_id"] == lead["campaign_id"]
    _ok(sfa, "opp", "won", converted["opportunity"]["id"])
    _ok(
        sfa,
        "event",
        "edit",
        "Hannover Messe",
        "--cost",
        "15000",
        "--status",
        "done",
        "--report",
        "busy booth",
    )
    report = _ok(sfa, "event", "report", "Hannover Messe", "--json").json()
    assert (report["met"], report["invited"], report["leads"], report["converted"]) == (5, 0, 4, 1)
    assert report["opportunities"] == 1 and Decimal(report["won"]) == 30000
    assert Decimal(report["cost_per_lead"]) == Decimal("3750.00") and Decimal(report["roi"]) == 1
    campaigns = _ok(sfa, "report", "campaigns", "--json").json()
    assert [c["event"] for c in campaigns] == ["Hannover Messe"] and campaigns[0]["leads"] == 4


def test_today_and_the_calendar_show_events(sfa: Any) -> None:
    _ok(sfa, "event", "add", "Customer day", "--kind", "customer-day", "--from", "today", "--venue", "HQ")
    _ok(sfa, "event", "add", "Old fair", "--kind", "trade-show", "--from", "2020-01-01")
    today = _ok(sfa, "today", "--json").json()
    assert [e["name"] for e in today["events"]] == ["Customer day"]
    assert "Customer day [customer-day] — HQ" in _ok(sfa, "today").out
    calendar = _ok(sfa, "export", "ics", "--from", "today", "-o", "-").out
    assert "SUMMARY:Customer day" in calendar and "Old fair" not in calendar
    upcoming = _ok(sfa, "event", "list", "--upcoming", "--json").json()
    assert [e["name"] for e in upcoming] == ["Customer day"]


def test_bad_event_input_names_the_field(sfa: Any) -> None:
    kind = sfa("event", "add", "X", "--kind", "party", "--from", "today")
    assert kind.code == 1 and kind.err.startswith("sfa: error: kind: 'party': use one of trade-show")
    order = sfa("event", "add", "X", "--kind", "webinar", "--from", "2026-12-05", "--to", "2026-12-01")
    assert order.code == 1 and order.err.startswith("sfa: error: to: ")
    assert sfa("event", "list", "--json").json() == []
    _ok(sfa, "event", "add", "Web", "--kind", "webinar", "--from", "today")
    rating = sfa("event", "capture", "Web", "Ann", "--rating", "lukewarm")
    assert rating.code == 1 and rating.err.startswith("sfa: error: rating: ")
    both = sfa("event", "capture", "Web", "Ann", "--from", "x.csv")
    assert both.code == 2
    missing = sfa("event", "capture", "Nope", "Ann")
    assert missing.code == 1 and "no event named" in missing.err


def test_invite_from_a_file_of_refs_and_emails(sfa: Any, tmp_path: Path) -> None:
    _ok(sfa, "event", "add", "Webinar", "--kind", "webinar", "--from", "2026-06-01")
    eva = _ok(sfa, "contact", "add", "Eva Maier", "--email", "eva@x.de", "-q").out.strip()
    _ok(sfa, "contact", "add", "Tom Berg", "--email", "tom@berg.de", "-q")
    listing = tmp_path / "invite.csv"
    listing.write_text(f"email\n{eva}\nTOM@berg.de\n\n")
    assert _ok(sfa, "event", "invite", "Webinar", "--from", str(listing), "--json").json() == {
        "invited": 2,
        "already": 0,
    }
    again = _ok(sfa, "event", "invite", "Webinar", "--from", str(listing), "--json").json()
    assert again == {"invited": 0, "already": 2}
    members = _ok(sfa, "event", "show", "Webinar", "--json").json()["members"]
    assert sorted(m["status"] for m in members) == ["invited", "invited"]
    listing.write_text("email\nnobody@x.de\n")
    bad = sfa("event", "invite", "Webinar", "--from", str(listing))
    assert bad.code == 1 and bad.err == "sfa: error: from: line 2: no contact with email 'nobody@x.de'\n"
    missing = sfa("event", "invite", "Webinar", "--from", str(tmp_path / "none.csv"))
    assert (
        missing.code == 1 and missing.err.startswith("sfa: error: from: ") and "no such file" in missing.err
    )
    assert len(_ok(sfa, "event", "show", "Webinar", "--json").json()["members"]) == 2  # nothing written
