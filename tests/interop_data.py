"""A store holding every record type, with every kind of value, for the interop round trips."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sfa.domain.entities import (
    ACCOUNT,
    APPROVAL,
    CAMPAIGN,
    CAMPAIGN_MEMBER,
    COMPETITOR,
    CONTACT,
    CONTRACT,
    CONTRACT_LINE,
    DOCUMENT,
    FORECAST_ADJUSTMENT,
    FORECAST_SNAPSHOT,
    LEAD,
    OPPORTUNITY,
    OPTION_RULE,
    ORDER,
    ORDER_LINE,
    PLAYBOOK,
    POLICY,
    PRICE_LIST,
    PRICE_LIST_ITEM,
    PRODUCT,
    PRODUCT_OPTION,
    PRODUCT_SPEC,
    QUOTE,
    QUOTE_LINE,
    REVIEW,
    STAGE_CHANGE,
    TARGET,
    TASK,
    TERRITORY,
    TIMELINE,
    VISIT,
)


def populate(ws: Any) -> dict[str, str]:
    """Insert one or more records of every type; returns their ids by a short name."""
    store = ws.store
    acme = store.insert(
        ACCOUNT,
        {
            "name": "Müller Maschinenbau GmbH",
            "industry": "Machinery",
            "phone": "+49 30 1234567",
            "email": "info@mueller-mb.de",
            "website": "mueller-mb.de",
            "street": "Hauptstraße 5",
            "city": "Berlin",
            "postcode": "10115",
            "country": "Germany",
            "latitude": 52.5321,
            "longitude": 13.3849,
            "owner": "anna",
            "team": "north",
            "tags": ["key", "machinery"],
            "notes": 'Key account,\nsince 2019; "A" rating',
        },
    )
    gone = store.insert(ACCOUNT, {"name": "Closed Shop Ltd", "owner": "anna"})
    store.delete(ACCOUNT, gone["id"])
    hans = store.insert(
        CONTACT,
        {
            "name": "Hans Müller",
            "title": "Einkaufsleiter",
            "email": "hans@mueller-mb.de",
            "phone": "+49 30 1234568",
            "mobile": "+49 171 2345678",
            "account_id": acme["id"],
            "owner": "anna",
            "tags": ["decision maker"],
            "notes": "Prefers calls before 10:00",
        },
    )
    eva = store.insert(
        CONTACT, {"name": "Eva Schmidt", "email": "eva@mueller-mb.de", "account_id": acme["id"]}
    )
    lead = store.insert(
        LEAD,
        {
            "name": "Claire Dubois",
            "company": "Dubois SARL",
            "email": "claire@dubois.fr",
            "phone": "+33 1 42 68 53 00",
            "source": "fair",
            "status": "qualified",
            "rating": "hot",
        },
    )
    opp = store.insert(
        OPPORTUNITY,
        {
            "name": "Pumps for line 3",
            "account_id": acme["id"],
            "contact_id": hans["id"],
            "amount": Decimal("12000.50"),
            "currency": "EUR",
            "stage": "quotation sent",
            "probability": 70,
            "close_date": date(2026, 12, 15),
            "next_step": "Send offer",
        },
    )
    store.insert(
        FORECAST_ADJUSTMENT,
        {
            "period": "2026-Q4",
            "subject_kind": "owner",
            "subject": "anna",
            "category": "commit",
            "amount": Decimal("15000.00"),
            "currency": "EUR",
            "note": "Pumps signed verbally",
            "at": datetime(2026, 11, 21, 8, 0, tzinfo=UTC),
            "owner": "anna",
        },
    )
    store.insert(
        FORECAST_SNAPSHOT,
        {
            "period": "2026-Q4",
            "subject_kind": "all",
            "subject": "all",
            "week": "2026-W47",
            "taken_at": datetime(2026, 11, 16, 7, 0, tzinfo=UTC),
            "currency": "EUR",
            "open_count": 1,
            "pipeline": Decimal("12000.50"),
            "weighted": Decimal("8400.35"),
            "commit_amount": Decimal("0.00"),
            "best_case": Decimal("12000.50"),
            "won": Decimal("0.00"),
        },
    )
    store.insert(
        STAGE_CHANGE,
        {
            "opportunity_id": opp["id"],
            "from_stage": "rfp received",
            "to_stage": "quotation sent",
            "at": datetime(2026, 11, 19, 8, 0, tzinfo=UTC),
            "amount": Decimal("12000.50"),
            "currency": "EUR",
            "close_date": date(2026, 12, 15),
            "owner": "anna",
        },
    )
    store.insert(
        TIMELINE,
        {
            "record_entity": "opportunity",
            "record_id": opp["id"],
            "account_id": acme["id"],
            "kind": "note",
            "text": "Budget approved",
            "at": datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
            "owner": "anna",
        },
    )
    visit = store.insert(
        VISIT,
        {
            "account_id": acme["id"],
            "contact_ids": [hans["id"], eva["id"]],
            "starts_at": datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
            "duration_min": 90,
            "fixed_time": True,
            "purpose": "Demo of the new pump, line 3",
            "location": "Hauptstraße 5, 10115 Berlin",
            "latitude": 52.5321,
            "longitude": 13.3849,
            "status": "planned",
            "tags": ["demo", "pumps"],
        },
    )
    store.insert(
        VISIT,
        {
            "account_id": acme["id"],
            "starts_at": datetime(2026, 12, 1, 13, 0, tzinfo=UTC),
            "status": "cancelled",
            "cancel_reason": "customer ill",
        },
    )
    task = store.insert(
        TASK,
        {
            "title": "Send the offer for line 3",
            "due_date": date(2026, 11, 25),
            "priority": "high",
            "status": "open",
            "account_id": acme["id"],
            "opportunity_id": opp["id"],
            "visit_id": visit["id"],
            "remind_at": datetime(2026, 11, 25, 7, 0, tzinfo=UTC),
            "notes": "Include the service option",
        },
    )
    store.insert(
        TASK,
        {
            "title": "Call Eva back",
            "due_at": datetime(2026, 11, 26, 14, 30, tzinfo=UTC),
            "status": "open",
            "contact_id": eva["id"],
            "priority": "low",
        },
    )
    store.insert(
        TASK,
        {"title": "Already done", "status": "done", "priority": "normal", "due_date": date(2026, 11, 23)},
    )
    store.insert(TASK, {"title": "Someday", "status": "open", "priority": "normal"})
    pump = store.insert(
        PRODUCT,
        {
            "sku": "PMP-100",
            "name": "Pump 100",
            "description": "Centrifugal pump",
            "unit_price": Decimal("1250.00"),
            "currency": "EUR",
            "tax_rate": Decimal("19"),
            "active": True,
            "model_number": "P100-A",
            "family": "Pumps",
            "unit": "pcs",
            "image": "images/pump100.png",
            "datasheet": "docs/pump100.pdf",
        },
    )
    # No refs between products here: a CSV import checks a ref against the store before the rows of
    # its own file are written (tests/test_encyclopedia_cli.py covers successor and accessories).
    store.insert(
        PRODUCT_SPEC,
        {"product_id": pump["id"], "name": "Flow", "value": "600", "unit": "l/min", "position": 1},
    )
    quote = store.insert(
        QUOTE,
        {
            "number": "Q-2026-K7F2-0001",
            "revision": 1,
            "account_id": acme["id"],
            "opportunity_id": opp["id"],
            "contact_id": hans["id"],
            "currency": "EUR",
            "valid_until": date(2026, 12, 31),
            "status": "sent",
            "sent_at": datetime(2026, 11, 21, 16, 0, tzinfo=UTC),
        },
    )
    store.insert(
        QUOTE_LINE,
        {
            "quote_id": quote["id"],
            "position": 1,
            "product_id": pump["id"],
            "sku": "PMP-100",
            "description": "Pump 100",
            "quantity": Decimal("2"),
            "unit_price": Decimal("1250.00"),
            "discount_percent": Decimal("5"),
            "tax_rate": Decimal("19"),
            "configuration": "Voltage=24V",
        },
    )
    for position, (value, extra) in enumerate((("24V", "0"), ("230V", "45.50")), start=1):
        store.insert(
            PRODUCT_OPTION,
            {
                "product_id": pump["id"],
                "attribute": "Voltage",
                "value": value,
                "extra": Decimal(extra),
                "sku_suffix": value,
                "is_default": position == 1,
                "required": True,
                "position": position,
            },
        )
    store.insert(
        OPTION_RULE,
        {
            "product_id": pump["id"],
            "when_options": "Voltage=230V",
            "action": "exclude",
            "target": "Voltage=24V",
            "message": "one voltage",
            "position": 1,
        },
    )
    fair = store.insert(
        CAMPAIGN,
        {
            "name": "Hannover Messe",
            "kind": "trade-show",
            "starts_on": date(2026, 4, 20),
            "ends_on": date(2026, 4, 24),
            "venue": "Hannover",
            "booth": "H12 B4",
            "url": "hannovermesse.de",
            "budget": Decimal("12000.00"),
            "actual_cost": Decimal("13250.50"),
            "currency": "EUR",
            "status": "done",
            "goals": "20 qualified leads",
            "report": "Busy booth;\nthe pump demo drew crowds",
            "owner": "anna",
        },
    )
    store.insert(
        CAMPAIGN_MEMBER,
        {
            "campaign_id": fair["id"],
            "contact_id": hans["id"],
            "status": "met",
            "responded": True,
            "captured_at": datetime(2026, 4, 21, 10, 15, tzinfo=UTC),
            "owner": "anna",
        },
    )
    # (No lead.campaign_id here: the CSV round trip imports leads without campaigns;
    # tests/test_event_cli.py covers it.)
    order = store.insert(
        ORDER,
        {
            "number": "O-2026-K7F2-0001",
            "quote_id": quote["id"],
            "account_id": acme["id"],
            "currency": "EUR",
            "customer_po": "PO-4711",
            "requested_date": date(2026, 12, 15),
            "status": "submitted",
            "submitted_at": datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
            "owner": "anna",
        },
    )
    store.insert(
        ORDER_LINE,
        {
            "order_id": order["id"],
            "position": 1,
            "description": "Pump 100",
            "quantity": Decimal("2"),
            "unit_price": Decimal("1250.00"),
            "tax_rate": Decimal("19"),
            "delivered_quantity": Decimal("1"),
        },
    )
    contract = store.insert(
        CONTRACT,
        {
            "number": "C-2026-K7F2-0001",
            "revision": 1,
            "account_id": acme["id"],
            "title": "Pump maintenance",
            "start_date": date(2026, 1, 1),
            "term_months": 12,
            "end_date": date(2026, 12, 31),
            "auto_renew": True,
            "notice_days": 90,
            "value": Decimal("1200.00"),
            "currency": "EUR",
            "billing": "monthly",
            "status": "in approval",
            "owner": "anna",
            "team": "north",
        },
    )
    store.insert(
        CONTRACT_LINE,
        {
            "contract_id": contract["id"],
            "position": 1,
            "description": "Maintenance",
            "quantity": Decimal("12"),
            "unit_price": Decimal("100"),
        },
    )
    store.insert(
        APPROVAL,
        {
            "entity": "contract",
            "record_id": contract["id"],
            "action": "submit",
            "by": "anna",
            "at": datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
            "comment": "standard terms",
            "owner": "anna",
            "team": "north",
        },
    )
    store.insert(
        DOCUMENT,
        {
            "title": "Pump 100 datasheet",
            "kind": "datasheet",
            "filename": "pump-100.pdf",
            "media_type": "application/pdf",
            "size": 1234,
            "sha256": "ab" * 32,
            "record_entity": "product",
            "record_id": pump["id"],
            "language": "de",
            "valid_until": date(2027, 6, 30),
            "version": 1,
        },
    )
    # The manager's records (issue 14).
    store.insert(
        APPROVAL,
        {
            "entity": "quote",
            "record_id": quote["id"],
            "action": "submit",
            "by": "anna",
            "at": datetime(2026, 11, 21, 15, 0, tzinfo=UTC),
            "comment": "10 % for the second pump",
            "owner": "anna",
            "team": "north",
        },
    )
    store.insert(
        POLICY,
        {
            "name": "sales",
            "stages": '[{"name":"won","probability":100,"category":"closed","stall_days":21,"key_fields":[]},'
            '{"name":"lost","probability":0,"category":"omitted","stall_days":21,"key_fields":[]}]',
            "strict": True,
            "line_discount_limit": Decimal("15"),
            "team": "south",
        },
    )
    dealers = store.insert(
        PRICE_LIST, {"name": "Dealers", "currency": "EUR", "customer_group": "Machinery", "active": True}
    )
    store.insert(
        PRICE_LIST_ITEM,
        {
            "price_list_id": dealers["id"],
            "product_id": pump["id"],
            "min_quantity": Decimal("5"),
            "unit_price": Decimal("1100.00"),
        },
    )
    store.insert(
        TARGET,
        {
            "period": "2026-Q4",
            "metric": "won_amount",
            "value": Decimal("250000"),
            "stretch": Decimal("300000"),
            "currency": "EUR",
            "owner": "anna",
            "team": "north",
        },
    )
    store.insert(
        REVIEW,
        {
            "rep": "anna",
            "period": "2026-Q3",
            "reviewer": "max",
            "scores": '{"won_amount": 4}',
            "strengths": "Closes well;\nkeeps her pipeline clean",
            "status": "shared",
            "owner": "anna",
            "team": "north",
        },
    )
    store.insert(
        PLAYBOOK,
        {
            "stage": "qualification",
            "title": "Call the decision maker",
            "kind": "call",
            "due_days": 3,
            "required": True,
            "team": "north",
            "notes": "Ask for the budget\nand the timeline",
        },
    )
    store.insert(
        TERRITORY,
        {
            "name": "north",
            "manager": "max",
            "rules": "postcode 10000-19999\ncountry Germany",
            "priority": 2,
            "members": "anna owner\nbob overlay",
        },
    )
    store.insert(
        COMPETITOR,
        {
            "name": "Kessler Automation",
            "website": "kessler.example",
            "team": "north",
            "notes": "cheap;\nslow",
        },
    )
    store.update(CONTACT, hans["id"], {"title": "Head of purchasing"})
    return {
        "account": acme["id"],
        "hans": hans["id"],
        "eva": eva["id"],
        "lead": lead["id"],
        "opp": opp["id"],
        "visit": visit["id"],
        "task": task["id"],
        "quote": quote["id"],
    }
