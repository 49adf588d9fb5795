"""Versioned schema migrations for the local store.

Each entry is applied once, in order, inside the transaction that also records the new version in
``PRAGMA user_version``. A file whose version is newer than the last entry here is refused. Never edit a
migration that has shipped: add a new one.
"""

from __future__ import annotations

import sqlite3

from sfa.store.clocks import TABLE_SQL
from sfa.store.keys import generated_keys_migration
from sfa.store.writes import RESLOT_FTS_16_TO_64, SEARCH_FTS_CONTENTLESS, SEARCH_FTS_DETAIL_COLUMN

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

-- rowid = record rid * 16 + entity code, so a record's entry is found without a scan (64: V_FTS_SLOTS).
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

# The product configurator (issue 17): options and rules per product, and the configuration a quote
# line was priced with. Self-contained (new tables, one added column): renumbering it is harmless.
V_CONFIGURATOR = f"""
CREATE TABLE product_option ({_RECORD_COLUMNS},
    product_id TEXT NOT NULL REFERENCES product(id) DEFERRABLE INITIALLY DEFERRED,
    attribute TEXT NOT NULL, value TEXT NOT NULL, extra TEXT, sku_suffix TEXT,
    is_default INTEGER NOT NULL DEFAULT 0, required INTEGER NOT NULL DEFAULT 0,
    multiple INTEGER NOT NULL DEFAULT 0, position INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX product_option_handle ON product_option(handle);
CREATE INDEX product_option_product ON product_option(product_id, position);

CREATE TABLE option_rule ({_RECORD_COLUMNS},
    product_id TEXT NOT NULL REFERENCES product(id) DEFERRABLE INITIALLY DEFERRED,
    when_options TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, message TEXT,
    position INTEGER, deleted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX option_rule_handle ON option_rule(handle);
CREATE INDEX option_rule_product ON option_rule(product_id, position);

ALTER TABLE quote_line ADD COLUMN configuration TEXT;
"""

# Duplicate merge (issue 17): the merged-away record points at its survivor; what each merge changed,
# so `sfa unmerge` can undo it (local only, like history). Renumbering is harmless.
V_MERGE = """
ALTER TABLE account ADD COLUMN merged_into TEXT;
ALTER TABLE contact ADD COLUMN merged_into TEXT;
ALTER TABLE lead ADD COLUMN merged_into TEXT;
CREATE INDEX account_merged ON account(merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX contact_merged ON contact(merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX lead_merged ON lead(merged_into) WHERE merged_into IS NOT NULL;
CREATE TABLE merge_log (
    id INTEGER PRIMARY KEY,
    entity TEXT NOT NULL,
    keep_id TEXT NOT NULL,
    other_id TEXT NOT NULL,
    undo TEXT NOT NULL,
    at TEXT NOT NULL,
    undone_at TEXT);
CREATE INDEX merge_log_other ON merge_log(other_id);
"""

# The product encyclopedia (issue 17): product fields and one row per spec. Renumbering is harmless.
V_ENCYCLOPEDIA = f"""
ALTER TABLE product ADD COLUMN model_number TEXT;
ALTER TABLE product ADD COLUMN family TEXT;
ALTER TABLE product ADD COLUMN unit TEXT;
ALTER TABLE product ADD COLUMN successor_id TEXT;
ALTER TABLE product ADD COLUMN accessories TEXT NOT NULL DEFAULT '[]';
ALTER TABLE product ADD COLUMN alternatives TEXT NOT NULL DEFAULT '[]';
ALTER TABLE product ADD COLUMN image TEXT;
ALTER TABLE product ADD COLUMN datasheet TEXT;
CREATE TABLE product_spec ({_RECORD_COLUMNS},
    product_id TEXT NOT NULL REFERENCES product(id) DEFERRABLE INITIALLY DEFERRED,
    name TEXT NOT NULL, value TEXT NOT NULL, unit TEXT, position INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX product_spec_handle ON product_spec(handle);
CREATE INDEX product_spec_product ON product_spec(product_id, position);
"""

# Events and campaigns (issue 17). Renumbering is harmless.
V_CAMPAIGNS = f"""
CREATE TABLE campaign ({_RECORD_COLUMNS},
    name TEXT NOT NULL, kind TEXT NOT NULL, starts_on TEXT NOT NULL, ends_on TEXT, venue TEXT,
    booth TEXT, url TEXT, budget TEXT, actual_cost TEXT, currency TEXT,
    status TEXT NOT NULL DEFAULT 'planned', goals TEXT, report TEXT, {_SCOPE_COLUMNS});
CREATE INDEX campaign_handle ON campaign(handle);
CREATE INDEX campaign_starts ON campaign(starts_on);

CREATE TABLE campaign_member ({_RECORD_COLUMNS},
    campaign_id TEXT NOT NULL REFERENCES campaign(id) DEFERRABLE INITIALLY DEFERRED,
    contact_id TEXT REFERENCES contact(id) DEFERRABLE INITIALLY DEFERRED,
    lead_id TEXT REFERENCES lead(id) DEFERRABLE INITIALLY DEFERRED,
    status TEXT NOT NULL, responded INTEGER NOT NULL DEFAULT 0, captured_at TEXT, {_SCOPE_COLUMNS});
CREATE INDEX campaign_member_handle ON campaign_member(handle);
CREATE INDEX campaign_member_campaign ON campaign_member(campaign_id);
CREATE INDEX campaign_member_contact ON campaign_member(contact_id);
CREATE INDEX campaign_member_lead ON campaign_member(lead_id);

ALTER TABLE lead ADD COLUMN campaign_id TEXT;
ALTER TABLE opportunity ADD COLUMN campaign_id TEXT;
CREATE INDEX lead_campaign ON lead(campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX opportunity_campaign ON opportunity(campaign_id) WHERE campaign_id IS NOT NULL;
"""

# Room for 64 record types in the search index (rowid = rid * 64 + entity code; it was 16, which
# the record types of orders, contracts, documents, policy and products outgrew).
V_FTS_SLOTS = RESLOT_FTS_16_TO_64

# Orders (issue 15): the order a won quote becomes, and its lines. The ERP writes erp_* and the
# delivered and invoiced quantities through the server.
V_ORDERS = f"""
CREATE TABLE IF NOT EXISTS sales_order ({_RECORD_COLUMNS},
    number TEXT NOT NULL,
    quote_id TEXT REFERENCES quote(id) DEFERRABLE INITIALLY DEFERRED,
    contract_id TEXT,
    account_id TEXT NOT NULL REFERENCES account(id) DEFERRABLE INITIALLY DEFERRED,
    opportunity_id TEXT REFERENCES opportunity(id) DEFERRABLE INITIALLY DEFERRED,
    contact_id TEXT REFERENCES contact(id) DEFERRABLE INITIALLY DEFERRED,
    currency TEXT, customer_po TEXT, requested_date TEXT, ship_to TEXT, bill_to TEXT,
    payment_terms TEXT, status TEXT NOT NULL DEFAULT 'draft', submitted_at TEXT,
    accepted_differences INTEGER NOT NULL DEFAULT 0, cancelled_at TEXT, cancel_reason TEXT,
    erp_ref TEXT, erp_message TEXT, erp_at TEXT, {_SCOPE_COLUMNS});
CREATE INDEX IF NOT EXISTS sales_order_handle ON sales_order(handle);
CREATE INDEX IF NOT EXISTS sales_order_number ON sales_order(number);
CREATE INDEX IF NOT EXISTS sales_order_status ON sales_order(status, submitted_at);
CREATE INDEX IF NOT EXISTS sales_order_account ON sales_order(account_id);
CREATE INDEX IF NOT EXISTS sales_order_quote ON sales_order(quote_id);

CREATE TABLE IF NOT EXISTS order_line ({_RECORD_COLUMNS},
    order_id TEXT NOT NULL REFERENCES sales_order(id) DEFERRABLE INITIALLY DEFERRED,
    position INTEGER NOT NULL,
    quote_line_id TEXT REFERENCES quote_line(id) DEFERRABLE INITIALLY DEFERRED,
    product_id TEXT REFERENCES product(id) DEFERRABLE INITIALLY DEFERRED,
    sku TEXT, description TEXT NOT NULL, quantity TEXT NOT NULL, unit_price TEXT NOT NULL,
    discount_percent TEXT, discount_amount TEXT, tax_rate TEXT,
    delivered_quantity TEXT, invoiced_quantity TEXT,
    deleted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS order_line_handle ON order_line(handle);
CREATE INDEX IF NOT EXISTS order_line_order ON order_line(order_id, position);
"""

# Contracts and the approval record (issue 15 §2; the approval record is issue 14's too: IF NOT EXISTS,
# so whichever branch lands first makes it). "by" is quoted: it is an SQL keyword.
V_CONTRACTS = f"""
CREATE TABLE IF NOT EXISTS approval ({_RECORD_COLUMNS},
    entity TEXT NOT NULL, record_id TEXT NOT NULL, action TEXT NOT NULL, "by" TEXT NOT NULL,
    at TEXT NOT NULL, comment TEXT, {_SCOPE_COLUMNS});
CREATE INDEX IF NOT EXISTS approval_handle ON approval(handle);
CREATE INDEX IF NOT EXISTS approval_record ON approval(record_id, at);

CREATE TABLE IF NOT EXISTS contract ({_RECORD_COLUMNS},
    number TEXT NOT NULL, revision INTEGER NOT NULL DEFAULT 1,
    previous_id TEXT REFERENCES contract(id) DEFERRABLE INITIALLY DEFERRED,
    renewal_of TEXT REFERENCES contract(id) DEFERRABLE INITIALLY DEFERRED,
    renewed_by TEXT REFERENCES contract(id) DEFERRABLE INITIALLY DEFERRED,
    account_id TEXT NOT NULL REFERENCES account(id) DEFERRABLE INITIALLY DEFERRED,
    opportunity_id TEXT REFERENCES opportunity(id) DEFERRABLE INITIALLY DEFERRED,
    quote_id TEXT REFERENCES quote(id) DEFERRABLE INITIALLY DEFERRED,
    contact_id TEXT REFERENCES contact(id) DEFERRABLE INITIALLY DEFERRED,
    title TEXT NOT NULL, start_date TEXT NOT NULL, term_months INTEGER, end_date TEXT,
    auto_renew INTEGER NOT NULL DEFAULT 0, notice_days INTEGER, renewal_lead_days INTEGER,
    value TEXT, currency TEXT, billing TEXT, terms TEXT, status TEXT NOT NULL DEFAULT 'draft',
    reject_reason TEXT, customer_signed_by TEXT, customer_signed_on TEXT, company_signed_by TEXT,
    activated_by TEXT, activated_at TEXT, terminated_on TEXT, termination_reason TEXT,
    {_SCOPE_COLUMNS});
CREATE INDEX IF NOT EXISTS contract_handle ON contract(handle);
CREATE INDEX IF NOT EXISTS contract_number ON contract(number, revision);
CREATE INDEX IF NOT EXISTS contract_status_end ON contract(status, end_date);
CREATE INDEX IF NOT EXISTS contract_account ON contract(account_id);
CREATE INDEX IF NOT EXISTS contract_renewal_of ON contract(renewal_of);

CREATE TABLE IF NOT EXISTS contract_line ({_RECORD_COLUMNS},
    contract_id TEXT NOT NULL REFERENCES contract(id) DEFERRABLE INITIALLY DEFERRED,
    position INTEGER NOT NULL,
    product_id TEXT REFERENCES product(id) DEFERRABLE INITIALLY DEFERRED,
    sku TEXT, description TEXT NOT NULL, quantity TEXT NOT NULL, unit_price TEXT NOT NULL,
    discount_percent TEXT, discount_amount TEXT, tax_rate TEXT,
    deleted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS contract_line_handle ON contract_line(handle);
CREATE INDEX IF NOT EXISTS contract_line_contract ON contract_line(contract_id, position);
"""

# Documents (issue 15 §3): metadata here, the content in the blob store under the data home.
V_DOCUMENTS = f"""
CREATE TABLE IF NOT EXISTS document ({_RECORD_COLUMNS},
    title TEXT NOT NULL, kind TEXT, filename TEXT NOT NULL, media_type TEXT, size INTEGER NOT NULL,
    sha256 TEXT NOT NULL, record_entity TEXT NOT NULL, record_id TEXT NOT NULL,
    account_id TEXT REFERENCES account(id) DEFERRABLE INITIALLY DEFERRED,
    language TEXT, valid_until TEXT, version INTEGER NOT NULL DEFAULT 1,
    previous_id TEXT REFERENCES document(id) DEFERRABLE INITIALLY DEFERRED, {_SCOPE_COLUMNS});
CREATE INDEX IF NOT EXISTS document_handle ON document(handle);
CREATE INDEX IF NOT EXISTS document_record ON document(record_id);
CREATE INDEX IF NOT EXISTS document_sha ON document(sha256);
CREATE INDEX IF NOT EXISTS document_account ON document(account_id);

-- Blobs this laptop has sent to the server (a blob is uploaded once, whatever refers to it).
CREATE TABLE IF NOT EXISTS blob_sent (sha256 TEXT PRIMARY KEY, at TEXT NOT NULL);
"""

# A configured product's options travel from the quote line into order and contract lines.
V_LINE_CONFIGURATION = """
ALTER TABLE order_line ADD COLUMN configuration TEXT;
ALTER TABLE contract_line ADD COLUMN configuration TEXT;
"""

# Pulled values this laptop could not store, set aside with the reason (sfa/store/quarantine.py).
# `field` is NULL when the whole change was set aside.
V7_QUARANTINE = """
CREATE TABLE IF NOT EXISTS sync_quarantine (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    field TEXT,
    value TEXT,
    clock TEXT,
    reason TEXT NOT NULL,
    at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sync_quarantine_record ON sync_quarantine(record_id, field);
"""

# After a server restore (docs/sync-protocol.md, "Restore"): an outbox entry may carry the base
# clocks it was queued with (a re-send of what the server lost), and the server's clocks seen while
# re-pulling everything are kept per record until the re-sends are queued.
V8_RESEND = """
ALTER TABLE outbox ADD COLUMN base TEXT;
CREATE TABLE IF NOT EXISTS sync_reconcile (
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    clocks TEXT NOT NULL,
    PRIMARY KEY (entity, record_id));
"""

_NEW_ID = (
    "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-8'"
    " || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))"
)
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


def _value_at(field: str, entry: str) -> str:
    """SQL: an opportunity's ``field`` as it stood at history entry ``entry`` (after it): the newest
    value written up to it, else the oldest value overwritten after it, else today's column."""
    return f"""coalesce(
        (SELECT json_extract(v.new_value, '$') FROM history v WHERE v.record_id = o.id
            AND v.entity = 'opportunity' AND v.field = '{field}' AND v.id <= {entry}
            ORDER BY v.id DESC LIMIT 1),
        (SELECT json_extract(v.old_value, '$') FROM history v WHERE v.record_id = o.id
            AND v.entity = 'opportunity' AND v.field = '{field}' AND v.id > {entry}
            ORDER BY v.id LIMIT 1),
        o.{field})"""


# Stage changes (docs/prediction.md): insert-only, one row per stage move, per opening, and per move of
# the close date or amount (from_stage = to_stage). Deals moved before this version get theirs from
# the timeline (the opening) and the history table (every later stage, close-date and amount change);
# those rows are this replica's own and are not pushed (every replica fills its own from its history).
V_STAGE_CHANGE = f"""
CREATE TABLE stage_change ({_RECORD_COLUMNS},
    opportunity_id TEXT NOT NULL REFERENCES opportunity(id) DEFERRABLE INITIALLY DEFERRED,
    from_stage TEXT, to_stage TEXT NOT NULL, at TEXT NOT NULL, amount TEXT, currency TEXT,
    close_date TEXT, owner TEXT);
CREATE INDEX stage_change_handle ON stage_change(handle);
CREATE INDEX stage_change_opportunity ON stage_change(opportunity_id, at);

INSERT INTO stage_change (id, handle, created_at, updated_at, opportunity_id, from_stage, to_stage, at,
    amount, currency, close_date, owner)
SELECT {_NEW_ID}, '', {_NOW}, {_NOW}, o.id, NULL, {_value_at("stage", "0")},
    coalesce((SELECT min(t.at) FROM timeline t WHERE t.record_id = o.id AND t.kind = 'stage'), o.created_at),
    {_value_at("amount", "0")}, o.currency, {_value_at("close_date", "0")}, o.owner
FROM opportunity o;

INSERT INTO stage_change (id, handle, created_at, updated_at, opportunity_id, from_stage, to_stage, at,
    amount, currency, close_date, owner)
SELECT {_NEW_ID}, '', {_NOW}, {_NOW}, o.id,
    CASE WHEN h.field = 'stage' THEN json_extract(h.old_value, '$') ELSE {_value_at("stage", "h.id")} END,
    {_value_at("stage", "h.id")}, h.changed_at,
    {_value_at("amount", "h.id")}, o.currency, {_value_at("close_date", "h.id")}, o.owner
FROM history h JOIN opportunity o ON o.id = h.record_id
WHERE h.entity = 'opportunity' AND h.field IN ('stage', 'close_date', 'amount')
ORDER BY h.id;

UPDATE stage_change SET handle = substr(id, 25) WHERE handle = '';
"""

# Forecast adjustments (insert-only) and weekly snapshots (one id per subject, period and week).
V_FORECAST_RECORDS = f"""
CREATE TABLE forecast_adjustment ({_RECORD_COLUMNS},
    period TEXT NOT NULL, subject_kind TEXT NOT NULL, subject TEXT NOT NULL, category TEXT NOT NULL,
    amount TEXT NOT NULL, currency TEXT, note TEXT, at TEXT NOT NULL, owner TEXT, team TEXT);
CREATE INDEX forecast_adjustment_handle ON forecast_adjustment(handle);
CREATE INDEX forecast_adjustment_period ON forecast_adjustment(period, subject_kind, subject);

CREATE TABLE forecast_snapshot ({_RECORD_COLUMNS},
    period TEXT NOT NULL, subject_kind TEXT NOT NULL, subject TEXT NOT NULL, week TEXT NOT NULL,
    taken_at TEXT NOT NULL, currency TEXT, open_count INTEGER, pipeline TEXT, weighted TEXT,
    commit_amount TEXT, best_case TEXT, won TEXT, owner TEXT, team TEXT);
CREATE INDEX forecast_snapshot_handle ON forecast_snapshot(handle);
CREATE INDEX forecast_snapshot_period ON forecast_snapshot(period, subject_kind, subject, week);
"""

# The sales policy and the manager's desk (issue 14, docs/policy.md): approvals, the synced sales
# policy, price lists. New tables only (IF NOT EXISTS: another branch may declare `approval` the same
# way), so the migration's number may change at a merge.
V_POLICY = f"""
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
V_POLICY_2 = f"""
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
V_POLICY_3 = f"""
CREATE TABLE playbook ({_RECORD_COLUMNS},
    stage TEXT NOT NULL, title TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'task', due_days INTEGER,
    required INTEGER NOT NULL DEFAULT 0, {_SCOPE_COLUMNS});
CREATE INDEX playbook_handle ON playbook(handle);
CREATE INDEX playbook_stage ON playbook(stage);
"""

# Territories (issue 14 §5).
V_POLICY_4 = f"""
CREATE TABLE territory ({_RECORD_COLUMNS},
    name TEXT NOT NULL, parent TEXT, manager TEXT, rules TEXT, priority INTEGER, members TEXT,
    {_SCOPE_COLUMNS});
CREATE INDEX territory_handle ON territory(handle);
CREATE INDEX territory_name ON territory(name);
"""

# Incentives (issue 16 §4, docs/incentives.md): new tables only, so the number may change at a merge.
V_COMMISSION = f"""
CREATE TABLE IF NOT EXISTS commission_plan ({_RECORD_COLUMNS},
    name TEXT NOT NULL, period TEXT NOT NULL, basis TEXT NOT NULL, rates TEXT NOT NULL,
    family_rates TEXT, cap TEXT, currency TEXT, status TEXT NOT NULL DEFAULT 'draft', approved_by TEXT,
    approved_at TEXT, {_SCOPE_COLUMNS});
CREATE INDEX IF NOT EXISTS commission_plan_handle ON commission_plan(handle);
CREATE INDEX IF NOT EXISTS commission_plan_period ON commission_plan(period);

CREATE TABLE IF NOT EXISTS plan_assignment ({_RECORD_COLUMNS},
    plan_id TEXT NOT NULL, rep TEXT NOT NULL, target TEXT NOT NULL, {_SCOPE_COLUMNS});
CREATE INDEX IF NOT EXISTS plan_assignment_handle ON plan_assignment(handle);
CREATE INDEX IF NOT EXISTS plan_assignment_rep ON plan_assignment(rep, plan_id);

CREATE TABLE IF NOT EXISTS opportunity_split ({_RECORD_COLUMNS},
    opportunity_id TEXT NOT NULL, rep TEXT NOT NULL, percent TEXT NOT NULL, kind TEXT NOT NULL,
    {_SCOPE_COLUMNS});
CREATE INDEX IF NOT EXISTS opportunity_split_handle ON opportunity_split(handle);
CREATE INDEX IF NOT EXISTS opportunity_split_opportunity ON opportunity_split(opportunity_id);

CREATE TABLE IF NOT EXISTS commission_line ({_RECORD_COLUMNS},
    rep TEXT NOT NULL, period TEXT NOT NULL, plan_id TEXT, source_entity TEXT, source_id TEXT,
    pool TEXT, basis TEXT, rate TEXT, commission TEXT NOT NULL, currency TEXT,
    explanation TEXT NOT NULL, reason TEXT, at TEXT NOT NULL, owner TEXT, team TEXT);
CREATE INDEX IF NOT EXISTS commission_line_handle ON commission_line(handle);
CREATE INDEX IF NOT EXISTS commission_line_rep ON commission_line(period, rep);

CREATE TABLE IF NOT EXISTS commission_statement ({_RECORD_COLUMNS},
    rep TEXT NOT NULL, period TEXT NOT NULL, plan_id TEXT, total TEXT NOT NULL, currency TEXT,
    line_count INTEGER, status TEXT NOT NULL DEFAULT 'draft', approved_by TEXT, approved_at TEXT,
    exported_at TEXT, {_SCOPE_COLUMNS});
CREATE INDEX IF NOT EXISTS commission_statement_handle ON commission_statement(handle);
CREATE INDEX IF NOT EXISTS commission_statement_period ON commission_statement(period, rep);
"""

# Competitors and the deals' competitors and "lost to" (issue 16 §3). A new table and two new
# columns: harmless whatever number the migration ends up with.
V_COMPETITORS = f"""
CREATE TABLE competitor ({_RECORD_COLUMNS},
    name TEXT NOT NULL, website TEXT, {_SCOPE_COLUMNS});
CREATE INDEX competitor_handle ON competitor(handle);
CREATE INDEX competitor_name ON competitor(name COLLATE NOCASE);
ALTER TABLE opportunity ADD COLUMN competitors TEXT NOT NULL DEFAULT '[]';
ALTER TABLE opportunity ADD COLUMN lost_to TEXT;
"""

# A deal's forecast category, when a rep or manager overrides the stage's (issue 16 §2).
V_FORECAST_CATEGORY = """
ALTER TABLE opportunity ADD COLUMN forecast_category TEXT;
"""

# Issue 19 item 4, a leaner laptop store (docs/store.md, "Size").
# 1. Field clocks go to the packed form (sfa.store.codec.pack_clocks: each clock once, then its
#    fields), which an older sfa would misread, so it must refuse the file. Rows still in the object
#    form are converted here, in SQL alone; the tables are the record tables that exist at this point
#    (a table a later migration creates is written packed from the start, and read_clocks reads every
#    form, so renumbering is harmless). sync_conflict and sync_reconcile keep their own JSON objects.
# 2. The search index keeps which column a word is in but not where in it (detail=column): every
#    query sfa makes is words matched as prefixes (db.fts_query), never a phrase of several words.
#    Its entries are copied, not rebuilt, so what was indexed stays indexed.
# The file is vacuumed after the upgrade (Store._migrate), so the freed bytes leave it.
_PACKED_TABLES = (
    "account",
    "contact",
    "lead",
    "opportunity",
    "timeline",
    "visit",
    "task",
    "product",
    "quote",
    "quote_line",
    "product_option",
    "option_rule",
    "product_spec",
    "campaign",
    "campaign_member",
    "sales_order",
    "order_line",
    "approval",
    "contract",
    "contract_line",
    "document",
    "stage_change",
    "forecast_adjustment",
    "forecast_snapshot",
    "policy",
    "price_list",
    "price_list_item",
    "target",
    "review",
    "playbook",
    "territory",
    "commission_plan",
    "plan_assignment",
    "opportunity_split",
    "commission_line",
    "commission_statement",
    "competitor",
)
V_LEAN_STORE = (
    "INSERT OR REPLACE INTO meta(key, value) VALUES ('clock_encoding', 'packed');\n"
    + "".join(
        f"UPDATE {table} SET clocks = (SELECT '[' || group_concat(part, ',') || ']' FROM"
        " (SELECT json_quote(value) || ',' || group_concat(json_quote(key), ',') AS part"
        f" FROM json_each({table}.clocks) GROUP BY value ORDER BY value))"
        " WHERE clocks LIKE '{%' AND clocks != '{}';\n"
        for table in _PACKED_TABLES
    )
    + SEARCH_FTS_DETAIL_COLUMN
)

# Today's "to log" list (services/visits.unlogged_before): the rep's planned visits of earlier days,
# oldest first. On a store with 50,000 visits the start-time index alone read every past planned
# visit of every owner (46 ms of the dashboard's first paint); this one goes straight to the rep's.
V_TODAY_TO_LOG = "CREATE INDEX IF NOT EXISTS visit_to_log ON visit(status, coalesce(owner, ''), starts_at);\n"

# The search index without its copy of the text (content=''): 66 of a pulled contact's bytes. The
# entries are made again from the rows by the next open (Store._repair, writes.rebuild_search), by
# the one rule every later write uses, so a delete always hands back the text that was indexed
# (docs/store.md, "Full-text search"). The file is vacuumed after the upgrade.
V_CONTENTLESS_SEARCH = SEARCH_FTS_CONTENTLESS

# Today's task list (services/tasks.for_today) and its count: every live open task due by today. The
# old index (status, due_date) left `deleted` to the table, so counting 17,000 due tasks read 17,000
# rows (26 ms on the 100,000-task bench store, against 2 ms from this index alone). It replaces the
# old one: every task query goes through Store.select, which adds `deleted = 0`, so no query loses it.
V_TODAY_TASKS = (
    "DROP INDEX IF EXISTS task_open_due;\n"
    "CREATE INDEX IF NOT EXISTS task_open_live_due ON task(status, deleted, due_date);\n"
)

# The history fit's per-deal summary (issue 16, docs/prediction.md "Speed", round 5): what each live
# deal adds to the report's history estimates, derived from its row and stage changes and kept like an
# index. Triggers mark a deal whose row or stage changes were written, by any path (a local write, a
# pulled change, a restore, a bulk load, a migration); `forecast_summary.refresh` rebuilds the marked
# deals' rows before the summary is read. Every live deal starts marked. Local, never synced.
V_FORECAST_SUMMARY = """
CREATE TABLE IF NOT EXISTS forecast_dirty (opportunity_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS forecast_deal (
    opportunity_id TEXT PRIMARY KEY, currency TEXT NOT NULL, created TEXT NOT NULL,
    settled TEXT NOT NULL, closed INTEGER NOT NULL, won INTEGER NOT NULL, path TEXT NOT NULL,
    new_period TEXT, amount INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS forecast_stay (
    opportunity_id TEXT NOT NULL, currency TEXT NOT NULL, settled TEXT NOT NULL, stage TEXT NOT NULL,
    days INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS forecast_stay_deal ON forecast_stay(opportunity_id);
CREATE TABLE IF NOT EXISTS forecast_fact (
    opportunity_id TEXT NOT NULL, currency TEXT NOT NULL, settled TEXT NOT NULL, start TEXT NOT NULL,
    stage TEXT NOT NULL, age INTEGER NOT NULL, won INTEGER NOT NULL, bucket TEXT NOT NULL,
    inside INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS forecast_fact_deal ON forecast_fact(opportunity_id);
CREATE TRIGGER IF NOT EXISTS forecast_dirty_opp_insert AFTER INSERT ON opportunity BEGIN
    INSERT OR IGNORE INTO forecast_dirty(opportunity_id) VALUES (new.id);
END;
CREATE TRIGGER IF NOT EXISTS forecast_dirty_opp_update AFTER UPDATE ON opportunity BEGIN
    INSERT OR IGNORE INTO forecast_dirty(opportunity_id) VALUES (old.id);
    INSERT OR IGNORE INTO forecast_dirty(opportunity_id) VALUES (new.id);
END;
CREATE TRIGGER IF NOT EXISTS forecast_dirty_opp_delete AFTER DELETE ON opportunity BEGIN
    INSERT OR IGNORE INTO forecast_dirty(opportunity_id) VALUES (old.id);
END;
CREATE TRIGGER IF NOT EXISTS forecast_dirty_change_insert AFTER INSERT ON stage_change
WHEN new.opportunity_id IS NOT NULL BEGIN
    INSERT OR IGNORE INTO forecast_dirty(opportunity_id) VALUES (new.opportunity_id);
END;
CREATE TRIGGER IF NOT EXISTS forecast_dirty_change_update AFTER UPDATE ON stage_change BEGIN
    INSERT OR IGNORE INTO forecast_dirty(opportunity_id)
        SELECT old.opportunity_id WHERE old.opportunity_id IS NOT NULL;
    INSERT OR IGNORE INTO forecast_dirty(opportunity_id)
        SELECT new.opportunity_id WHERE new.opportunity_id IS NOT NULL;
END;
CREATE TRIGGER IF NOT EXISTS forecast_dirty_change_delete AFTER DELETE ON stage_change
WHEN old.opportunity_id IS NOT NULL BEGIN
    INSERT OR IGNORE INTO forecast_dirty(opportunity_id) VALUES (old.opportunity_id);
END;
INSERT OR IGNORE INTO forecast_dirty(opportunity_id) SELECT id FROM opportunity;
"""

# Issue 19 item 4: the duplicate-check key columns of accounts, contacts and leads are computed, not
# stored (sfa/store/keys.py): each is dropped and added back as a virtual generated column over the
# row's own columns, by functions every sfa connection registers; their indexes are made again from
# the rows. About 70 bytes a contact; the file is vacuumed after the upgrade. Only these three tables
# (all from V1) change, so renumbering is harmless.
V_GENERATED_KEYS = generated_keys_migration()

# Issue 19 item 4: field clocks by group number (sfa/store/clocks.py): the table of (replica, fields)
# pairs, and a mark in meta that the rows written before are still to be converted, which the
# upgrade does in Python right after the scripts, in the same transaction (Store._migrate,
# writes.compact_all_clocks), before its one vacuum. An older sfa
# would misread a group item, so it must refuse the file: this migration's number does that. A new
# table only, so renumbering is harmless.
V_CLOCK_GROUPS = TABLE_SQL + "INSERT OR REPLACE INTO meta(key, value) VALUES ('clocks.compact', 'pending');\n"

# Issue 19 item 4: a record's handle (the last 12 hex digits of its id, indexed for short refs) is
# computed from the id, not stored: in every record table this sfa has made so far (the tables of
# V_LEAN_STORE) the column is dropped and added back as `substr(id, -12)`, a virtual generated
# column in plain SQL (the sqlite3 shell reads it), and its index is made again. A table a migration
# numbered after this one creates with the older stored column keeps it, and the writers fill it
# (writes.stores_handle), so renumbering is harmless. About 13 bytes a record; vacuumed after.
V_GENERATED_HANDLE = "".join(
    f"DROP INDEX IF EXISTS {table}_handle;\n"
    f"ALTER TABLE {table} DROP COLUMN handle;\n"
    f"ALTER TABLE {table} ADD COLUMN handle TEXT GENERATED ALWAYS AS (substr(id, -12)) VIRTUAL;\n"
    f"CREATE INDEX IF NOT EXISTS {table}_handle ON {table}(handle);\n"
    for table in _PACKED_TABLES
)

MIGRATIONS: tuple[str, ...] = (
    V1,
    V2,
    V3,
    V4,
    V5,
    V6,
    V_CONFIGURATOR,
    V_MERGE,
    V_ENCYCLOPEDIA,
    V_CAMPAIGNS,
    V_FTS_SLOTS,
    V_ORDERS,
    V_CONTRACTS,
    V_DOCUMENTS,
    V_LINE_CONFIGURATION,
    V7_QUARANTINE,
    V8_RESEND,
    V_STAGE_CHANGE,
    V_FORECAST_RECORDS,
    V_POLICY,
    V_POLICY_2,
    V_POLICY_3,
    V_POLICY_4,
    V_COMMISSION,
    V_COMPETITORS,
    V_FORECAST_CATEGORY,
    V_LEAN_STORE,
    V_TODAY_TO_LOG,
    V_CONTENTLESS_SEARCH,
    V_TODAY_TASKS,
    V_FORECAST_SUMMARY,
    V_GENERATED_KEYS,
    V_CLOCK_GROUPS,
    V_GENERATED_HANDLE,
)

LATEST = len(MIGRATIONS)

# Migrations that rewrite most rows: the file is vacuumed once after an upgrade that ran one of them.
VACUUM_AFTER = frozenset(
    {V_LEAN_STORE, V_CONTENTLESS_SEARCH, V_GENERATED_KEYS, V_CLOCK_GROUPS, V_GENERATED_HANDLE}
)


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
