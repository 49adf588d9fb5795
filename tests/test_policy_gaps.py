"""Issue 14 requirements the first tests did not reach (docs/policy.md): `quote send`'s automatic
move and the dashboard's move run the playbook like `opp stage`; `pricelist list`; `report
attainment --territory`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfa.domain.entities import OPPORTUNITY, TARGET, TASK
from sfa.services import crm, playbooks
from sfa.store.workspace import Workspace
from sfa.tui.app import SfaApp
from tests.conftest import Runner
from tests.tui_support import FROZEN, freeze, load_fixture


def test_quote_send_moves_the_deal_and_its_playbook_makes_the_tasks(sfa: Runner) -> None:
    assert (
        sfa("playbook", "add", "quotation sent", "Follow up the quote", "--due", "+7d", "--kind", "call").code
        == 0
    )
    account = sfa("account", "add", "Acme", "-q").out.strip()
    deal = sfa("opp", "add", "Pumps", "--account", account, "-q").out.strip()
    quote = sfa("quote", "new", "--opp", deal, "-q").out.strip()
    assert sfa("quote", "add-line", quote, "--description", "Pump", "--qty", "1", "--price", "100").code == 0
    sent = sfa("quote", "send", quote)
    assert sent.code == 0, sent.err
    assert sfa("opp", "show", deal, "--json").json()["stage"] == "quotation sent"
    [task] = sfa("task", "list", "--all", "--json").json()
    assert (task["title"], task["opportunity_id"]) == ("Follow up the quote", deal)


@pytest.mark.asyncio
async def test_a_move_on_the_dashboard_makes_the_stages_tasks(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch)
    load_fixture(home)
    ws = Workspace(home)
    try:
        step = playbooks.add_step(
            ws,
            "identification",
            "Map the buying centre",
            kind="call",
            due="+2d",
            required=True,
            guidance=None,
            team=None,
        )
        clinic = next(o for o in crm.list_opportunities(ws) if o["name"] == "Clinic tablets")
        assert clinic["stage"] == "initiation"
    finally:
        ws.close()
    app = SfaApp(home, now=FROZEN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("greater_than_sign")  # the first column's deal, Clinic tablets, one stage on
        await pilot.pause()
    check = Workspace(home)
    try:
        assert check.store.get(OPPORTUNITY, clinic["id"])["stage"] == "identification"
        task = check.store.find(TASK, playbooks.task_id(clinic["id"], step["id"]))
        assert task is not None and task["title"] == "Map the buying centre" and task["priority"] == "high"
    finally:
        check.close()


def test_pricelist_list(sfa: Runner) -> None:
    assert sfa("pricelist", "list", "--json").json() == []
    assert sfa("pricelist", "add", "General").code == 0
    assert sfa("pricelist", "add", "Dollars", "--currency", "USD", "--group", "Construction").code == 0
    listed = sfa("pricelist", "list", "--json").json()
    assert sorted((p["name"], p["currency"], p["customer_group"]) for p in listed) == [
        ("Dollars", "USD", "Construction"),
        ("General", "EUR", None),
    ]
    assert "Dollars" in sfa("pricelist", "list").out


def test_attainment_by_territory(sfa: Runner, ws: Any) -> None:
    for args in (
        ("Germany",),
        ("Bavaria", "--parent", "Germany"),
        ("Munich", "--parent", "Bavaria"),
        ("France",),
    ):
        assert sfa("territory", "add", *args).code == 0
    for owner, team in (("mia", "Munich"), ("bo", "Bavaria"), ("fred", "France")):
        values = {
            "owner": owner,
            "team": team,
            "period": "2027-Q1",
            "metric": "quotes_sent",
            "value": Decimal(3),
        }
        ws.store.insert(TARGET, values)

    def subjects(*args: str) -> list[str]:
        found = sfa("report", "attainment", "--period", "2027-Q1", "--json", *args)
        assert found.code == 0, found.err
        return sorted(r["subject"] for r in found.json()["rows"])

    assert subjects() == ["bo", "fred", "mia"]
    assert subjects("--territory", "Bavaria") == ["bo", "mia"]
    assert subjects("--territory", "Munich") == ["mia"]
    assert subjects("--territory", "Germany", "--team", "Munich") == ["mia"]
    assert subjects("--territory", "Germany", "--by", "team") == ["team Bavaria", "team Munich"]
    missing = sfa("report", "attainment", "--territory", "Nowhere")
    assert missing.code == 1 and missing.err.count("\n") == 1


def test_a_sent_quote_without_follow_up_stalls_its_deal(sfa: Runner, ws: Any) -> None:
    """Issue 14 §2: stalled when "quote sent and no follow-up for 7 days"."""
    from datetime import UTC, datetime, timedelta

    from sfa.domain.entities import TIMELINE
    from sfa.services import stalled

    account = sfa("account", "add", "Acme", "-q").out.strip()
    deal = sfa("opp", "add", "Pumps", "--account", account, "--close-date", "+90d", "-q").out.strip()
    quote = sfa("quote", "new", "--opp", deal, "-q").out.strip()
    assert sfa("quote", "add-line", quote, "--description", "Pump", "--price", "100").code == 0
    assert sfa("quote", "send", quote).code == 0
    now = datetime.now(UTC)

    def reasons(days: int) -> list[str]:
        found = {s.opp["id"]: s.reasons for s in stalled.stalled(ws, now=now + timedelta(days=days))}
        return [r for r in found.get(deal, []) if r.startswith("quote sent")]

    assert reasons(6) == []
    assert len(reasons(8)) == 1 and "no follow-up for 8 days" in reasons(8)[0]
    follow_up = {
        "record_entity": "opportunity",
        "record_id": deal,
        "kind": "note",
        "text": "called about the quote",
        "at": now + timedelta(days=2),
    }
    ws.store.insert(TIMELINE, follow_up)
    assert reasons(8) == []


def test_playbook_list_by_stage(sfa: Runner) -> None:
    assert sfa("playbook", "add", "qualification", "Call the boss").code == 0
    assert sfa("playbook", "add", "initiation", "Log the call").code == 0
    listed = sfa("playbook", "list", "--stage", "qualification", "--json").json()
    assert [s["title"] for s in listed] == ["Call the boss"]
    assert sfa("playbook", "list", "--stage", "nowhere").code == 1


def test_how_an_account_got_its_territory_is_on_its_timeline(sfa: Runner, ws: Any) -> None:
    """Issue 14 §5: accounts get their territory "and how it was assigned (rule or manual)"."""
    from sfa.domain.entities import ACCOUNT, TIMELINE

    assert sfa("territory", "add", "South", "--rule", "postcode 80000-89999").code == 0
    assert sfa("territory", "add", "North").code == 0
    ruled = sfa("account", "add", "Isar GmbH", "--postcode", "80331", "-q").out.strip()
    by_hand = sfa("account", "add", "Elbe AG", "--postcode", "80999", "-q").out.strip()
    assert sfa("territory", "assign", "--account", by_hand, "--territory", "North").code == 0
    assert sfa("territory", "activate").code == 0

    def history(account: str) -> list[str]:
        entries = ws.store.select(TIMELINE, "record_id = ? AND kind = 'territory'", (account,))
        return [e["text"] for e in entries]

    assert history(ruled) == ["territory: South (rule: postcode 80000-89999)"]
    assert history(by_hand) == ["territory: North (manual)"]  # the rule run left it alone
    assert ws.store.get(ACCOUNT, by_hand)["team"] == "North"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-1, 11), min_size=1, max_size=12),
    st.integers(0, 11),
    st.lists(st.integers(0, 11), max_size=3),
)
def test_a_managers_scope_is_exactly_the_subtrees_of_their_territories(
    parent_of: list[int], team: int, managed: list[int]
) -> None:
    """scope_teams (shared by the server and the CLI) against a walk up the tree: a territory is in
    the scope iff it is, or lies under, the manager's team's territory or one naming them manager.
    Parents point anywhere (also at themselves or in loops, which the CLI refuses but a merged tree
    could hold): the answer still ends and never reaches above a root of the scope."""
    from sfa.domain.territories import scope_teams

    names = [f"T{n}" for n in range(len(parent_of))]
    parents = {
        name: (f"T{p}" if 0 <= p < len(parent_of) else None) for name, p in zip(names, parent_of, strict=True)
    }
    tree = [(name, parents[name], "max" if n in managed else None) for n, name in enumerate(names)]
    roots = {f"T{team}"} | {f"T{n}" for n in managed if n < len(names)}

    def under_a_root(name: str) -> bool:
        seen: set[str] = set()
        current: str | None = name
        while current is not None and current not in seen:
            if current in roots:
                return True
            seen.add(current)
            current = parents.get(current)
        return False

    found = scope_teams("max", f"T{team}", tree)
    assert f"T{team}" in found  # the team itself, a territory or not
    assert {n for n in names if n in found} == {n for n in names if under_a_root(n)}
    assert scope_teams("max", None, []) == frozenset()
