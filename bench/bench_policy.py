"""Bench the manager's desk (issue 14): `sfa report attainment --by owner` for a team of 50 reps on
a store with 20,000 accounts and 20,000 opportunities (100,000 contacts with `--contacts`) against
the bare Typer hello-world (target: at most 1.5x), and `sfa territory preview` over the 20,000
accounts (target: at most 2 s wall).

    .venv/bin/python bench/bench_policy.py [--runs 5] [--contacts 0]

The store is built once per size into bench/.data/ through Store.insert_many (change capture on).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DATA, hello_command, interleaved, report, sfa_command
from sfa.domain.entities import ACCOUNT, CONTACT, OPPORTUNITY, TARGET, TERRITORY
from sfa.domain.stages import DEFAULT_STAGES
from sfa.store.migrations import LATEST
from sfa.store.workspace import Workspace

REPS = [f"rep{n:02d}" for n in range(50)]
INDUSTRIES = ["Construction", "Machinery", "Food", "Logistics", "Retail"]
PERIOD = "2027-Q1"


def build(home: Path, contacts: int, seed: int = 14) -> None:
    rng = random.Random(seed)
    ws = Workspace(home)
    ws.config.set("owner", "manager")
    store = ws.store
    try:
        accounts: list[dict[str, Any]] = []
        for n in range(20_000):
            rep = REPS[n % len(REPS)]
            accounts.append(
                {
                    "name": f"Account {n}",
                    "industry": rng.choice(INDUSTRIES),
                    "postcode": f"{rng.randint(10000, 99999)}",
                    "country": "DE",
                    "city": rng.choice(["München", "Augsburg", "Berlin", "Hamburg"]),
                    "owner": rep,
                    "team": "north" if n % 2 else "south",
                }
            )
        account_ids = []
        for start in range(0, len(accounts), 5000):
            account_ids += [r["id"] for r in store.insert_many(ACCOUNT, accounts[start : start + 5000])]
        stages = [s.name for s in DEFAULT_STAGES]
        opps = []
        for n in range(20_000):
            stage = rng.choice(stages)
            opps.append(
                {
                    "name": f"Deal {n}",
                    "account_id": account_ids[n],
                    "stage": stage,
                    "amount": Decimal(rng.randint(1, 500) * 100),
                    "currency": "EUR",
                    "probability": rng.randint(0, 100),
                    "close_date": date(2027, 1, 1) + timedelta(days=rng.randint(0, 120)),
                    "owner": REPS[n % len(REPS)],
                    "team": "north" if n % 2 else "south",
                }
            )
        for start in range(0, len(opps), 5000):
            store.insert_many(OPPORTUNITY, opps[start : start + 5000])
        people = [
            {"name": f"Person {n}", "account_id": account_ids[n % len(account_ids)], "owner": REPS[n % 50]}
            for n in range(contacts)
        ]
        for start in range(0, len(people), 5000):
            store.insert_many(CONTACT, people[start : start + 5000])
        targets = [
            {
                "period": PERIOD,
                "metric": metric,
                "value": Decimal(value),
                "currency": "EUR" if metric == "won_amount" else None,
                "owner": rep,
                "team": "north",
            }
            for rep in REPS
            for metric, value in (
                ("won_amount", 250000),
                ("new_opportunities", 40),
                ("visits_done", 30),
                ("quotes_sent", 10),
            )
        ]
        store.insert_many(TARGET, targets)
        store.insert_many(
            TERRITORY,
            [
                {"name": "Germany", "rules": "country DE", "priority": 0, "members": "manager owner"},
                {"name": "Bavaria", "parent": "Germany", "rules": "postcode 80000-87999", "priority": 1},
                {
                    "name": "Munich",
                    "parent": "Bavaria",
                    "rules": "city München",
                    "priority": 2,
                    "members": "rep00 owner",
                },
            ],
        )
    finally:
        ws.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--contacts", type=int, default=0)
    args = parser.parse_args()
    home = DATA / f"policy-v{LATEST}-{args.contacts}"
    if not (home / "ok").exists():
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        build(home, args.contacts)
        (home / "ok").write_text("complete\n")
    times = interleaved(
        {
            "hello": hello_command(),
            "attainment": sfa_command(home, "report", "attainment", "--period", PERIOD, "--by", "owner"),
            "preview": sfa_command(home, "territory", "preview", "--json"),
        },
        args.runs,
    )
    ratio = times["attainment"] / times["hello"]
    report(
        [
            (
                "report attainment --by owner (50 reps)",
                f"{times['attainment']:.3f} s = {ratio:.2f}x",
                "<= 1.5x",
                ratio <= 1.5,
            ),
            (
                "territory preview (20,000 accounts)",
                f"{times['preview']:.3f} s",
                "<= 2 s",
                times["preview"] <= 2.0,
            ),
            ("bare Typer hello-world", f"{times['hello']:.3f} s", "baseline", True),
        ]
    )


if __name__ == "__main__":
    main()
