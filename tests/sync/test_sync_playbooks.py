"""A deal created directly at a stage runs that stage's playbook like a move to it does (issue 14
§2; docs/policy.md, "Playbooks and guided selling"): the tasks have ids derived from the deal's
and the step's, so the same creation on two laptops (a lead converted on both, offline) yields
one set of tasks after sync, and a later move back to the stage makes none twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from inprocess import InProcessServer
from test_sync_policy import _laptop, _ok, _sync

from tests.conftest import run_sfa


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    (tmp_path / "server").mkdir()
    srv = InProcessServer(tmp_path / "server")
    yield srv
    srv.close()


def _steps(manager: Path) -> None:
    _ok(manager, "playbook", "add", "initiation", "Log the first call", "--kind", "call", "--due", "+1d")
    _ok(manager, "playbook", "add", "qualification", "Call the decision maker", "--required", "--due", "+3d")
    _ok(manager, "playbook", "add", "qualification", "Send the brochure", "--kind", "email")


def test_a_deal_created_at_a_stage_gets_its_tasks_once(tmp_path: Path, server: InProcessServer) -> None:
    ana = _laptop(tmp_path, server, "ana", "rep", "north")
    max_ = _laptop(tmp_path, server, "max", "manager", "north")
    _steps(max_)
    _sync(server, max_)
    _sync(server, ana)
    acme = _ok(ana, "account", "add", "Acme", "-q").strip()

    made = run_sfa(ana, "opp", "add", "Pumps", "--account", acme, "--stage", "qualification", "-q")
    assert made.code == 0, made.err
    deal = made.out.strip()
    assert "2 task(s) created from the qualification playbook" in made.err
    assert "[ ] Call the decision maker [task] (required)" in made.err
    tasks = run_sfa(ana, "task", "list", "--all", "--json").json()
    assert sorted(t["title"] for t in tasks) == ["Call the decision maker", "Send the brochure"]
    assert {t["opportunity_id"] for t in tasks} == {deal}
    assert {(t["owner"], t["team"]) for t in tasks} == {("ana", "north")}

    # Away and back: the stage's tasks exist (derived ids), so none is made twice.
    _ok(ana, "opp", "stage", deal, "initiation")
    back = run_sfa(ana, "opp", "stage", deal, "qualification")
    assert back.code == 0 and "task(s) created" not in back.err
    titles = sorted(t["title"] for t in run_sfa(ana, "task", "list", "--all", "--json").json())
    assert titles == ["Call the decision maker", "Log the first call", "Send the brochure"]

    # A stage without steps: adding stays quiet on stderr, no task.
    quiet = run_sfa(ana, "opp", "add", "Valves", "--account", acme, "--stage", "rfp received", "-q")
    assert quiet.code == 0 and quiet.err == ""
    assert len(run_sfa(ana, "task", "list", "--all", "--json").json()) == 3


def test_a_lead_converted_on_two_laptops_offline_makes_one_set_of_tasks(
    tmp_path: Path, server: InProcessServer
) -> None:
    ana = _laptop(tmp_path, server, "ana", "rep", "north")
    ana2 = _laptop(tmp_path, server, "ana2", "rep", "north")
    max_ = _laptop(tmp_path, server, "max", "manager", "north")
    _steps(max_)
    _sync(server, max_)
    lead = _ok(ana, "lead", "add", "Jo Bauer", "--company", "Bauer AG", "-q").strip()
    for home in (ana, ana2):
        _sync(server, home)
    for home in (ana, ana2):  # offline: both convert the lead, with a deal at the first stage
        converted = run_sfa(home, "lead", "convert", lead, "--opportunity", "Bauer pumps", "--json")
        assert converted.code == 0, converted.err
    for home in (ana, ana2, ana, ana2):
        assert _sync(server, home).rejected == 0
    assert server.query("SELECT count(*) FROM record WHERE entity = 'task'") == [(1,)]
    for home in (ana, ana2):
        tasks = run_sfa(home, "task", "list", "--all", "--json").json()
        assert [t["title"] for t in tasks] == ["Log the first call"]


def test_two_managers_editing_the_policy_offline_surface_a_flagged_conflict(
    tmp_path: Path, server: InProcessServer
) -> None:
    """Issue 14 §1: "stage lists merge with flag, so two managers' conflicting edits surface"."""
    from test_sync_policy import POLICY_TOML

    max_ = _laptop(tmp_path, server, "max", "manager", "north")
    mo = _laptop(tmp_path, server, "mo", "manager", "north")
    first = tmp_path / "first.toml"
    first.write_text(POLICY_TOML, encoding="utf-8")
    _ok(max_, "policy", "import", str(first))
    _sync(server, max_)
    _sync(server, mo)
    assert run_sfa(mo, "policy", "show", "--json").json()["source"] == "team north"
    # Offline, each changes the offer stage's probability differently.
    for home, probability in ((max_, "55"), (mo, "70")):
        edited = tmp_path / f"{home.name}.toml"
        edited.write_text(
            POLICY_TOML.replace("probability = 60", f"probability = {probability}"), encoding="utf-8"
        )
        _ok(home, "policy", "import", str(edited))
    for home in (max_, mo, max_):
        assert _sync(server, home).rejected == 0
    conflicts = run_sfa(mo, "sync", "conflicts", "--json").json()
    stages = [c for c in conflicts if c["entity"] == "policy" and c["field"] == "stages"]
    assert len(stages) == 1 and stages[0]["kind"] == "flag", conflicts
    # The server kept the first writer's stages (flag: the stored value stays), on both laptops.
    for home in (max_, mo):
        offer = [
            s for s in run_sfa(home, "policy", "show", "--json").json()["stages"] if s["name"] == "offer"
        ]
        assert offer[0]["probability"] == 55
