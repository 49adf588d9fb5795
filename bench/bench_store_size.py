"""Bytes per record of the laptop store after a real first sync, against PouchDB (issue 19, item 4).

    .venv/bin/python bench/bench_store_size.py                    # 100,000 contacts, sfa and PouchDB
    .venv/bin/python bench/bench_store_size.py --records 5000 --no-pouchdb   # quick, sfa only

1. A server (SQLite, a real `sfa server run` process on 127.0.0.1) is seeded with N contacts; a new
   laptop logs in and runs `sfa sync` as a process (a real first sync); the seconds are its wall time.
2. The laptop's file is checkpointed and split by table and index with SQLite's dbstat
   (`SELECT name, SUM(pgsize) FROM dbstat GROUP BY name`); printed as bytes per record.
3. With `node` and `npm` on the PATH, PouchDB (npm, into a temporary directory) stores the same N
   documents: a source database served over HTTP by express-pouchdb in the same Node process, and
   a new local LevelDB PouchDB replicating from it, once with `batch_size: 2000` and once with the
   defaults; bytes per record are the local database directory's size after replication, as
   LevelDB left it and after a full compaction (LevelDB compacts in the background, so the first
   figure depends on timing; the second does not).
Everything temporary is removed at the end (the npm install too, unless --node-modules names a
directory to keep it in). Byte figures are deterministic; seconds depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import gen_store  # noqa: E402
from bench_sync import sfa, start_server, wait_until_up, write_seeded  # noqa: E402

from sfa.domain import ids  # noqa: E402

FIRST = ("Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hans", "Ida", "Jonas", "Karin", "Lukas")
LAST = tuple(gen_store.LAST[:10])  # the large stores' first ten surnames
TITLES = ("Purchasing manager", "CEO", "Head of IT", "Office manager", "Buyer", "Sales director")


def contact_fields(number: int) -> dict[str, Any]:
    """A contact's wire values, deterministic in its number (the same for sfa and PouchDB)."""
    first, last = FIRST[number % len(FIRST)], LAST[(number // len(FIRST)) % len(LAST)]
    return {
        "name": f"{first} {last} {number:06d}",
        "title": TITLES[number % len(TITLES)],
        "email": f"{first.lower()}.{number:06d}@example{number % 97}.de",
        "phone": f"+49 30 {1_000_000 + number}",
        "mobile": f"+49 171 {2_000_000 + number}",
        "owner": "ana",
        "team": "north",
        "tags": ["customer"] if number % 3 else ["customer", "key"],
    }


def seed_contacts(db: str, count: int) -> list[dict[str, Any]]:
    """N contacts with their change-log rows, written straight into the server database (as
    bench_sync.seed_server does for accounts); returns the documents for PouchDB."""
    clock = f"{int(time.time() * 1000):016d}:00000:5eed5eed5eed5eed"
    records, changes, docs = [], [], []
    record_ids = sorted(ids.uuid7_many(count))
    for seq, record_id in enumerate(record_ids, 1):
        values = contact_fields(seq)
        fields = json.dumps({name: [value, clock] for name, value in values.items()})
        records.append({"e": "contact", "i": record_id, "f": fields, "s": seq})
        changes.append({"s": seq, "e": "contact", "i": record_id, "f": fields})
        docs.append({"_id": record_id, "type": "contact", **values})
    write_seeded(db, records, changes, count)
    return docs


def split_by_table(path: Path) -> dict[str, int]:
    """Bytes of each table and index of an SQLite file (dbstat), after a checkpoint."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    finally:
        conn.close()
    return {str(name): int(size) for name, size in rows}


def by_table(tables: dict[str, int], count: int) -> dict[str, float]:
    """Bytes per record of each table or index holding at least 1 % of the file; the rest (mostly
    the one page each empty table and index has) summed as "other"."""
    total = sum(tables.values())
    shown = {name: round(size / count, 1) for name, size in tables.items() if size >= total / 100}
    rest = total - sum(size for size in tables.values() if size >= total / 100)
    return {**shown, f"other ({len(tables) - len(shown)} tables and indexes)": round(rest / count, 1)}


def sfa_store(tmp: Path, count: int, keep: Path | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    server_home = tmp / "server"
    db = f"sqlite:///{server_home / 'server.db'}"
    sfa(server_home, "server", "init", "--db", db)
    token = sfa(server_home, "server", "user", "add", "ana", "--team", "north", "--db", db)[1].strip()
    docs = seed_contacts(db, count)
    server, port = start_server(server_home, db)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/v1/health")
        laptop = tmp / "laptop"
        sfa(laptop, "sync", "login", f"http://127.0.0.1:{port}", "--token", token)
        seconds, out = sfa(laptop, "sync", "--json")
        pulled = json.loads(out)["pulled"]
        if pulled != count:
            raise SystemExit(f"the first sync pulled {pulled} changes, not {count}")
    finally:
        server.terminate()
        server.wait(30)
    store = laptop / "sfa.db"
    tables = split_by_table(store)
    if keep is not None:
        shutil.copyfile(store, keep)
    total = sum(tables.values())
    figures = {
        "records": count,
        "first_sync_s": round(seconds, 2),
        "file_bytes": store.stat().st_size,
        "bytes_per_record": round(total / count),
        "by_table": by_table(tables, count),
    }
    return figures, docs


POUCH_SCRIPT = r"""
// argv: docs.json, work dir, batch sizes (JSON). Prints one JSON line of figures.
const fs = require('fs');
const path = require('path');
const PouchDB = require('pouchdb');
const leveldown = require('leveldown');
const [docsFile, work, batches] = process.argv.slice(2);

function du(dir) {
  let total = 0;
  for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? du(full) : fs.statSync(full).size;
  }
  return total;
}

(async () => {
  const docs = JSON.parse(fs.readFileSync(docsFile, 'utf8'));
  const Served = PouchDB.defaults({prefix: path.join(work, 'served') + path.sep});
  fs.mkdirSync(path.join(work, 'served'));
  // express-pouchdb is its own (Express 4) app; it knows the databases created after it is made.
  const app = require('express-pouchdb')(Served, {mode: 'minimumForPouchDB', logPath: path.join(work, 'log.txt')});
  const source = new Served('contacts');
  for (let i = 0; i < docs.length; i += 5000) await source.bulkDocs(docs.slice(i, i + 5000));
  const server = await new Promise((ok) => { const s = app.listen(0, '127.0.0.1', () => ok(s)); });
  const url = `http://127.0.0.1:${server.address().port}/contacts`;
  const out = {records: docs.length, source_bytes: du(path.join(work, 'served', 'contacts'))};
  for (const batch of JSON.parse(batches)) {
    const dir = path.join(work, `laptop-${batch || 'default'}`);
    const local = new PouchDB(dir);
    const options = batch ? {batch_size: batch} : {};
    const started = process.hrtime.bigint();
    const result = await PouchDB.replicate(url, local, options);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await local.close();
    if (result.docs_written !== docs.length) throw new Error(`replicated ${result.docs_written} docs`);
    const left = du(dir);
    // What LevelDB holds depends on how far its background compaction got when the database was
    // closed; compacting the whole key range gives a figure that does not.
    const level = leveldown(dir);
    await new Promise((ok, ko) => level.open((e) => (e ? ko(e) : ok())));
    await new Promise((ok, ko) => level.compactRange(Buffer.alloc(0), Buffer.alloc(64, 0xff), (e) => (e ? ko(e) : ok())));
    await new Promise((ok, ko) => level.close((e) => (e ? ko(e) : ok())));
    out[`batch_${batch || 'default'}`] = {seconds: Math.round(seconds * 100) / 100, bytes: left, compacted_bytes: du(dir)};
  }
  server.close();
  await source.close();
  console.log(JSON.stringify(out));
  process.exit(0);
})().catch((err) => { console.error(String(err && err.stack || err)); process.exit(1); });
"""


def pouchdb(tmp: Path, docs: list[dict[str, Any]], modules: Path | None) -> dict[str, Any]:
    """PouchDB's figures for the same documents, or why there are none."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return {"skipped": "node or npm is not on the PATH"}
    home = modules or tmp / "npm"
    home.mkdir(parents=True, exist_ok=True)
    if not all(
        (home / "node_modules" / name).is_dir() for name in ("pouchdb", "express-pouchdb", "leveldown")
    ):
        (home / "package.json").write_text('{"name": "sfa-bench-pouchdb", "private": true}\n')
        install = subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "pouchdb",
                "express-pouchdb",
                "leveldown",
            ],
            cwd=home,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if install.returncode != 0:
            return {"skipped": f"npm install failed: {install.stderr.strip()[-300:]}"}
    (home / "replicate.js").write_text(POUCH_SCRIPT)
    docs_file = tmp / "docs.json"
    docs_file.write_text(json.dumps(docs))
    work = tmp / "pouch"
    work.mkdir()
    run = subprocess.run(
        [node, str(home / "replicate.js"), str(docs_file), str(work), json.dumps([2000, 0])],
        cwd=home,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if run.returncode != 0:
        return {"skipped": f"PouchDB run failed: {run.stderr.strip()[-500:]}"}
    figures: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    count = figures["records"]
    for key in ("batch_2000", "batch_default"):
        figures[key]["bytes_per_record"] = round(figures[key]["bytes"] / count)
        figures[key]["compacted_bytes_per_record"] = round(figures[key]["compacted_bytes"] / count)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--no-pouchdb", action="store_true", help="measure sfa only")
    parser.add_argument("--node-modules", type=Path, help="keep PouchDB's npm install here, for reuse")
    parser.add_argument("--keep-store", type=Path, help="copy the laptop's sfa.db here before cleaning up")
    options = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sfa-bench-store-"))
    try:
        figures, docs = sfa_store(tmp, options.records, options.keep_store)
        result: dict[str, Any] = {"sfa": figures}
        if not options.no_pouchdb:
            pouch = pouchdb(tmp, docs, options.node_modules)
            result["pouchdb"] = pouch
            if "skipped" not in pouch:
                best, default = pouch["batch_2000"], pouch["batch_default"]
                mine, seconds = figures["bytes_per_record"], figures["first_sync_s"]
                result["ratios"] = {
                    "bytes_sfa_over_pouchdb_2000": round(mine / best["bytes_per_record"], 2),
                    "bytes_sfa_over_pouchdb_default": round(mine / default["bytes_per_record"], 2),
                    "bytes_sfa_over_pouchdb_compacted": round(mine / best["compacted_bytes_per_record"], 2),
                    "sync_pouchdb_2000_over_sfa": round(best["seconds"] / seconds, 2),
                    "sync_pouchdb_default_over_sfa": round(default["seconds"] / seconds, 2),
                }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
