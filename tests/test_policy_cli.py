"""`sfa policy` and `sfa pricelist` on one laptop without a server (docs/policy.md): the local user
may edit the policy; it replaces the configured stages; price lists price quote lines."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfa.domain import policy as rules
from sfa.domain.errors import ValidationError
from tests.conftest import Runner

TOML = """
strict = true
line_discount_limit = "15"

[[stages]]
name = "Lead"
probability = 10
key_fields = ["amount", "close_date"]

[[stages]]
name = "offer"
probability = 60
stall_days = 10

[[stages]]
name = "won"
probability = 100

[[stages]]
name = "lost"
probability = 0
"""


def test_the_local_policy_is_the_configured_stages(sfa: Runner) -> None:
    assert sfa("config", "set", "stages", "prospect:5, demo:40, won:100, lost:0").code == 0
    shown = sfa("policy", "show", "--json").json()
    assert shown["source"] == "local"
    assert [(s["name"], s["probability"], s["category"]) for s in shown["stages"]] == [
        ("prospect", 5, "pipeline"),
        ("demo", 40, "pipeline"),
        ("won", 100, "closed"),
        ("lost", 0, "omitted"),
    ]


def test_import_replaces_the_stages_and_keeps_deals_in_old_ones(sfa: Runner, tmp_path: Path) -> None:
    account = sfa("account", "add", "Acme", "-q").out.strip()
    assert sfa("opp", "add", "Old", "--account", account, "--stage", "qualification").code == 0
    path = tmp_path / "p.toml"
    path.write_text(TOML, encoding="utf-8")
    done = sfa("policy", "import", str(path))
    assert done.code == 0, done.err
    assert "company-wide" in done.out and "'qualification'" in done.err
    shown = sfa("policy", "show", "--json").json()
    assert shown["source"] == "company" and shown["strict"] is True
    assert shown["line_discount_limit"] == "15" and shown["quote_discount_limit"] is None
    assert shown["stages"][0] == {
        "name": "lead",
        "probability": 10,
        "category": "pipeline",
        "stall_days": 21,
        "key_fields": ["amount", "close_date"],
    }
    assert shown["unknown_stages"] == {"qualification": 1}
    assert sfa("opp", "list", "--json").json()[0]["stage"] == "qualification"
    assert sfa("opp", "add", "New", "--account", account, "--stage", "offer").code == 0
    # Importing the same file again writes nothing new.
    assert sfa("policy", "import", str(path)).code == 0


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (
            "strict = 1\n[[stages]]\nname='won'\nprobability=100\n[[stages]]\nname='lost'\nprobability=0",
            "strict",
        ),
        ("[[stages]]\nname='a'\nprobability=10", "stages"),
        ("[[stages]]\nname='won'\nprobability=140\n[[stages]]\nname='lost'\nprobability=0", "probability"),
        (
            "[[stages]]\nname='won'\nprobability=100\ncategory='maybe'\n[[stages]]\nname='lost'\nprobability=0",
            "category",
        ),
        ("colour = 'red'", "colour"),
        (
            "line_discount_limit = '120'\n[[stages]]\nname='won'\nprobability=100\n"
            "[[stages]]\nname='lost'\nprobability=0",
            "line_discount_limit",
        ),
        ("not toml at all [", "policy"),
    ],
)
def test_a_bad_policy_file_is_one_line_naming_the_field(
    sfa: Runner, tmp_path: Path, text: str, field: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    result = sfa("policy", "import", str(path))
    assert result.code == 1 and result.err.startswith("sfa: error: ") and field in result.err
    assert result.err.count("\n") == 1
    assert sfa("policy", "show", "--json").json()["source"] == "local"  # nothing written


def test_edit_opens_the_editor_on_the_toml(sfa: Runner, tmp_path: Path) -> None:
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys\np = sys.argv[1]\ntext = open(p).read()\n"
        "open(p, 'w').write(text.replace('strict = false', 'strict = true'))\n",
        encoding="utf-8",
    )
    editor = f"{sys.executable} {script}"
    done = sfa("policy", "edit", env={"EDITOR": editor, "VISUAL": ""})
    assert done.code == 0, done.err
    assert sfa("policy", "show", "--json").json()["strict"] is True
    unchanged = sfa("policy", "edit", env={"EDITOR": "true", "VISUAL": ""})
    assert unchanged.code == 0 and "unchanged" in unchanged.out
    failing = sfa("policy", "edit", env={"EDITOR": "false", "VISUAL": ""})
    assert failing.code == 1 and "nothing changed" in failing.err


stage_names = st.text(alphabet="abcdefghij ", min_size=1, max_size=12).map(str.strip).filter(bool)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            stage_names,
            st.integers(0, 100),
            st.sampled_from(rules.CATEGORIES),
            st.integers(1, 365),
            st.lists(st.sampled_from(rules.KEY_FIELDS), unique=True),
        ),
        max_size=6,
        unique_by=lambda t: " ".join(t[0].split()),
    ),
    st.booleans(),
)
def test_toml_round_trip(items: list[tuple[str, int, str, int, list[str]]], strict: bool) -> None:
    stages = [
        rules.PolicyStage(" ".join(n.split()), p, c, d, tuple(k))
        for n, p, c, d, k in items
        if " ".join(n.split()) not in ("won", "lost")
    ]
    stages += [rules.PolicyStage("won", 100, "closed"), rules.PolicyStage("lost", 0, "omitted")]
    policy = rules.SalesPolicy(tuple(stages), strict, Decimal("12.5"), None)
    values = rules.from_toml(rules.to_toml(policy))
    assert rules.load_stages(values["stages"]) == tuple(stages)
    assert values["strict"] is strict and values["line_discount_limit"] == Decimal("12.5")


def test_stable_ids_are_uuids_and_differ_by_team() -> None:
    from sfa.protocol import is_uuid

    assert rules.policy_id("north") == rules.policy_id("north") != rules.policy_id("south")
    assert is_uuid(rules.policy_id(None))
    with pytest.raises(ValidationError):
        rules.load_stages("[1, 2]")


def test_price_lists_by_group_and_quantity(sfa: Runner) -> None:
    assert sfa("product", "add", "Widget", "--sku", "W1", "--price", "100").code == 0
    for args in (
        ("pricelist", "add", "General"),
        ("pricelist", "add", "Builders", "--group", "Construction"),
        ("pricelist", "add", "Dollars", "--currency", "USD"),
        ("pricelist", "set-price", "General", "W1", "95"),
        ("pricelist", "set-price", "General", "W1", "85", "--min-qty", "10"),
        ("pricelist", "set-price", "Builders", "W1", "90"),
        ("pricelist", "set-price", "Dollars", "W1", "70"),
    ):
        result = sfa(*args)
        assert result.code == 0, (args, result.err)
    assert sfa("pricelist", "add", "general").code == 1  # names are unique, case aside
    builder = sfa("account", "add", "BuildCo", "--industry", "construction", "-q").out.strip()
    other = sfa("account", "add", "Shop", "-q").out.strip()

    def line_price(account: str, qty: str) -> Decimal:
        quote = sfa("quote", "new", "--account", account, "-q").out.strip()
        added = sfa("quote", "add-line", quote, "--product", "W1", "--qty", qty)
        assert added.code == 0, added.err
        return Decimal(sfa("quote", "show", quote, "--json").json()["lines"][0]["unit_price"])

    assert line_price(other, "1") == 95
    assert line_price(other, "10") == 85
    assert line_price(builder, "20") == 90  # the group's list wins over the quantity break
    assert sfa("pricelist", "remove-price", "Builders", "W1").code == 0
    assert sfa("pricelist", "remove-price", "Builders", "W1").code == 1
    assert line_price(builder, "20") == 85
    shown = sfa("pricelist", "show", "General", "--json").json()
    assert [(i["sku"], i["min_quantity"], i["unit_price"]) for i in shown["items"]] == [
        ("W1", "1", "95"),
        ("W1", "10", "85"),
    ]
    assert sfa("pricelist", "set-price", "General", "W1", "--", "-5").code == 1
    assert sfa("pricelist", "set-price", "General", "W1", "5", "--min-qty", "0").code == 1
    assert sfa("pricelist", "show", "Nope").code == 1


def test_single_user_targets_and_review_template(sfa: Runner, tmp_path: Path) -> None:
    """Without a server the one user sets targets and writes reviews; the untouched template is a
    valid (empty) review."""
    target = ("target", "set", "--owner", "me", "--period", "2027-03", "--metric")
    done = sfa(*target, "quotes_sent", "--value", "5")
    assert done.code == 0, done.err
    assert sfa(*target, "quotes_sent", "--value", "2.5").code == 1
    assert sfa("target", "set", "--period", "2027-03", "--metric", "won_amount", "--value", "1").code == 1
    bad_period = ("target", "set", "--owner", "me", "--period", "Q1", "--metric", "won_amount")
    assert sfa(*bad_period, "--value", "1").code == 1
    editor = {"EDITOR": "true", "VISUAL": ""}
    made = sfa("review", "new", "--rep", "me", "--period", "2027-03", env=editor)
    assert made.code == 0, made.err
    [review] = sfa("review", "list", "--json").json()
    assert review["status"] == "draft" and review["scores"] == {} and review["strengths"] is None
    assert sfa("review", "ack", review["ref"]).code == 1  # not shared yet
    assert sfa("review", "share", review["ref"]).code == 0
    assert sfa("review", "ack", review["ref"]).code == 0
    closed = sfa("review", "new", "--rep", "me", "--period", "2027-03", env=editor)
    assert closed.code == 1 and "acknowledged" in closed.err


def test_entity_codes_and_the_search_index(ws: Any) -> None:
    """Codes are unique and the searchable ones fit the index's slots; a type past them never
    touches the index: removing a record of code 17 (rid 1) must not drop the entry of the account
    whose rowid it would have (rid 2, code 1)."""
    from dataclasses import replace

    from sfa.domain.entities import ACCOUNT, ENTITIES, REVIEW
    from sfa.store import writes

    codes = [e.code for e in ENTITIES.values()]
    assert len(set(codes)) == len(codes)
    assert all(e.code < writes.FTS_SLOTS for e in ENTITIES.values() if e.search_fields)
    store = ws.store
    store.insert(ACCOUNT, {"name": "Zebra Works"})
    yak = store.insert(ACCOUNT, {"name": "Yak Tools"})
    review = store.insert(REVIEW, {"rep": "me", "period": "2027-Q1", "reviewer": "me", "status": "draft"})
    late = replace(REVIEW, code=17)
    with store.transaction():
        writes.remove(store.conn, late, review["id"])
    assert [r["id"] for _e, r in store.first_matches("yak", 5)] == [yak["id"]]


STRICT = """
strict = true

[[stages]]
name = "lead"
probability = 10
key_fields = ["amount", "close_date"]

[[stages]]
name = "offer"
probability = 60
stall_days = 5

[[stages]]
name = "won"
probability = 100

[[stages]]
name = "lost"
probability = 0
"""


def test_strict_policy_refuses_a_forward_move_until_forced(sfa: Runner, tmp_path: Path) -> None:
    path = tmp_path / "strict.toml"
    path.write_text(STRICT, encoding="utf-8")
    assert sfa("policy", "import", str(path)).code == 0
    assert sfa("playbook", "add", "lead", "Qualify the budget", "--required", "--due", "+2d").code == 0
    assert sfa("playbook", "add", "lead", "Nice to have", "--guidance", "Ask about\nthe timeline").code == 0
    assert sfa("playbook", "add", "nowhere", "x").code == 1
    assert sfa("playbook", "add", "lead", "x", "--kind", "fax").code == 1
    assert sfa("playbook", "add", "lead", "x", "--due", "soon").code == 1
    account = sfa("account", "add", "Acme", "-q").out.strip()
    deal = sfa("opp", "add", "Deal", "--account", account, "--stage", "offer", "-q").out.strip()
    moved = sfa("opp", "stage", deal, "lead")  # backwards: no check; the lead playbook makes tasks
    assert moved.code == 0 and "2 task(s) created" in moved.err
    assert "key fields still empty: amount, close_date" in moved.err
    nxt = sfa("opp", "next", deal)
    assert "[ ] Qualify the budget [task] (required)" in nxt.out and "Ask about" in nxt.out
    refused = sfa("opp", "stage", deal, "offer")
    assert refused.code == 1 and "strict" in refused.err and "--force" in refused.err
    assert sfa("opp", "show", deal, "--json").json()["stage"] == "lead"  # nothing written
    forced = sfa("opp", "stage", deal, "offer", "--force")
    assert forced.code == 0 and "warning: required step open: Qualify the budget" in forced.err
    tasks = sfa("task", "list", "--all", "--json").json()
    assert len(tasks) == 2 and {t["priority"] for t in tasks} == {"high", "normal"}
    # Not strict: a warning, exit 0.
    path.write_text(STRICT.replace("strict = true", "strict = false"), encoding="utf-8")
    assert sfa("policy", "import", str(path)).code == 0
    assert sfa("opp", "stage", deal, "lead").code == 0
    warned = sfa("opp", "stage", deal, "offer")
    assert warned.code == 0 and "warning: key field empty: amount" in warned.err
    listed = sfa("playbook", "list", "--json").json()
    assert [s["title"] for s in listed] == ["Qualify the budget", "Nice to have"]
    assert sfa("playbook", "remove", listed[1]["ref"]).code == 0
    assert len(sfa("playbook", "list", "--json").json()) == 1


def test_stalled_deals(sfa: Runner, ws: Any) -> None:
    from datetime import UTC, date, datetime, timedelta

    from sfa.domain.entities import OPPORTUNITY, TIMELINE
    from sfa.services import stalled

    account = sfa("account", "add", "Acme", "-q").out.strip()
    late = sfa("opp", "add", "Late", "--account", account, "--close-date", "2020-01-01", "-q").out.strip()
    fresh = sfa("opp", "add", "Fresh", "--account", account, "--close-date", "+30d", "-q").out.strip()
    now = datetime.now(UTC)
    found = {s.opp["id"]: s.reasons for s in stalled.stalled(ws, now=now)}
    assert set(found) == {late} and "close date 2020-01-01 has passed" in found[late][0]
    # Thirty days on, nothing happened on either: both stalled for inactivity (21 days default).
    later = {s.opp["id"]: s.reasons for s in stalled.stalled(ws, now=now + timedelta(days=30))}
    assert set(later) == {late, fresh}
    assert any("no activity for 30 days" in r for r in later[fresh])
    # A won deal that left "initiation" within 2 days makes 10 days there stalled.
    won = ws.store.insert(
        OPPORTUNITY, {"name": "Won", "account_id": account, "stage": "won", "owner": ws.owner}
    )
    for day, text in ((1, "stage: initiation → initiation"), (3, "stage: initiation → qualification")):
        ws.store.insert(
            TIMELINE,
            {
                "record_entity": "opportunity",
                "record_id": won["id"],
                "kind": "stage",
                "text": text,
                "at": now - timedelta(days=40 - day),
            },
        )
    ten = {
        s.opp["id"]: s.reasons for s in stalled.stalled(ws, today=date.today(), now=now + timedelta(days=10))
    }
    assert any("won deals left it within 2" in r for r in ten[fresh])
    listed = sfa("opp", "list", "--stalled", "--json").json()
    assert [o["name"] for o in listed] == ["Late"] and listed[0]["stalled"]
    assert sfa("opp", "list", "--stalled", "--stage", "initiation").code == 2
    today = sfa("today", "--json").json()
    assert [s["name"] for s in today["stalled"]] == ["Late"]
    assert "Stalled deals (1)" in sfa("today").out


def test_reports_filter_by_owner_and_team(sfa: Runner, ws: Any) -> None:
    from sfa.domain.entities import ACCOUNT, OPPORTUNITY, QUOTE

    account = ws.store.insert(ACCOUNT, {"name": "Acme"})
    for owner, team, amount, stage in (
        ("ana", "north", "100", "qualification"),
        ("ana", "north", "50", "won"),
        ("ben", "north", "200", "qualification"),
        ("olga", "south", "400", "qualification"),
    ):
        ws.store.insert(
            OPPORTUNITY,
            {
                "name": f"{owner} {stage}",
                "account_id": account["id"],
                "stage": stage,
                "amount": Decimal(amount),
                "currency": "EUR",
                "probability": 50,
                "owner": owner,
                "team": team,
            },
        )
    ws.store.insert(
        QUOTE,
        {
            "number": "Q-1",
            "revision": 1,
            "account_id": account["id"],
            "status": "sent",
            "sent_at": datetime.now(UTC),
            "owner": "ben",
            "team": "north",
        },
    )

    def pipeline(*args: str) -> Decimal:
        rows = sfa("report", "pipeline", "--json", *args).json()
        return sum((Decimal(r["amount"]) for r in rows), Decimal(0))

    assert pipeline() == 700
    assert pipeline("--owner", "ana") == 100
    assert pipeline("--team", "north") == 300
    assert pipeline("--team", "north", "--owner", "olga") == 0
    forecast = sfa("report", "forecast", "--json", "--team", "south").json()
    assert sum(Decimal(r["pipeline"]) for r in forecast) == 400
    won = sfa("report", "win-loss", "--json", "--owner", "ana").json()
    assert won["won_count"] == 1
    assert sfa("report", "win-loss", "--json", "--owner", "ben").json()["won_count"] == 0
    assert (
        sfa("report", "activity", "--json", "--since", "2020-01-01", "--owner", "ben").json()["quotes_sent"]
        == 1
    )
    assert (
        sfa("report", "activity", "--json", "--since", "2020-01-01", "--team", "south").json()["quotes_sent"]
        == 0
    )


def test_territories_tree_preview_assign_activate_and_reports(sfa: Runner, ws: Any) -> None:
    from sfa.domain.entities import ACCOUNT, OPPORTUNITY

    ok = [
        ("territory", "add", "Germany", "--rule", "country DE", "--member", "gerd owner"),
        (
            "territory",
            "add",
            "Bavaria",
            "--parent",
            "Germany",
            "--rule",
            "postcode 80000-87999",
            "--manager",
            "max",
        ),
        (
            "territory",
            "add",
            "Munich",
            "--parent",
            "Bavaria",
            "--rule",
            "city München",
            "--priority",
            "5",
            "--member",
            "mia owner",
            "--member",
            "olaf overlay",
        ),
    ]
    for args in ok:
        result = sfa(*args)
        assert result.code == 0, (args, result.err)
    assert sfa("territory", "add", "germany").code == 1  # names are unique, case aside
    assert sfa("territory", "add", "X", "--rule", "planet Mars").code == 1
    assert sfa("territory", "add", "X", "--member", "ana boss").code == 1
    assert sfa("territory", "edit", "Germany", "--parent", "Munich").code == 1  # a loop
    assert sfa("territory", "list", "--tree").out.splitlines() == [
        "Germany",
        "  Bavaria  (manager max)",
        "    Munich",
    ]

    def account(name: str, **values: str) -> str:
        return str(ws.store.insert(ACCOUNT, {"name": name, "owner": "me", **values})["id"])

    munich = account("Munich GmbH", city="München", postcode="80331", country="DE")
    augsburg = account("Augsburg AG", postcode="86150", country="DE")
    berlin = account("Berlin KG", postcode="10115", country="DE")
    paris = account("Paris SA", postcode="75001", country="FR")
    handmade = account("Handmade", postcode="86000", country="DE")
    ws.store.insert(
        OPPORTUNITY,
        {
            "name": "Big",
            "account_id": augsburg,
            "stage": "qualification",
            "amount": Decimal(500),
            "currency": "EUR",
        },
    )
    assert sfa("territory", "assign", "--account", handmade, "--territory", "Germany").code == 0
    preview = {m["account"]: m for m in sfa("territory", "preview", "--json").json()}
    assert set(preview) == {"Munich GmbH", "Augsburg AG", "Berlin KG"}  # not Paris, not the manual one
    assert (preview["Munich GmbH"]["territory"], preview["Munich GmbH"]["to_owner"]) == ("Munich", "mia")
    assert preview["Augsburg AG"]["territory"] == "Bavaria" and preview["Augsburg AG"]["to_owner"] == "me"
    assert preview["Augsburg AG"]["open_pipeline"] == {"EUR": "500"}
    assert (preview["Berlin KG"]["territory"], preview["Berlin KG"]["to_owner"]) == ("Germany", "gerd")
    assert ws.store.get(ACCOUNT, augsburg)["team"] is None  # a preview writes nothing
    moved = sfa("territory", "activate", "--json").json()
    assert len(moved) == 3
    assert (
        ws.store.get(ACCOUNT, munich)["team"] == "Munich" and ws.store.get(ACCOUNT, munich)["owner"] == "mia"
    )
    assert ws.store.get(ACCOUNT, handmade)["team"] == "Germany"
    assert ws.store.get(ACCOUNT, paris)["team"] is None
    assert sfa("territory", "preview", "--json").json() == []  # nothing left to move
    deal = ws.store.select(OPPORTUNITY)[0]
    assert deal["team"] == "Bavaria"  # open deals go with their account
    assert ws.store.get(ACCOUNT, berlin)["team"] == "Germany"

    def pipeline(*args: str) -> Decimal:
        return sum(
            (Decimal(r["amount"]) for r in sfa("report", "pipeline", "--json", *args).json()), Decimal(0)
        )

    assert pipeline("--territory", "Germany") == 500  # Bavaria is under Germany
    assert pipeline("--territory", "Munich") == 0
    assert pipeline("--territory", "Germany", "--team", "Munich") == 0
    assert sfa("report", "pipeline", "--territory", "Nowhere").code == 1


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ana", "ben", None]),
            st.sampled_from(["north", "south", None]),
            st.sampled_from(["won", "qualification", "lost"]),
            st.integers(0, 10_000),
            st.sampled_from(["EUR", "USD"]),
            st.integers(0, 100),
            st.integers(0, 120),
        ),
        max_size=25,
    )
)
def test_attainment_sums_in_sql_agree_with_the_per_record_sums(
    tmp_path_factory: pytest.TempPathFactory, deals: list[tuple[Any, ...]]
) -> None:
    from datetime import date, timedelta

    from sfa.domain.entities import ACCOUNT, OPPORTUNITY
    from sfa.domain.targets import parse_period
    from sfa.services import targets
    from sfa.store.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("sums"))
    try:
        account = ws.store.insert(ACCOUNT, {"name": "Acme"})
        for owner, team, stage, amount, currency, probability, offset in deals:
            ws.store.insert(
                OPPORTUNITY,
                {
                    "name": "d",
                    "account_id": account["id"],
                    "stage": stage,
                    "amount": Decimal(amount) / 4,
                    "currency": currency,
                    "probability": probability,
                    "close_date": date(2027, 1, 1) + timedelta(days=offset - 10),
                    "owner": owner,
                    "team": team,
                },
            )
        period = parse_period("2027-Q1")
        slow_pipeline = targets._Totals(targets._pipeline(ws, period))
        fast_pipeline = targets._Totals(targets._pipeline(ws, period, per_account=False))
        for metric in ("won_amount", "new_opportunities"):
            slow = targets._Totals(targets.facts(ws, metric, period))
            fast = targets._Totals(targets.facts(ws, metric, period, per_account=False))
            for owner in ("ana", "ben", None):
                for team in ("north", "south", None):
                    for currency in ("EUR", "USD", None):
                        args = (owner, team, currency, None, None)
                        assert slow.total(*args) == fast.total(*args), (metric, args)
                        assert slow_pipeline.total(*args) == fast_pipeline.total(*args), args
    finally:
        ws.close()
