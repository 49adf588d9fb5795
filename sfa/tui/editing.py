"""Edit-in-place forms for an opportunity and a quote header, shared by the screens that offer them.

Each field is checked as it is typed by the rules the CLI's `sfa opp edit` and `sfa quote edit` use
(records.convert, the stage list, the probability range, a contact at the record's account, a
valid-until date not in the past); saving sends only the fields the person changed to the same
service call, so what is refused there is refused here, and nothing is written on a refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from sfa.domain import quotes as rules
from sfa.domain.entities import CONTACT, OPPORTUNITY, QUOTE
from sfa.domain.errors import SfaError, StateError, ValidationError
from sfa.domain.stages import LOST, find_stage
from sfa.services import crm, quotes, records
from sfa.store.db import Record
from sfa.store.workspace import Workspace
from sfa.tui.forms import FormField, FormScreen

if TYPE_CHECKING:
    from textual.screen import Screen

OPP_FIELDS = ("name", "amount", "currency", "stage", "probability", "close_date", "contact", "next_step")


def open_form(
    screen: Screen[Any],
    form: FormScreen,
    save: Callable[[dict[str, str]], Record | None],
    saved: Callable[[Record], None],
) -> None:
    """Show an edit form; on Save, say "nothing changed" or `save` what was typed, and hand a saved
    record to `saved` (`save` reports its own refusal and returns None)."""

    def done(values: dict[str, str] | None) -> None:
        if values is None:
            return
        if not form.changed_values(values):
            screen.notify("nothing changed")
            return
        record = save(values)
        if record is not None:
            saved(record)

    screen.app.push_screen(form, done)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _contacts_at(ws: Workspace, account_id: str) -> list[Record]:
    return crm.list_contacts(ws, account_ref=account_id, limit=200)


def contact_id(ws: Workspace, account_id: str, text: str) -> str:
    """A contact at the account, typed as its name (unique at the account) or its ref."""
    wanted = " ".join(text.lower().split())
    named = [c for c in _contacts_at(ws, account_id) if " ".join(c["name"].lower().split()) == wanted]
    if len(named) == 1:
        return str(named[0]["id"])
    try:
        contact = records.get(ws, CONTACT, text)
    except ValidationError:  # not a ref either
        raise ValidationError("contact", f"no contact named {text.strip()!r} at this account") from None
    if contact["account_id"] and contact["account_id"] != account_id:
        raise ValidationError("contact", f"{contact['name']!r} belongs to another account")
    return str(contact["id"])


def _contact_value(ws: Workspace, record: Record) -> str:
    """The record's contact as typed in the form: its name when that is unique at the account."""
    if not record.get("contact_id"):
        return ""
    contact = records.get(ws, CONTACT, record["contact_id"])
    try:
        if contact_id(ws, record["account_id"], contact["name"]) == contact["id"]:
            return str(contact["name"])
    except SfaError:
        pass
    return records.short_ref(ws, CONTACT, contact["id"])


def _contacts_info(ws: Workspace, account_id: str) -> str:
    contacts = _contacts_at(ws, account_id)
    if not contacts:
        return "no contacts at this account"
    shown = ", ".join(c["name"] for c in contacts[:6])
    more = f" and {len(contacts) - 6} more" if len(contacts) > 6 else ""
    return f"contacts here (a name or a ref): {shown}{more}"


# -- opportunity -----------------------------------------------------------------------------------


def opportunity_checks(ws: Workspace, opp: Record) -> dict[str, Callable[[str], object]]:
    def convert(name: str) -> Callable[[str], object]:
        return lambda text: records.convert(ws, OPPORTUNITY, name, text)

    def stage(text: str) -> object:
        found = find_stage(ws.stages, text)
        if found.name == LOST and not opp.get("lost_reason"):
            raise ValidationError("stage", "a lost deal needs a reason: mark it lost with x on the board")
        return found

    def probability(text: str) -> object:
        value = records.convert(ws, OPPORTUNITY, "probability", text)
        if not 0 <= value <= 100:
            raise ValidationError("probability", f"{value} is outside 0..100")
        return value

    return {
        "name": convert("name"),
        "amount": convert("amount"),
        "currency": convert("currency"),
        "stage": stage,
        "probability": probability,
        "close_date": convert("close_date"),
        "contact": lambda text: contact_id(ws, opp["account_id"], text),
        "next_step": convert("next_step"),
    }


def opportunity_form(ws: Workspace, opp: Record) -> FormScreen:
    checks = opportunity_checks(ws, opp)
    labels = {
        "name": "Name",
        "amount": "Amount",
        "currency": "Currency",
        "stage": "Stage",
        "probability": "Probability %",
        "close_date": "Expected close",
        "contact": "Contact",
        "next_step": "Next step",
    }
    hints = {
        "amount": "12000, 12k",
        "close_date": "2026-12-31, +2w, fri",
        "currency": "EUR",
        "probability": "default: the stage's",
    }
    values = {name: _text(opp.get(name)) for name in OPP_FIELDS}
    values["contact"] = _contact_value(ws, opp)
    stages = ", ".join(s.name for s in ws.stages if s.name != LOST)
    fields = [
        FormField(
            name,
            labels[name],
            checks[name],
            values[name],
            hints.get(name, ""),
            required=name in ("name", "stage"),
        )
        for name in OPP_FIELDS
    ]
    info = f"stages: {stages}\n{_contacts_info(ws, opp['account_id'])}"
    return FormScreen(f"Edit opportunity {opp['name']}", fields, info=info)


def save_opportunity(ws: Workspace, opp: Record, form: FormScreen, typed: dict[str, str]) -> Record | None:
    """The changed fields through crm.edit_opportunity (as `sfa opp edit`); None when nothing changed."""
    changed = form.changed_values(typed)
    if not changed:
        return None
    raw: dict[str, Any] = {k: v for k, v in changed.items() if k != "contact"}
    if "contact" in changed:
        text = changed["contact"]
        raw["contact_id"] = contact_id(ws, opp["account_id"], text) if text.strip() else ""
    return crm.edit_opportunity(ws, opp["id"], raw)


# -- quote header ----------------------------------------------------------------------------------


def editable_quote(ws: Workspace, quote_id: str, today: date) -> Record:
    """The quote, if its header may be changed (a draft; quotes.edit_quote's rule); else StateError."""
    quote = quotes.resolve(ws, quote_id)
    status = quotes.status_of(quote, today)
    if status != rules.DRAFT:
        raise StateError(
            f"quote {quote['number']} rev {quote['revision']} is {status}; only drafts can be changed "
            "(v revises it)"
        )
    return quote


def quote_header_form(ws: Workspace, quote: Record, today: date) -> FormScreen:
    def valid_until(text: str) -> object:
        day = records.convert(ws, QUOTE, "valid_until", text)
        if day < today:
            raise ValidationError("valid_until", f"{day.isoformat()} is in the past")
        return day

    def terms(text: str) -> object:
        return text.strip()

    view = quotes.view(ws, quote["id"])
    opp = f" · {view.opportunity['name']}" if view.opportunity else ""
    fields = [
        FormField("valid_until", "Valid until", valid_until, _text(quote["valid_until"]), "2026-12-31, +30d"),
        FormField(
            "contact",
            "Contact",
            lambda text: contact_id(ws, quote["account_id"], text),
            _contact_value(ws, quote),
        ),
        FormField("terms", "Terms", terms, _text(quote["terms"]), "payment and delivery terms"),
    ]
    info = (
        f"{view.account['name']}{opp} · {quote['currency'] or ws.setting('currency')}\n"
        f"{_contacts_info(ws, quote['account_id'])}"
    )
    return FormScreen(f"Quote {quote['number']} rev {quote['revision']}: header", fields, info=info)


def save_quote_header(ws: Workspace, quote: Record, form: FormScreen, typed: dict[str, str]) -> Record | None:
    """The changed fields through quotes.edit_quote (as `sfa quote edit`); None when nothing changed."""
    changed = form.changed_values(typed)
    if not changed:
        return None
    contact = changed.get("contact")
    if contact is not None and contact.strip():
        contact = contact_id(ws, quote["account_id"], contact)
    return quotes.edit_quote(
        ws,
        quote["id"],
        valid_until=changed.get("valid_until"),
        contact_ref=contact,
        terms=changed.get("terms"),
    )
