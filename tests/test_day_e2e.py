"""A rep's whole day as processes: plan → log with follow-ups → tasks appear → quote → PDF → accept →
tasks done → reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypdf import PdfReader

from tests.conftest import Runner


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result.json()


def test_a_day_in_the_field(sfa: Runner, tmp_path: Path) -> None:
    for key, value in (("home.latitude", "52.40"), ("home.longitude", "13.10")):
        assert sfa("config", "set", key, value).code == 0
    mueller = ok(
        sfa(
            "account", "add", "Müller GmbH", "--city", "Berlin", "--lat", "52.52", "--lon", "13.405", "--json"
        )
    )
    weber = ok(
        sfa("account", "add", "Weber KG", "--city", "Bernau", "--lat", "52.68", "--lon", "13.59", "--json")
    )
    anna = ok(sfa("contact", "add", "Anna Müller", "--account", mueller["ref"], "--json"))
    opp = ok(
        sfa(
            "opp",
            "add",
            "50 units",
            "--account",
            mueller["ref"],
            "--amount",
            "12000",
            "--close-date",
            "+30d",
            "--json",
        )
    )

    # Morning: the agenda, a fixed appointment and a flexible visit, then the route.
    demo = ok(
        sfa(
            "visit",
            "plan",
            "--account",
            mueller["ref"],
            "--contact",
            anna["ref"],
            "--at",
            "today 00:30",
            "--purpose",
            "Demo",
            "--json",
        )
    )
    drop_in = ok(sfa("visit", "plan", "--account", weber["ref"], "--at", "today", "--json"))
    assert [v["ref"] for v in ok(sfa("visit", "list", "--json"))] == [drop_in["ref"], demo["ref"]]
    route = ok(sfa("visit", "route", "--json"))
    assert [s["ref"] for s in route["stops"]] == [drop_in["ref"]]
    assert [v["ref"] for v in ok(sfa("today", "--json"))["visits"]] == [drop_in["ref"], demo["ref"]]

    # After the demo: the report and two promises.
    logged = ok(
        sfa(
            "visit",
            "log",
            demo["ref"],
            "--outcome",
            "Will order if the price is right",
            "--notes",
            "Needs delivery before Christmas",
            "--follow-up",
            "Send quote",
            "--due",
            "today",
            "--follow-up",
            "Check stock",
            "--due",
            "+2d",
            "--json",
        )
    )
    quote_task, stock_task = logged["tasks"]
    assert quote_task["contact_id"] == anna["id"] and quote_task["visit_id"] == demo["id"]
    assert ok(sfa("task", "add", "Update the deal", "--opp", opp["ref"], "--due", "today", "--json"))[
        "account_id"
    ]
    assert sfa("visit", "cancel", drop_in["ref"], "--reason", "ran out of time").code == 0

    # The follow-ups show up where the rep looks.
    today = ok(sfa("today", "--json"))
    assert {t["title"] for t in today["tasks"]} == {"Send quote", "Update the deal"}
    assert [v["status"] for v in today["visits"]] == ["done"]
    open_titles = [t["title"] for t in ok(sfa("task", "list", "--json"))]
    assert set(open_titles) == {"Send quote", "Update the deal", "Check stock"}
    assert "Needs delivery before Christmas" in sfa("account", "show", mueller["ref"]).out
    assert "Demo" in sfa("search", "christmas").out

    # The promised quote: drafted from the deal, sent, exported as PDF, accepted.
    quote = ok(sfa("quote", "new", "--opp", opp["ref"], "--valid-until", "+3d", "--json"))
    assert (
        sfa(
            "quote", "add-line", quote["number"], "--description", "Module", "--price", "240", "--qty", "50"
        ).code
        == 0
    )
    assert sfa("quote", "send", quote["number"]).code == 0
    pdf = tmp_path / "quote.pdf"
    assert sfa("quote", "export", quote["number"], "--output", str(pdf)).code == 0
    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert quote["number"] in text and "Müller GmbH" in text
    expiring = [q["number"] for q in ok(sfa("today", "--json"))["quotes_expiring"]]
    assert expiring == [quote["number"]]  # valid for three more days: on today's screen
    assert sfa("quote", "accept", quote["number"]).code == 0
    assert ok(sfa("today", "--json"))["quotes_expiring"] == []

    # Evening: work done, and the activity report counts it.
    assert sfa("task", "done", quote_task["ref"]).code == 0
    assert sfa("task", "snooze", stock_task["ref"], "--until", "+7d").code == 0
    activity = ok(sfa("report", "activity", "--since", "today", "--json"))
    assert activity["visits_done"] == 1
    assert activity["visits_cancelled"] == 1
    assert activity["tasks_completed"] == 1
    assert activity["tasks_created"] == 3
    assert activity["tasks_overdue"] == 0
    assert (activity["quotes_sent"], activity["quotes_accepted"]) == (1, 1)
    forecast = ok(sfa("report", "forecast", "--json"))
    assert [(r["won"], r["won_count"], r["pipeline"]) for r in forecast] == [("12000.00", 1, "0.00")]
    assert ok(sfa("report", "pipeline", "--json")) == []
    win_loss = ok(sfa("report", "win-loss", "--json"))
    assert (win_loss["won_count"], win_loss["lost_count"], win_loss["win_rate"]) == (1, 0, "100.0")
    table = sfa("report", "activity")
    assert table.code == 0 and "visits_done\t1" in table.out
