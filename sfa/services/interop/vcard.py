"""Contacts as vCards, in (3.0 and 4.0, several cards a file) and out (3.0), with vobject.

The file is cut into cards at BEGIN:VCARD / END:VCARD lines and each card is parsed by vobject on
its own, so one malformed card is rejected with its line number while the others import. ORG is
the account: found by its normalised name, or created. A UID that sfa wrote (urn:uuid:<id>) keeps
the contact's id, so exporting and importing again finds the same contact rather than a copy.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sfa.domain import ids, names
from sfa.domain.entities import ACCOUNT, CONTACT
from sfa.domain.errors import SfaError, UsageError
from sfa.services.interop.csv_import import BATCH_SIZE, ON_DUPLICATE, CsvImporter, Progress, Summary, _Batch
from sfa.services.interop.textfile import FileRefused, read_text
from sfa.store.db import Record
from sfa.store.workspace import Workspace

_BEGIN = re.compile(r"^\s*BEGIN\s*:\s*VCARD\s*$", re.IGNORECASE)
_END = re.compile(r"^\s*END\s*:\s*VCARD\s*$", re.IGNORECASE)
_QP = re.compile(r"QUOTED-PRINTABLE", re.IGNORECASE)
_MOBILE_TYPES = {"cell", "mobile", "iphone", "text", "textphone"}
_SKIP_PHONE_TYPES = {"fax", "pager"}


def split_cards(path: Path, text: str) -> list[tuple[int, str]]:
    """Each card's text with the line number of its BEGIN line.

    vCard 2.1 (still what many Android phones export) breaks long quoted-printable values with a
    trailing "=" ("soft line break"), which vobject does not read; those lines are joined here.
    """
    cards: list[tuple[int, str]] = []
    current: list[str] | None = None
    start = 0
    soft_break = False
    for number, line in enumerate(io.StringIO(text, newline="").readlines(), 1):
        bare = line.rstrip("\r\n")
        if current is not None and soft_break:
            current[-1] = current[-1][:-1] + bare
            soft_break = bare.endswith("=")
            continue
        if _BEGIN.match(line):
            current, start = [bare], number
        elif current is not None:
            current.append(bare)
            soft_break = bare.endswith("=") and _QP.search(bare.split(":", 1)[0]) is not None
            if _END.match(line):
                cards.append((start, "\r\n".join(current) + "\r\n"))
                current = None
    if current is not None:
        cards.append((start, "\r\n".join(current) + "\r\n"))  # unterminated: rejected when parsed
    if not cards:
        raise FileRefused(f"{path} is not a vCard file: it has no BEGIN:VCARD line")
    return cards


def _types(line: Any) -> set[str]:
    """TYPE values, lower case: TYPE=work,voice (3.0/4.0) and bare ;WORK;VOICE (2.1)."""
    found: set[str] = set()
    for value in [*line.params.get("TYPE", []), *getattr(line, "singletonparams", [])]:
        found.update(v.strip().strip('"').lower() for v in str(value).split(","))
    return found


def _is_pref(line: Any) -> bool:
    return "pref" in _types(line) or "PREF" in line.params


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if str(v).strip())
    return str(value or "").strip()


def _first(card: Any, name: str) -> Any:
    lines = card.contents.get(name, [])
    return lines[0] if lines else None


def card_values(card: Any) -> dict[str, str]:
    """The raw contact values of a parsed card (strings, checked later like a CSV row)."""
    raw: dict[str, str] = {}
    fn = _first(card, "fn")
    name = _text(fn.value) if fn is not None else ""
    n = _first(card, "n")
    if not name and n is not None:
        value = n.value
        if hasattr(value, "family"):
            name = names.join_name(
                _text(value.prefix),
                _text(value.given),
                _text(value.additional),
                _text(value.family),
                _text(value.suffix),
            )
        else:
            family, _, rest = str(value).partition(";")
            given = rest.split(";")[0]
            name = names.join_name(given, family)
    if not name.strip():
        raise ValueError("it has no name (FN or N)")
    raw["name"] = name
    title = _first(card, "title") or _first(card, "role")
    if title is not None and _text(title.value):
        raw["title"] = _text(title.value)
    emails = card.contents.get("email", [])
    if emails:
        chosen = next((e for e in emails if _is_pref(e)), emails[0])
        raw["email"] = _text(chosen.value)
    phones: dict[str, str] = {}
    tels = sorted(card.contents.get("tel", []), key=lambda t: not _is_pref(t))
    for tel in tels:
        kinds = _types(tel)
        if kinds & _SKIP_PHONE_TYPES:
            continue
        number = _text(tel.value)
        number = number[4:] if number.lower().startswith("tel:") else number
        slot = "mobile" if kinds & _MOBILE_TYPES else "phone"
        phones.setdefault(slot, number)
    raw.update(phones)
    org = _first(card, "org")
    if org is not None:
        value = org.value
        company = value[0] if isinstance(value, list) and value else str(value).split(";")[0]
        if str(company).strip():
            raw["account"] = str(company).strip()
    note = _first(card, "note")
    if note is not None and _text(note.value):
        raw["notes"] = _text(note.value).replace("\r\n", "\n").replace("\r", "\n")
    categories = card.contents.get("categories", [])
    tags: list[str] = []
    for line in categories:
        value = line.value
        tags += [str(v) for v in value] if isinstance(value, list) else str(value).split(",")
    if tags:
        raw["tags"] = ",".join(t for t in tags if str(t).strip())
    return raw


def card_id(card: Any) -> str | None:
    uid = _first(card, "uid")
    if uid is None:
        return None
    return ids.parse_full_id(str(uid.value).strip().lower().removeprefix("urn:uuid:"))


def _reason(exc: Exception) -> str:
    """vobject's message without its own line count (it does not match the file's lines)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return "card cannot be read: " + re.sub(r"^At line \d+: ", "", text)


def import_vcards(
    ws: Workspace,
    path: Path,
    *,
    on_duplicate: str = "skip",
    dry_run: bool = False,
    progress: Progress | None = None,
) -> Summary:
    import vobject  # type: ignore[import-untyped]

    if on_duplicate not in ON_DUPLICATE:
        raise UsageError(
            f"on_duplicate: {on_duplicate!r}: use one of {', '.join(ON_DUPLICATE)}",
            asks_for=("on_duplicate",),
        )
    cards = split_cards(path, read_text(path, "vCard"))
    if dry_run:
        ws.check_without_creating()
    summary = Summary("contact", str(path), rows=len(cards), dry_run=dry_run)
    importer = CsvImporter(ws, CONTACT, on_duplicate=on_duplicate, dry_run=dry_run)
    done = 0
    for start in range(0, len(cards), BATCH_SIZE):
        batch = _Batch()
        for line, text in cards[start : start + BATCH_SIZE]:
            try:
                card = vobject.readOne(text, validate=False)
                raw = card_values(card)
                importer.row(line, raw, batch, summary, record_id=card_id(card))
            except SfaError as exc:
                summary.rejected.append({"line": line, "reason": str(exc)})
            except Exception as exc:  # vobject raises many kinds for a malformed card
                summary.rejected.append({"line": line, "reason": _reason(exc)})
            done += 1
            if progress and done % 200 == 0:  # parsing a card is slow: the bar moves within a batch
                progress(done, len(cards))
        importer.write(batch, summary)
        if progress:
            progress(done, len(cards))
    return summary


# -- export -------------------------------------------------------------------------------------


def _address(account: Record) -> list[str] | None:
    if not any(account.get(k) for k in ("street", "city", "postcode", "country")):
        return None
    return [
        account.get("street") or "",
        account.get("city") or "",
        account.get("postcode") or "",
        account.get("country") or "",
    ]


def contact_card(contact: Record, account: Record | None) -> Any:
    """One contact as a vobject vCard 3.0 component."""
    import vobject

    card = vobject.vCard()
    card.add("version").value = "3.0"
    card.add("uid").value = f"urn:uuid:{contact['id']}"
    card.add("fn").value = contact["name"]
    prefix, given, family, suffix = names.name_parts(contact["name"])
    card.add("n").value = vobject.vcard.Name(family=family, given=given, prefix=prefix, suffix=suffix)
    if account is not None:
        card.add("org").value = [account["name"]]
        street = _address(account)
        if street is not None:
            adr = card.add("adr")
            adr.value = vobject.vcard.Address(
                street=street[0], city=street[1], code=street[2], country=street[3]
            )
            adr.type_param = "WORK"
    if contact.get("title"):
        card.add("title").value = contact["title"]
    if contact.get("email"):
        email = card.add("email")
        email.value = contact["email"]
        email.type_paramlist = ["INTERNET", "WORK", "PREF"]
    if contact.get("phone"):
        tel = card.add("tel")
        tel.value = contact["phone"]
        tel.type_paramlist = ["WORK", "VOICE"]
    if contact.get("mobile"):
        tel = card.add("tel")
        tel.value = contact["mobile"]
        tel.type_paramlist = ["CELL"]
    if contact.get("notes"):
        card.add("note").value = contact["notes"]
    if contact.get("tags"):
        card.add("categories").value = list(contact["tags"])
    card.add("rev").value = str(contact["updated_at"])
    return card


def export_vcards(ws: Workspace, *, account_ref: str | None = None) -> tuple[str, int]:
    """The vCard text of every contact (or of one account's), and how many cards it holds."""
    cards = contact_cards(ws, account_ref=account_ref)
    return "".join(text for _, text in cards), len(cards)


def export_vdir(ws: Workspace, directory: Path, *, account_ref: str | None = None) -> int:
    """One <id>.vcf a contact in `directory` (a vdir, as khard and vdirsyncer keep address books).

    A file is replaced only when its card changed, so a sync tool sees just the real changes, and
    the file of a contact deleted in sfa is removed. Other files are left alone. A missing
    directory is created, with its parents (`mkdir -p`), as an address book's first export needs.
    """
    from sfa.services.interop.backup import write_file_atomic

    directory = directory.expanduser()
    if directory.exists() and not directory.is_dir():
        raise SfaError(
            f"output {directory}: not a directory (a vdir is a directory of one file a contact)",
            asks_for=("output", "vdir"),
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SfaError(
            f"output {directory}: cannot create the directory: {exc.strerror or exc}", asks_for=("output",)
        ) from None
    cards = contact_cards(ws, account_ref=account_ref)
    for record_id, text in cards:
        path = directory / f"{record_id}.vcf"
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old is None or _without_rev(old) != _without_rev(text):
            write_file_atomic(path, text)
    for path in directory.glob("*.vcf"):
        known = ws.store.find(CONTACT, path.stem) if ids.is_full_id(path.stem) else None
        if known is not None and known["deleted"]:
            path.unlink()
    return len(cards)


def _without_rev(text: str) -> list[str]:
    """The card's lines but REV (which changes with every edit), line endings aside."""
    return [line for line in text.splitlines() if not line.upper().startswith("REV:")]


def contact_cards(ws: Workspace, *, account_ref: str | None = None) -> list[tuple[str, str]]:
    """(contact id, vCard text) of every contact, or of one account's (a ref), in name order."""
    store = ws.store
    if account_ref:
        account = store.resolve(ACCOUNT, account_ref)
        contacts = store.select(CONTACT, "account_id = ?", (account["id"],), order="name COLLATE NOCASE")
    else:
        contacts = store.select(CONTACT, order="name COLLATE NOCASE")
    account_ids = sorted({c["account_id"] for c in contacts if c["account_id"]})
    accounts: dict[str, Record] = {}
    for start in range(0, len(account_ids), 500):
        chunk: Sequence[str] = account_ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        for record in store.select(ACCOUNT, f"id IN ({marks})", chunk, include_deleted=True):
            accounts[record["id"]] = record
    return [(c["id"], contact_card(c, accounts.get(c["account_id"] or "")).serialize()) for c in contacts]
