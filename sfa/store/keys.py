"""The duplicate-check keys as SQL functions: the key columns are computed, not stored.

`email_key`, `phone_key`, `mobile_key` and `name_key` of accounts, contacts and leads are virtual
generated columns (since V_GENERATED_KEYS): SQLite computes them from the row's own columns with the
functions below (the e-mail and phone keys in plain SQL for the common case: `email_sql`,
`phone_sql`) on every insert, when it builds or updates their indexes, or when a query names them;
the row holds no copy (about 70 bytes a contact). The functions are `sfa.domain.normalize`'s, the same that
`Entity.derived` applies (a test compares the two on random text), registered as deterministic on
every connection sfa opens to the store (`register`, called by `bulk.configure`).

A connection without them (the `sqlite3` shell, another program) reads every other column and the
key indexes, but `SELECT *`, a write to those three tables and `PRAGMA integrity_check` fail with
"unknown function"; `register(conn)` on a Python connection lifts that (docs/store.md, "Size").
The functions must never change meaning silently: a change to a key's rule needs a migration that
runs `REINDEX` on its indexes (the stored entries were made by the old rule).
"""

from __future__ import annotations

import sqlite3

from sfa.domain import normalize


def _email_key(value: object) -> str | None:
    return normalize.email_key(value) if isinstance(value, str) else None


def _phone_key(value: object) -> str | None:
    return normalize.phone_key(value) if isinstance(value, str) else None


def _person_key(name: object, company: object) -> str | None:
    return normalize.name_company_key(
        name if isinstance(name, str) else None, company if isinstance(company, str) else None
    )


def _company_key(name: object) -> str | None:
    return normalize.company_key(name if isinstance(name, str) else None) or None


def register(conn: sqlite3.Connection) -> None:
    """The key functions the generated columns name, on one connection."""
    conn.create_function("sfa_email_key", 1, _email_key, deterministic=True)
    conn.create_function("sfa_phone_key", 1, _phone_key, deterministic=True)
    conn.create_function("sfa_person_key", 2, _person_key, deterministic=True)
    conn.create_function("sfa_company_key", 1, _company_key, deterministic=True)


# The whitespace Python's str.strip() removes from ASCII text.
_ASCII_SPACE = "' ' || char(9, 10, 11, 12, 13, 28, 29, 30, 31)"


def email_sql(column: str) -> str:
    """normalize.email_key in SQL for ASCII text (SQLite's lower() is Python's there, and the
    trimmed characters are the ones str.strip() removes); other text goes to the Python function."""
    return (
        f"CASE WHEN typeof({column}) != 'text' OR {column} = '' THEN NULL"
        f" WHEN length({column}) != length(CAST({column} AS BLOB)) THEN sfa_email_key({column})"
        f" ELSE lower(trim({column}, {_ASCII_SPACE})) END"
    )


def phone_sql(column: str) -> str:
    """normalize.phone_key in SQL for a number of digits, spaces and + - / ( ) . only, without a
    bracketed trunk zero "(0)": its digits, with a + for "+" or "00" in front. Anything else (an
    extension, letters, "(0)") goes to the Python function. A first sync computes every key twice
    (on insert, then when the deferred index is built), and a call into Python from SQLite costs
    more than the key itself (measured in docs/store.md, "Duplicate-check keys")."""
    digits = column
    for char in " -/().+":
        digits = f"replace({digits}, '{char}', '')"
    return (
        f"CASE WHEN typeof({column}) != 'text' OR {column} = '' THEN NULL"
        f" WHEN trim({column}, '+0123456789 -/().') != '' OR instr({column}, '(0)') THEN sfa_phone_key({column})"
        f" WHEN ltrim({column}) LIKE '+%' THEN '+' || {digits}"
        f" WHEN substr({digits}, 1, 2) = '00' THEN '+' || substr({digits}, 3)"
        f" ELSE {digits} END"
    )


# table -> generated key column -> its expression (what entities._person_keys / _account_keys compute;
# a lead has no mobile, a contact no company).
EXPRESSIONS: dict[str, dict[str, str]] = {
    "account": {"name_key": "sfa_company_key(name)"},
    "contact": {
        "email_key": email_sql("email"),
        "phone_key": phone_sql("phone"),
        "mobile_key": phone_sql("mobile"),
        "name_key": "sfa_person_key(name, NULL)",
    },
    "lead": {
        "email_key": email_sql("email"),
        "phone_key": phone_sql("phone"),
        "mobile_key": "NULL",
        "name_key": "sfa_person_key(name, company)",
    },
}

# The indexes on the key columns (dropped before a column is, made again after).
INDEXES: dict[tuple[str, str], str] = {
    ("account", "name_key"): "account_name_key",
    ("contact", "email_key"): "contact_email_key",
    ("contact", "phone_key"): "contact_phone_key",
    ("contact", "mobile_key"): "contact_mobile_key",
    ("contact", "name_key"): "contact_name_key",
    ("lead", "email_key"): "lead_email_key",
    ("lead", "phone_key"): "lead_phone_key",
    ("lead", "name_key"): "lead_name_key",
}


def generated_keys_migration() -> str:
    """The migration's SQL: each stored key column dropped (its index first) and added back as a
    virtual column computed by its function, with its index made again from the rows."""
    script = ""
    for table, columns in EXPRESSIONS.items():
        for column, expression in columns.items():
            index = INDEXES.get((table, column))
            if index:
                script += f"DROP INDEX IF EXISTS {index};\n"
            script += f"ALTER TABLE {table} DROP COLUMN {column};\n"
            script += (
                f"ALTER TABLE {table} ADD COLUMN {column} TEXT GENERATED ALWAYS AS ({expression}) VIRTUAL;\n"
            )
            if index:
                script += f"CREATE INDEX IF NOT EXISTS {index} ON {table}({column});\n"
    return script
