"""A small, fixed sample store, with dates relative to a given day.

The dashboard's tests and snapshots use it, with a frozen "today", so that every run paints the same
screens (an empty store is offered the demo company of sfa.services.demo instead). Everything is written through the services, in one transaction.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sfa.domain.dates import local_today
from sfa.services import config, crm, demo, leads, products, quotes, records, tasks, visits
from sfa.store.workspace import Workspace

ACCOUNTS = [
    # name, industry, city, phone, lat, lon
    ("Alpenblick Hotel", "hospitality", "Garmisch", "+49 8821 1234", 47.492, 11.095),
    ("Brauerei Huber", "food & drink", "Freising", "+49 8161 5550", 48.403, 11.741),
    ("Chiemsee Kliniken", "health", "Prien", "+49 8051 6060", 47.856, 12.346),
    ("Donau Logistik", "logistics", "Regensburg", "+49 941 77 880", 49.013, 12.101),
]
CONTACTS = [
    # name, title, email, account index
    ("Anna Berger", "Purchasing", "anna.berger@alpenblick.example", 0),
    ("Max Huber", "Owner", "max@huber-bier.example", 1),
    ("Lena Wolf", "Head of IT", "l.wolf@chiemsee-kliniken.example", 2),
    ("Tobias Keller", "CFO", "t.keller@chiemsee-kliniken.example", 2),
    ("Sara Yilmaz", "Ops manager", "s.yilmaz@donau-logistik.example", 3),
]
LEADS = [
    # name, company, email, rating, source
    ("Jonas Maier", "Maier Bau", "jonas@maier-bau.example", "hot", "trade fair"),
    ("Eva Schmid", "Seehotel Schmid", "eva@seehotel.example", "warm", "website"),
    ("Paul Richter", "Richter & Söhne", "paul@richter.example", "cold", "cold call"),
    ("Max Huber", "Brauerei Huber", "max@huber-bier.example", "warm", "referral"),  # a known contact
    ("Nina Vogel", "Vogel Reisen", "nina@vogel-reisen.example", "hot", "website"),
]
OPPORTUNITIES = [
    # name, account index, stage, amount, close in days
    ("Guest Wi-Fi refresh", 0, "qualification", "18000", 21),
    ("Spa booking system", 0, "quotation sent", "42000", 5),
    ("Brewery ERP link", 1, "identification", "9500", 45),
    ("Bottling line sensors", 1, "rfp received", "64000", 30),
    ("Patient portal", 2, "final stage", "120000", 3),
    ("Clinic tablets", 2, "initiation", "15000", 60),
    ("Fleet telematics", 3, "quotation sent", "88000", 12),
    ("Warehouse scanners", 3, "qualification", "27500", 25),
]
PRODUCTS = [
    # sku, name, price, tax rate
    ("AP-6", "Wi-Fi 6 access point", "349", "19"),
    ("SVC-DAY", "Installation day", "980", "19"),
    ("LIC-SPA", "Spa booking licence, 1 year", "4800", "19"),
]


def load(ws: Workspace, today: date | None = None, now: datetime | None = None) -> dict[str, int]:
    """Write the sample; returns how many records of each kind were added."""
    day = today or local_today(now)
    counts = {
        "accounts": 0,
        "contacts": 0,
        "leads": 0,
        "opportunities": 0,
        "visits": 0,
        "tasks": 0,
        "products": 0,
        "quotes": 0,
    }
    with records.all_or_nothing(ws):
        accounts = []
        for name, industry, city, phone, lat, lon in ACCOUNTS:
            accounts.append(
                crm.add_account(
                    ws,
                    {
                        "name": name,
                        "industry": industry,
                        "city": city,
                        "phone": phone,
                        "latitude": str(lat),
                        "longitude": str(lon),
                    },
                )
            )
        contacts = []
        for name, title, email, index in CONTACTS:
            contacts.append(
                crm.add_contact(
                    ws, {"name": name, "title": title, "email": email, "account_id": accounts[index]["id"]}
                )
            )
        for name, company, email, rating, source in LEADS:
            leads.add_lead(
                ws,
                {"name": name, "company": company, "email": email, "rating": rating, "source": source},
                allow_duplicate=True,
            )
        opps = {}
        for name, index, stage, amount, days in OPPORTUNITIES:
            opps[name] = crm.add_opportunity(
                ws,
                {
                    "name": name,
                    "account_id": accounts[index]["id"],
                    "stage": stage,
                    "amount": amount,
                    "close_date": (day + timedelta(days=days)).isoformat(),
                },
            )
        counts.update(
            accounts=len(accounts), contacts=len(contacts), leads=len(LEADS), opportunities=len(OPPORTUNITIES)
        )
        plan: list[tuple[int, str, str]] = [
            (2, "09:00", "demo the patient portal"),
            (1, "11:30", "sensor trial review"),
            (0, "15:00", "spa system walkthrough"),
        ]
        for index, clock, purpose in plan:
            visits.plan_visit(
                ws,
                account_ref=accounts[index]["id"],
                at=f"{day.isoformat()} {clock}",
                contact_refs=[contacts[index + (1 if index == 2 else 0)]["id"]],
                purpose=purpose,
                allow_overlap=True,
            )
        # a visit of last Friday never logged (Today's "to log"), and Wednesday's flexible visits
        # (no fixed time: the route orders them, from home in Munich)
        visits.plan_visit(
            ws,
            account_ref=accounts[3]["id"],
            at=f"{(day - timedelta(days=3)).isoformat()} 10:00",
            purpose="fleet check-in",
            allow_overlap=True,
        )
        flexible = [(3, "scanner demo"), (0, "Wi-Fi site survey"), (1, "bottling line walk")]
        for index, purpose in flexible:
            visits.plan_visit(
                ws,
                account_ref=accounts[index]["id"],
                at=(day + timedelta(days=2)).isoformat(),
                purpose=purpose,
            )
        counts["visits"] = len(plan) + 1 + len(flexible)
        if not ws.setting("home.latitude"):
            config.set_value(ws, "home.latitude", "48.137")
            config.set_value(ws, "home.longitude", "11.575")
        todo: list[tuple[str, int | None, int]] = [
            ("Send Wi-Fi site survey", -2, 0),
            ("Call Max about the trial", 0, 1),
            ("Prepare portal pricing", 1, 2),
            ("Update the fleet contacts", None, 3),
        ]
        for title, offset, index in todo:
            tasks.add_task(
                ws,
                title,
                due=(day + timedelta(days=offset)).isoformat() if offset is not None else None,
                links={"account": accounts[index]["id"]},
            )
        counts["tasks"] = len(todo)
        for sku, name, price, tax in PRODUCTS:
            products.add_product(ws, {"sku": sku, "name": name, "unit_price": price, "tax_rate": tax})
        draft = quotes.new_quote(
            ws, opp_ref=opps["Guest Wi-Fi refresh"]["id"], valid_until=(day + timedelta(days=30)).isoformat()
        )
        quotes.add_line(ws, draft["id"], product_ref="AP-6", qty="12", discount="5%")
        quotes.add_line(ws, draft["id"], product_ref="SVC-DAY", qty="2")
        sent = quotes.new_quote(
            ws, opp_ref=opps["Spa booking system"]["id"], valid_until=(day + timedelta(days=5)).isoformat()
        )
        quotes.add_line(ws, sent["id"], product_ref="LIC-SPA", qty="1")
        quotes.add_line(ws, sent["id"], description="Printed manuals", price="120", qty="3", tax="7")
        quotes.send(ws, sent["id"])
        counts.update(products=len(PRODUCTS), quotes=2)
    return counts


def load_demo(ws: Workspace, now: datetime | None = None) -> str:
    """The empty-store offer: the demo company (sfa.services.demo), as `sfa demo` makes it."""
    result = demo.generate(ws)
    return "demo data loaded: " + ", ".join(f"{n} {k}" for k, n in result.counts.items() if n)
