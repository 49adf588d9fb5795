"""Interop figures: a 100,000-row contacts CSV in, 50,000 visits and tasks out to .ics.

    .venv/bin/python bench/bench_interop.py [--rows 100000] [--items 50000]

Targets (issue 6): import >= 20,000 rows/s with duplicate checking and change capture on (every row
goes through the store: field clocks, outbox, search index); .ics export of 50,000 items <= 5 s.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sfa.domain.entities import ACCOUNT, CONTACT, TASK, VISIT
from sfa.services.interop.csv_import import import_csv
from sfa.services.interop.ics import export_ics
from sfa.services.workspace import Workspace

FIRST = ["Hans", "Anna", "Jürgen", "Claire", "Tom", "Eva", "Kenji", "Maria", "Luca", "Sofia", "Ole", "Ines"]
LAST = ["Müller", "Schmidt", "Dubois", "Baker", "van der Berg", "Rossi", "Nakamura", "García", "Nowak"]
TITLES = ["Buyer", "Head of Purchasing", "CTO", "Plant Manager", "Einkaufsleiter", ""]


def write_csv(path: Path, rows: int, companies: int) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write(
            "First Name;Last Name;Job Title;Company;E-mail Address;Business Phone;Mobile Phone;Notes\r\n"
        )
        for i in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            company = f"Company {i % companies} GmbH"
            notes = '"Met at the fair; ""hot"" lead"' if i % 10 == 0 else ""
            out.write(
                f"{first};{last} {i};{rng.choice(TITLES)};{company};{first.lower()}.{i}@example.com;"
                f"+49 30 {1000000 + i};+49 171 {2000000 + i};{notes}\r\n"
            )


def bench_import(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.csv"
        write_csv(path, rows, companies=max(1, rows // 20))
        ws = Workspace(Path(tmp) / "home")
        try:
            ws.store  # noqa: B018 - open (and migrate) outside the timing
            started, cpu = time.perf_counter(), time.process_time()
            summary = import_csv(ws, path, "contact")
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            assert summary.created == rows and not summary.rejected, summary.as_dict()["rejected_rows"][:3]
            outbox = ws.store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
            print(f"import csv: {rows} rows, {summary.accounts_created} accounts created, "
                  f"{elapsed:.2f} s, {rows / elapsed:,.0f} rows/s; CPU {cpu:.2f} s, {rows / cpu:,.0f} rows/s "
                  f"(outbox {outbox} entries)")  # fmt: skip
            started = time.perf_counter()
            again = import_csv(ws, path, "contact")
            elapsed = time.perf_counter() - started
            assert again.created == 0 and len(again.skipped) == rows
            print(
                f"re-import (all {rows} skipped as duplicates): {elapsed:.2f} s, {rows / elapsed:,.0f} rows/s"
            )
            assert ws.store.count(CONTACT) == rows
        finally:
            ws.close()


def bench_ics(items: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "home")
        try:
            store = ws.store
            accounts = store.insert_many(ACCOUNT, [
                {"name": f"Company {i}", "street": f"Hauptstraße {i}", "city": "Berlin", "postcode": "10115"}
                for i in range(500)
            ])  # fmt: skip
            contacts = store.insert_many(CONTACT, [
                {"name": f"Person {i}", "title": "Buyer", "account_id": accounts[i % 500]["id"]}
                for i in range(1000)
            ])  # fmt: skip
            start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
            visits = [{
                "account_id": accounts[i % 500]["id"], "contact_ids": [contacts[i % 1000]["id"]],
                "starts_at": start + timedelta(hours=2 * i), "duration_min": 60, "status": "planned",
                "purpose": f"Quarterly review {i}, new pump line", "notes": "Bring the catalogue",
            } for i in range(items // 2)]  # fmt: skip
            tasks = [{
                "title": f"Follow up {i}", "due_date": date(2026, 1, 5) + timedelta(days=i % 300),
                "priority": "normal", "status": "open", "account_id": accounts[i % 500]["id"],
            } for i in range(items - items // 2)]  # fmt: skip
            with store.transaction():
                store.insert_many(VISIT, visits)
                store.insert_many(TASK, tasks)
            started, cpu = time.perf_counter(), time.process_time()
            text, n_visits, n_tasks = export_ics(ws)
            (Path(tmp) / "out.ics").write_text(text, encoding="utf-8")
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(
                f"export ics: {n_visits} visits + {n_tasks} tasks, {len(text) / 1e6:.1f} MB, "
                f"{elapsed:.2f} s (CPU {cpu:.2f} s)"
            )
        finally:
            ws.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=50_000)
    args = parser.parse_args()
    bench_import(args.rows)
    bench_ics(args.items)


if __name__ == "__main__":
    main()
