"""Versioned schema migrations for the local store.

Each entry is applied once, in order, inside the transaction that also records the new version in
``PRAGMA user_version``. A file whose version is newer than the last entry here is refused. Never edit a
migration that has shipped: add a new one.
"""

from __future__ import annotations

import sqlite3

_RECORD_COLUMNS = """
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    handle TEXT NOT NULL,
    clocks TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL"""

_SCOPE_COLUMNS = """
    owner TEXT,
    team TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    notes TEXT,
    deleted INTEGER NOT NULL DEFAULT 0"""

V1 = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE account ({_RECORD_COLUMNS},
    name TEXT NOT NULL, industry TEXT, phone TEXT, email TEXT, website TEXT,
    street TEXT, city TEXT, postcode TEXT, country TEXT, latitude REAL, longitude REAL,
    name_key TEXT, {_SCOPE_COLUMNS});
CREATE INDEX account_handle ON account(handle);
CREATE INDEX account_name ON account(name COLLATE NOCASE);
CREATE INDEX account_name_key ON account(name_key);

CREATE TABLE contact ({_RECORD_COLUMNS},
    name TEXT NOT NULL, title TEXT, email TEXT, phone TEXT, mobile TEXT,
    account_id TEXT REFERENCES account(id) DEFERRABLE INITIALLY DEFERRED,
    email_key TEXT, phone_key TEXT, mobile_key TEXT, name_key TEXT, {_SCOPE_COLUMNS});
CREATE INDEX contact_handle ON contact(handle);
CREATE INDEX contact_name ON contact(name COLLATE NOCASE);
CREATE INDEX contact_account ON contact(account_id);
CREATE INDEX contact_email_key ON contact(email_key);
CREATE INDEX contact_phone_key ON contact(phone_key);
CREATE INDEX contact_mobile_key ON contact(mobile_key);
CREATE INDEX contact_name_key ON contact(name_key);

CREATE TABLE lead ({_RECORD_COLUMNS},
    name TEXT NOT NULL, company TEXT, email TEXT, phone TEXT, source TEXT,
    status TEXT NOT NULL DEFAULT 'new', rating TEXT, disqualify_reason TEXT,
    account_id TEXT REFERENCES account(id) DEFERRABLE INITIALLY DEFERRED,
    contact_id TEXT REFERENCES contact(id) DEFERRABLE INITIALLY DEFERRED,
    opportunity_id TEXT REFERENCES opportunity(id) DEFERRABLE INITIALLY DEFERRED,
    email_key TEXT, phone_key TEXT, mobile_key TEXT, name_key TEXT, {_SCOPE_COLUMNS});
CREATE INDEX lead_handle ON lead(handle);
CREATE INDEX lead_status ON lead(status);
CREATE INDEX lead_email_key ON lead(email_key);
CREATE INDEX lead_phone_key ON lead(phone_key);
CREATE INDEX lead_name_key ON lead(name_key);

CREATE TABLE opportunity ({_RECORD_COLUMNS},
    name TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES account(id) DEFERRABLE INITIALLY DEFERRED,
    contact_id TEXT REFERENCES contact(id) DEFERRABLE INITIALLY DEFERRED,
    amount TEXT, currency TEXT, stage TEXT NOT NULL, probability INTEGER,
    close_date TEXT, next_step TEXT, lost_reason TEXT, {_SCOPE_COLUMNS});
CREATE INDEX opportunity_handle ON opportunity(handle);
CREATE INDEX opportunity_account ON opportunity(account_id);
CREATE INDEX opportunity_stage ON opportunity(stage, close_date);

CREATE TABLE timeline ({_RECORD_COLUMNS},
    record_entity TEXT NOT NULL, record_id TEXT NOT NULL, account_id TEXT,
    kind TEXT NOT NULL, text TEXT NOT NULL, at TEXT NOT NULL, owner TEXT);
CREATE INDEX timeline_handle ON timeline(handle);
CREATE INDEX timeline_record ON timeline(record_id, at);
CREATE INDEX timeline_account ON timeline(account_id, at);

-- Every local write, in order, waiting to be pushed: {{field: [value, clock]}}.
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    fields TEXT NOT NULL,
    created_at TEXT NOT NULL);

-- Every overwritten value: nothing a person wrote is lost.
CREATE TABLE history (
    id INTEGER PRIMARY KEY,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    field TEXT NOT NULL,
    old_value TEXT,
    old_clock TEXT,
    new_value TEXT,
    new_clock TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT 'local',
    changed_at TEXT NOT NULL);
CREATE INDEX history_record ON history(record_id, id);

-- rowid = record rid * 16 + entity code, so a record's entry is found without a scan.
CREATE VIRTUAL TABLE search_fts USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2');
"""

# Visits, follow-up tasks, the price list and quotes.
V2 = f"""
CREATE TABLE visit ({_RECORD_COLUMNS},
    account_id TEXT NOT NULL REFERENCES account(id) DEFERRABLE INITIALLY DEFERRED,
    contact_ids TEXT NOT NULL DEFAULT '[]', starts_at TEXT NOT NULL, duration_min INTEGER,
    fixed_time INTEGER NOT NULL DEFAULT 0, purpose TEXT, location TEXT, latitude REAL,
    longitude REAL, status TEXT NOT NULL DEFAULT 'planned', outcome TEXT, report TEXT,
    cancel_reason TEXT, {_SCOPE_COLUMNS});
CREATE INDEX visit_handle ON visit(handle);
CREATE INDEX visit_starts ON visit(starts_at);
CREATE INDEX visit_account ON visit(account_id, starts_at);

CREATE TABLE task ({_RECORD_COLUMNS},
    title TEXT NOT NULL, due_date TEXT, due_at TEXT, remind_at TEXT,
    priority TEXT NOT NULL DEFAULT 'normal', status TEXT NOT NULL DEFAULT 'open', done_at TEXT,
    account_id TEXT REFERENCES account(id) DEFERRABLE INITIALLY DEFERRED,
    contact_id TEXT REFERENCES contact(id) DEFERRABLE INITIALLY DEFERRED,
    lead_id TEXT REFERENCES lead(id) DEFERRABLE INITIALLY DEFERRED,
    opportunity_id TEXT REFERENCES opportunity(id) DEFERRABLE INITIALLY DEFERRED,
    visit_id TEXT REFERENCES visit(id) DEFERRABLE INITIALLY DEFERRED,
    {_SCOPE_COLUMNS});
CREATE INDEX task_handle ON task(handle);
CREATE INDEX task_open_due ON task(status, due_date);
CREATE INDEX task_account ON task(account_id);
CREATE INDEX task_visit ON task(visit_id);

CREATE TABLE product ({_RECORD_COLUMNS},
    sku TEXT NOT NULL, name TEXT NOT NULL, description TEXT, unit_price TEXT NOT NULL,
    currency TEXT, tax_rate TEXT, active INTEGER NOT NULL DEFAULT 1,
    deleted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX product_handle ON product(handle);
CREATE INDEX product_sku ON product(sku);

CREATE TABLE quote ({_RECORD_COLUMNS},
    number TEXT NOT NULL, revision INTEGER NOT NULL DEFAULT 1,
    previous_id TEXT REFERENCES quote(id) DEFERRABLE INITIALLY DEFERRED,
    account_id TEXT NOT NULL REFERENCES account(id) DEFERRABLE INITIALLY DEFERRED,
    opportunity_id TEXT REFERENCES opportunity(id) DEFERRABLE INITIALLY DEFERRED,
    contact_id TEXT REFERENCES contact(id) DEFERRABLE INITIALLY DEFERRED,
    currency TEXT, valid_until TEXT, status TEXT NOT NULL DEFAULT 'draft', terms TEXT,
    sent_at TEXT, decided_at TEXT, reject_reason TEXT, {_SCOPE_COLUMNS});
CREATE INDEX quote_handle ON quote(handle);
CREATE INDEX quote_number ON quote(number, revision);
CREATE INDEX quote_status ON quote(status, valid_until);
CREATE INDEX quote_account ON quote(account_id);
CREATE INDEX quote_opportunity ON quote(opportunity_id);

CREATE TABLE quote_line ({_RECORD_COLUMNS},
    quote_id TEXT NOT NULL REFERENCES quote(id) DEFERRABLE INITIALLY DEFERRED,
    position INTEGER NOT NULL,
    product_id TEXT REFERENCES product(id) DEFERRABLE INITIALLY DEFERRED,
    sku TEXT, description TEXT NOT NULL, quantity TEXT NOT NULL, unit_price TEXT NOT NULL,
    discount_percent TEXT, discount_amount TEXT, tax_rate TEXT,
    deleted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX quote_line_handle ON quote_line(handle);
CREATE INDEX quote_line_quote ON quote_line(quote_id, position);
"""

# Reports: pipeline, forecast and win-loss group every opportunity by these columns; a covering
# index lets SQLite read the index alone instead of every (wide) row: 90 ms -> 10 ms at 20,000 deals.
V3 = """
CREATE INDEX opportunity_report ON opportunity(stage, currency, probability, close_date, lost_reason,
    amount, deleted);
"""

# Sync bookkeeping: conflicts pulled from the server, mutations it rejected, base-clock lookups.
V4 = """
CREATE TABLE sync_conflict (
    id TEXT PRIMARY KEY,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    field TEXT NOT NULL,
    kind TEXT NOT NULL,
    kept TEXT,
    kept_clock TEXT,
    lost TEXT,
    lost_clock TEXT,
    lost_by TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    resolution TEXT,
    at TEXT,
    clocks TEXT NOT NULL DEFAULT '{}');
CREATE INDEX sync_conflict_status ON sync_conflict(status, at);
CREATE INDEX sync_conflict_record ON sync_conflict(record_id);

CREATE TABLE sync_rejected (
    seq INTEGER PRIMARY KEY,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    fields TEXT NOT NULL,
    reason TEXT NOT NULL,
    rejected_at TEXT NOT NULL);

CREATE INDEX history_clock ON history(record_id, new_clock);
"""


# No new tables: from here on, clocks and outbox entries may be in the compact form (sfa.store.codec),
# which an older sfa would misread, so it must refuse the file as newer than itself.
V5 = """
INSERT OR REPLACE INTO meta(key, value) VALUES ('clock_encoding', 'compact');
"""


def _drop_trunk_zero(table: str, phone: str, key: str) -> str:
    """Stored phone keys as normalize.phone_key now makes them: the "(0)" after a country code
    dropped. `before` counts the digits in front of the "(0)"; the key's zero sits right after them
    (after the "+", or in place of the "00")."""
    head = f"substr({phone}, 1, instr({phone}, '(0)') - 1)"
    for char in "+ ().-/":
        head = f"replace({head}, '{char}', '')"
    before = f"length({head})"
    return f"""
UPDATE {table} SET {key} = substr({key}, 1, 1 + {before}) || substr({key}, 3 + {before})
WHERE {phone} LIKE '+%(0)%' AND {before} > 0 AND substr({key}, 2 + {before}, 1) = '0';
UPDATE {table} SET {key} = substr({key}, 1, {before} - 1) || substr({key}, {before} + 1)
WHERE {phone} LIKE '00%(0)%' AND {before} > 2 AND substr({key}, {before}, 1) = '0';
"""


# "+49 (0)89 123456" and "+49 89 123456" are one number: keys written before this dropped no zero.
V6 = "".join(
    _drop_trunk_zero(*columns)
    for columns in (
        ("contact", "phone", "phone_key"),
        ("contact", "mobile", "mobile_key"),
        ("lead", "phone", "phone_key"),
    )
)

# The sales policy and the manager's desk (issue 14, docs/policy.md): approvals, the synced sales
# policy, price lists. New tables only (IF NOT EXISTS: another branch may declare `approval` the same
# way), so the migration's number may change at a merge.
V7 = f"""
CREATE TABLE IF NOT EXISTS approval ({_RECORD_COLUMNS},
    entity TEXT NOT NULL, record_id TEXT NOT NULL, action TEXT NOT NULL, by TEXT NOT NULL,
    at TEXT NOT NULL, comment TEXT, {_SCOPE_COLUMNS});
CREATE INDEX IF NOT EXISTS approval_handle ON approval(handle);
CREATE INDEX IF NOT EXISTS approval_record ON approval(record_id, at);

CREATE TABLE policy ({_RECORD_COLUMNS},
    name TEXT NOT NULL, stages TEXT NOT NULL, strict INTEGER NOT NULL DEFAULT 0,
    line_discount_limit TEXT, quote_discount_limit TEXT, {_SCOPE_COLUMNS});
CREATE INDEX policy_handle ON policy(handle);

CREATE TABLE price_list ({_RECORD_COLUMNS},
    name TEXT NOT NULL, currency TEXT, customer_group TEXT, active INTEGER NOT NULL DEFAULT 1,
    {_SCOPE_COLUMNS});
CREATE INDEX price_list_handle ON price_list(handle);

CREATE TABLE price_list_item ({_RECORD_COLUMNS},
    price_list_id TEXT NOT NULL REFERENCES price_list(id) DEFERRABLE INITIALLY DEFERRED,
    product_id TEXT NOT NULL REFERENCES product(id) DEFERRABLE INITIALLY DEFERRED,
    min_quantity TEXT, unit_price TEXT NOT NULL, {_SCOPE_COLUMNS});
CREATE INDEX price_list_item_handle ON price_list_item(handle);
CREATE INDEX price_list_item_product ON price_list_item(product_id, price_list_id);
"""

# Targets and reviews (issue 14 §4).
V8 = f"""
CREATE TABLE target ({_RECORD_COLUMNS},
    period TEXT NOT NULL, metric TEXT NOT NULL, value TEXT NOT NULL, stretch TEXT, currency TEXT,
    segment TEXT, {_SCOPE_COLUMNS});
CREATE INDEX target_handle ON target(handle);
CREATE INDEX target_period ON target(period, metric);

CREATE TABLE review ({_RECORD_COLUMNS},
    rep TEXT NOT NULL, period TEXT NOT NULL, reviewer TEXT NOT NULL, scores TEXT, strengths TEXT,
    improvements TEXT, goals TEXT, status TEXT NOT NULL DEFAULT 'draft', {_SCOPE_COLUMNS});
CREATE INDEX review_handle ON review(handle);
CREATE INDEX review_rep ON review(rep, period);
"""

# Playbooks: the steps of each stage (issue 14 §2).
V9 = f"""
CREATE TABLE playbook ({_RECORD_COLUMNS},
    stage TEXT NOT NULL, title TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'task', due_days INTEGER,
    required INTEGER NOT NULL DEFAULT 0, {_SCOPE_COLUMNS});
CREATE INDEX playbook_handle ON playbook(handle);
CREATE INDEX playbook_stage ON playbook(stage);
"""

# Territories (issue 14 §5).
V10 = f"""
CREATE TABLE territory ({_RECORD_COLUMNS},
    name TEXT NOT NULL, parent TEXT, manager TEXT, rules TEXT, priority INTEGER, members TEXT,
    {_SCOPE_COLUMNS});
CREATE INDEX territory_handle ON territory(handle);
CREATE INDEX territory_name ON territory(name);
"""

MIGRATIONS: tuple[str, ...] = (V1, V2, V3, V4, V5, V6, V7, V8, V9, V10)

LATEST = len(MIGRATIONS)


def execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run a migration statement by statement inside the caller's transaction.

    (``executescript`` would commit the open transaction first, breaking all-or-nothing upgrades.)
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete statement in migration: {statement[:60]!r}")
