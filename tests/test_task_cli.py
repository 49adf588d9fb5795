"""`sfa task ...` as real processes."""

from __future__ import annotations

from typing import Any

import pytest

from sfa.domain.entities import TASK
from tests.conftest import Runner


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result.json()


@pytest.fixture
def account(sfa: Runner) -> str:
    return str(ok(sfa("account", "add", "Müller GmbH", "--json"))["ref"])


def test_add_with_due_priority_and_link(sfa: Runner, account: str) -> None:
    task = ok(
        sfa(
            "task",
            "add",
            "Send brochure",
            "--due",
            "fri",
            "--priority",
            "high",
            "--account",
            account,
            "--json",
        )
    )
    assert task["status"] == "open" and task["priority"] == "high"
    assert task["due_date"] and task["due_at"] is None
    assert task["account_id"]
    timed = ok(sfa("task", "add", "Call", "--due", "tomorrow 10:00", "--json"))
    assert timed["due_at"].endswith("Z") and timed["priority"] == "normal"
    plain = sfa("task", "add", "Think")
    assert plain.code == 0 and plain.out.startswith("task ") and "added: Think" in plain.out
    assert len(sfa("task", "add", "Quiet", "-q").out.strip()) == 36


def test_link_to_opportunity_fills_account(sfa: Runner, account: str) -> None:
    opp = ok(sfa("opp", "add", "Deal", "--account", account, "--amount", "1000", "--json"))
    task = ok(sfa("task", "add", "Chase", "--opp", opp["ref"], "--json"))
    assert task["opportunity_id"] == opp["id"] and task["account_id"] == opp["account_id"]


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["X", "--due", "someday"], 1, "due:"),
        (["X", "--due", "fri 25:00"], 1, "due:"),
        (["X", "--priority", "urgent"], 1, "priority"),
        (["X", "--account", "ffffff"], 1, "no account matches"),
        (["X", "--visit", "zz"], 1, "is not a ref"),
        (["", "--due", "fri"], 1, "title"),
        ([], 2, "title"),
    ],
)
def test_add_errors_write_nothing(sfa: Runner, ws: Any, args: list[str], code: int, needle: str) -> None:
    result = sfa("task", "add", *args)
    assert result.code == code
    assert needle in result.err
    assert ws.store.count(TASK) == 0


def test_list_filters(sfa: Runner) -> None:
    ok(sfa("task", "add", "Late", "--due", "-2d", "--json"))
    ok(sfa("task", "add", "Late this morning", "--due", "today 00:01", "--json"))
    ok(sfa("task", "add", "Today", "--due", "today", "--priority", "low", "--json"))
    ok(sfa("task", "add", "Today urgent", "--due", "today", "--priority", "high", "--json"))
    ok(sfa("task", "add", "Soon", "--due", "+3d", "--json"))
    ok(sfa("task", "add", "Later", "--due", "+20d", "--json"))
    ok(sfa("task", "add", "Someday", "--json"))
    done = ok(sfa("task", "add", "Finished", "--due", "-5d", "--json"))
    assert sfa("task", "done", done["ref"]).code == 0

    def titles(*args: str) -> list[str]:
        return [t["title"] for t in ok(sfa("task", "list", *args, "--json"))]

    assert titles() == ["Late", "Late this morning", "Today urgent", "Today", "Soon", "Later", "Someday"]
    assert titles("--overdue") == ["Late", "Late this morning"]
    assert titles("--due", "today") == ["Late this morning", "Today urgent", "Today"]
    assert titles("--due", "week") == ["Late this morning", "Today urgent", "Today", "Soon"]
    assert titles("--done") == ["Finished"]
    assert len(titles("--all")) == 8
    assert titles("--limit", "2") == ["Late", "Late this morning"]
    tsv = sfa("task", "list", "--overdue").out.splitlines()
    assert tsv[0] == "ref\tdue\tprio\ttitle\taccount\tstatus"
    assert "(overdue)" in tsv[1]
    assert sfa("task", "list", "--overdue", "--all").code == 2
    bad = sfa("task", "list", "--due", "month")
    assert bad.code == 2 and "today or week" in bad.err


def test_reminders(sfa: Runner) -> None:
    ok(sfa("task", "add", "Remind me", "--due", "+2d", "--remind", "today 00:00", "--json"))
    ok(sfa("task", "add", "Not yet", "--due", "+2d", "--remind", "+1d", "--json"))
    assert [t["title"] for t in ok(sfa("task", "list", "--remind", "--json"))] == ["Remind me"]
    assert sfa("task", "add", "X", "--remind", "soonish").code == 1


def test_done_edit_snooze_show(sfa: Runner, account: str) -> None:
    task = ok(sfa("task", "add", "Call back", "--due", "-1d", "--remind", "-1d 09:00", "--json"))
    ref = task["ref"]
    edited = ok(
        sfa(
            "task",
            "edit",
            ref,
            "--title",
            "Call Anna back",
            "--priority",
            "low",
            "--account",
            account,
            "--json",
        )
    )
    assert edited["title"] == "Call Anna back" and edited["priority"] == "low" and edited["account_id"]
    assert sfa("task", "edit", ref).code == 2
    assert sfa("task", "edit", ref, "--priority", "meh").code == 1
    snoozed = ok(sfa("task", "snooze", ref, "--until", "+7d", "--json"))
    assert snoozed["due_date"] > task["due_date"]
    assert snoozed["remind_at"] > task["remind_at"]  # the reminder moved with the due
    assert [t["ref"] for t in ok(sfa("task", "list", "--overdue", "--json"))] == []
    assert sfa("task", "snooze", ref, "--until", "nope").code == 1
    assert sfa("task", "snooze", ref).code == 2
    shown = sfa("task", "show", ref)
    assert shown.code == 0 and "Call Anna back" in shown.out and "Müller GmbH" in shown.out
    assert ok(sfa("task", "show", ref, "--json"))["linked"]["account"] == "Müller GmbH"
    cleared = ok(sfa("task", "edit", ref, "--due", "", "--json"))
    assert cleared["due_date"] is None and cleared["due_at"] is None
    finished = ok(sfa("task", "done", ref, "--json"))
    assert finished["status"] == "done" and finished["done_at"]
    again = sfa("task", "done", ref)
    assert again.code == 1 and "already done" in again.err
    assert sfa("task", "snooze", ref, "--until", "fri").code == 1
    assert ok(sfa("task", "reopen", ref, "--json"))["status"] == "open"
    assert sfa("task", "done", "ffffff").code == 1
    assert sfa("task", "show", "nothex").code == 1
