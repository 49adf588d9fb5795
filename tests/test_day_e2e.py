"""A rep's whole day as processes: plan → log with follow-ups → tasks appear → done → activity report."""

from __future__ import annotations

from typing import Any

from conftest import Runner


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result.json()


def test_a_day_in_the_field(sfa: Runner) -> None:
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

    # Evening: work done, and the activity report counts it.
    assert sfa("task", "done", quote_task["ref"]).code == 0
    assert sfa("task", "snooze", stock_task["ref"], "--until", "+7d").code == 0
    activity = ok(sfa("report", "activity", "--since", "today", "--json"))
    assert activity["visits_done"] == 1
    assert activity["visits_cancelled"] == 1
    assert activity["tasks_completed"] == 1
    assert activity["tasks_created"] == 3
    assert activity["tasks_overdue"] == 0
    forecast = ok(sfa("report", "forecast", "--json"))
    assert forecast[0]["pipeline"] == "12000.00" and forecast[0]["weighted"] == "1200.00"
    text = sfa("report", "activity")
    assert text.code == 0 and "visits_done\t1" in text.out
