"""Make a large store for the benchmarks: accounts, contacts, opportunities, leads, timeline, and
optionally visits and tasks (the dashboard's search bench: 50,000 visits and 100,000 tasks).

    python bench/gen_store.py DIR [--contacts 100000] [--accounts 20000] [--timeline 200000]
        [--visits 0] [--tasks 0]

Records are written through the store's normal bulk path, so clocks, outbox and the search index
are all there, exactly as if a rep had typed them.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sfa.domain.entities import ACCOUNT, CONTACT, LEAD, OPPORTUNITY, TASK, TIMELINE, VISIT
from sfa.domain.stages import DEFAULT_STAGES
from sfa.store.config import DB_NAME
from sfa.store.db import Store

FIRST = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hugo",
    "Ida",
    "Jonas",
    "Karl",
    "Lena",
    "Mia",
    "Noah",
    "Olga",
    "Paul",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Uwe",
    "Vera",
    "Wim",
    "Xenia",
]
LAST = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Neumann",
    "Schwarz",
    "Braun",
    "Zimmermann",
]
WORDS = [
    "Alpen",
    "Isar",
    "Donau",
    "Bavaria",
    "Nord",
    "Süd",
    "Tech",
    "Metall",
    "Bau",
    "Agrar",
    "Logistik",
    "Medizin",
    "Software",
    "Energie",
    "Holz",
    "Glas",
    "Textil",
    "Druck",
    "Optik",
    "Chemie",
]
FORMS = ["GmbH", "AG", "KG", "GmbH & Co. KG", "SE"]
CITIES = ["München", "Augsburg", "Regensburg", "Ingolstadt", "Würzburg", "Nürnberg", "Passau", "Landshut"]
NOTES = [
    "prefers calls in the morning",
    "budget cycle in Q3",
    "met at the trade fair",
    "interested in maintenance contract",
    "decision by committee",
    "price sensitive",
]
CHUNK = 20_000


def generate(
    home: Path,
    contacts: int,
    accounts: int,
    timeline: int,
    opportunities: int,
    leads: int,
    visits: int = 0,
    tasks: int = 0,
) -> None:
    rng = random.Random(42)
    home.mkdir(parents=True, exist_ok=True)
    store = Store(home / DB_NAME)
    start = time.perf_counter()
    account_ids: list[str] = []
    for base in range(0, accounts, CHUNK):
        rows = []
        for i in range(base, min(base + CHUNK, accounts)):
            name = f"{rng.choice(WORDS)}{rng.choice(WORDS).lower()} {i} {rng.choice(FORMS)}"
            rows.append(
                {
                    "name": name,
                    "city": rng.choice(CITIES),
                    "industry": rng.choice(WORDS),
                    "phone": f"+49 89 {rng.randrange(10**6, 10**7)}",
                    "owner": "rep",
                    "latitude": 47.5 + rng.random() * 2.5,
                    "longitude": 9.5 + rng.random() * 4,
                    "notes": rng.choice(NOTES),
                }
            )
        account_ids += [r["id"] for r in store.insert_many(ACCOUNT, rows)]
    for base in range(0, contacts, CHUNK):
        rows = []
        for i in range(base, min(base + CHUNK, contacts)):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            rows.append(
                {
                    "name": f"{first} {last}",
                    "email": f"{first}.{last}.{i}@example.com".lower(),
                    "phone": f"+49 170 {i:07d}",
                    "account_id": rng.choice(account_ids),
                    "title": rng.choice(["CEO", "CTO", "Buyer", "Head of Operations", None]),
                    "owner": "rep",
                }
            )
        store.insert_many(CONTACT, rows)
    opp_ids = []
    open_stages = [s for s in DEFAULT_STAGES if not s.is_closed]
    today = date.today()
    rows = []
    closed_stages = [s for s in DEFAULT_STAGES if s.is_closed]
    for i in range(opportunities):
        # A pipeline with history: most deals ever opened are closed by now; 30 % are open.
        stage = rng.choice(open_stages if rng.random() < 0.3 else closed_stages)
        rows.append(
            {
                "name": f"Deal {i}",
                "account_id": rng.choice(account_ids),
                "amount": Decimal(rng.randrange(1000, 500_000)),
                "currency": "EUR",
                "stage": stage.name,
                "probability": stage.probability,
                "owner": "rep",
                "close_date": today + timedelta(days=rng.randrange(-90, 365)),
                "lost_reason": "price" if stage.name == "lost" else None,
            }
        )
    opp_ids = [r["id"] for r in store.insert_many(OPPORTUNITY, rows)]
    store.insert_many(
        LEAD,
        [
            {
                "name": f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}",
                "status": "new",
                "company": f"{rng.choice(WORDS)} {rng.choice(FORMS)}",
                "email": f"lead{i}@example.org",
            }
            for i in range(leads)
        ],
    )
    moment = datetime.now(UTC)
    for base in range(0, timeline, CHUNK):
        rows = []
        for i in range(base, min(base + CHUNK, timeline)):
            note = i % 4 == 0
            rows.append(
                {
                    "record_entity": "opportunity" if not note else "account",
                    "record_id": rng.choice(opp_ids) if not note else rng.choice(account_ids),
                    "account_id": rng.choice(account_ids),
                    "kind": "note" if note else "stage",
                    "text": rng.choice(NOTES) if note else "stage: initiation → qualification",
                    "at": moment - timedelta(minutes=i),
                    "owner": "rep",
                }
            )
        store.insert_many(TIMELINE, rows)
    purposes = ["maintenance check", "budget review", "contract renewal", "product demo", "site survey"]
    for base in range(0, visits, CHUNK):
        rows = []
        for i in range(base, min(base + CHUNK, visits)):
            done = i % 3 != 0
            rows.append(
                {
                    "account_id": rng.choice(account_ids),
                    "contact_ids": [],
                    "starts_at": moment + timedelta(hours=rng.randrange(-24 * 365, 24 * 90)),
                    "duration_min": 45,
                    "fixed_time": bool(i % 2),
                    "purpose": rng.choice(purposes),
                    "location": rng.choice(CITIES),
                    "status": "done" if done else "planned",
                    "outcome": rng.choice(NOTES) if done else None,
                    "owner": "rep",
                }
            )
        store.insert_many(VISIT, rows)
    titles = ["Send offer", "Call back", "Send maintenance report", "Check budget", "Book demo"]
    for base in range(0, tasks, CHUNK):
        rows = []
        for i in range(base, min(base + CHUNK, tasks)):
            rows.append(
                {
                    "title": f"{rng.choice(titles)} {i}",
                    "due_date": today + timedelta(days=rng.randrange(-60, 120)),
                    "priority": rng.choice(["low", "normal", "high"]),
                    "status": "done" if i % 2 else "open",
                    "account_id": rng.choice(account_ids),
                    "notes": rng.choice(NOTES) if i % 5 == 0 else None,
                    "owner": "rep",
                }
            )
        store.insert_many(TASK, rows)
    store.conn.execute("PRAGMA optimize")
    store.close()
    print(
        f"generated in {time.perf_counter() - start:.1f} s: {accounts} accounts, {contacts} contacts, "
        f"{opportunities} opportunities, {leads} leads, {timeline} timeline entries, {visits} visits, "
        f"{tasks} tasks",
        file=sys.stderr,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("home", type=Path)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--timeline", type=int, default=200_000)
    parser.add_argument("--opportunities", type=int, default=10_000)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--visits", type=int, default=0)
    parser.add_argument("--tasks", type=int, default=0)
    args = parser.parse_args()
    generate(
        args.home,
        args.contacts,
        args.accounts,
        args.timeline,
        args.opportunities,
        args.leads,
        args.visits,
        args.tasks,
    )


if __name__ == "__main__":
    main()
