"""Versioned schema migrations for the local store.

Each entry is applied once, in order, inside the transaction that also records the new version in
``schema_version``. A file whose version is newer than the last entry here is refused. Never edit a
migration that has shipped: add a new one.
"""

from __future__ import annotations

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

MIGRATIONS: tuple[str, ...] = (V1,)

LATEST = len(MIGRATIONS)
