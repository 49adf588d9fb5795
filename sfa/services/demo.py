"""`sfa demo`: a realistic company in one region (Bavaria) for trying sfa out.

The content is a pure function of the seed; dates are relative to today, so the agenda, overdue
tasks and expiring quotes always look current. Record ids and quote numbers are not seeded: ids are
UUIDv7 and numbers carry this store's replica code, like every other record's. Everything is written
in one transaction, through the store, so it is captured for sync like typed-in data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sfa.domain import prediction
from sfa.domain import quotes as rules
from sfa.domain.dates import local_today, local_zone
from sfa.domain.entities import (
    ACCOUNT,
    COMPETITOR,
    CONTACT,
    LEAD,
    OPPORTUNITY,
    PRODUCT,
    QUOTE,
    QUOTE_LINE,
    STAGE_CHANGE,
    TASK,
    TIMELINE,
    VISIT,
    Entity,
)
from sfa.domain.errors import StateError
from sfa.domain.normalize import fold
from sfa.domain.stages import LOST, WON
from sfa.services import forecasting, quotes, stage_history
from sfa.store.db import Record
from sfa.store.workspace import Workspace

DEFAULT_SEED = 2026
COUNTED: tuple[Entity, ...] = (ACCOUNT, CONTACT, LEAD, OPPORTUNITY, VISIT, TASK, PRODUCT, QUOTE)

# (city, postcode, latitude, longitude): 50 Bavarian towns.
TOWNS = [
    ("München", "80331", 48.1372, 11.5755),
    ("Augsburg", "86150", 48.3705, 10.8978),
    ("Nürnberg", "90402", 49.4521, 11.0767),
    ("Regensburg", "93047", 49.0134, 12.1016),
    ("Ingolstadt", "85049", 48.7665, 11.4258),
    ("Würzburg", "97070", 49.7913, 9.9534),
    ("Fürth", "90762", 49.4771, 10.9887),
    ("Erlangen", "91054", 49.5897, 11.0040),
    ("Bamberg", "96047", 49.8988, 10.9028),
    ("Bayreuth", "95444", 49.9456, 11.5713),
    ("Landshut", "84028", 48.5442, 12.1469),
    ("Passau", "94032", 48.5667, 13.4319),
    ("Rosenheim", "83022", 47.8561, 12.1289),
    ("Kempten", "87435", 47.7267, 10.3139),
    ("Freising", "85354", 48.4029, 11.7488),
    ("Straubing", "94315", 48.8777, 12.5801),
    ("Dachau", "85221", 48.2600, 11.4342),
    ("Aschaffenburg", "63739", 49.9769, 9.1474),
    ("Schweinfurt", "97421", 50.0492, 10.2217),
    ("Neu-Ulm", "89231", 48.3928, 10.0116),
    ("Memmingen", "87700", 47.9878, 10.1811),
    ("Amberg", "92224", 49.4447, 11.8583),
    ("Weiden", "92637", 49.6768, 12.1561),
    ("Hof", "95028", 50.3135, 11.9128),
    ("Coburg", "96450", 50.2612, 10.9627),
    ("Ansbach", "91522", 49.3007, 10.5716),
    ("Erding", "85435", 48.3064, 11.9076),
    ("Kaufbeuren", "87600", 47.8800, 10.6225),
    ("Starnberg", "82319", 47.9990, 11.3398),
    ("Traunstein", "83278", 47.8687, 12.6435),
    ("Garmisch-Partenkirchen", "82467", 47.4921, 11.0958),
    ("Deggendorf", "94469", 48.8403, 12.9601),
    ("Neumarkt", "92318", 49.2803, 11.4626),
    ("Schwabach", "91126", 49.3290, 11.0231),
    ("Germering", "82110", 48.1333, 11.3667),
    ("Fürstenfeldbruck", "82256", 48.1784, 11.2556),
    ("Pfaffenhofen", "85276", 48.5308, 11.5053),
    ("Mühldorf", "84453", 48.2470, 12.5226),
    ("Altötting", "84503", 48.2264, 12.6777),
    ("Kulmbach", "95326", 50.1006, 11.4534),
    ("Forchheim", "91301", 49.7197, 11.0581),
    ("Lindau", "88131", 47.5460, 9.6844),
    ("Günzburg", "89312", 48.4527, 10.2711),
    ("Donauwörth", "86609", 48.7184, 10.7772),
    ("Dingolfing", "84130", 48.6302, 12.4960),
    ("Weilheim", "82362", 47.8398, 11.1394),
    ("Bad Tölz", "83646", 47.7603, 11.5572),
    ("Miesbach", "83714", 47.7893, 11.8338),
    ("Cham", "93413", 49.2256, 12.6555),
    ("Kitzingen", "97318", 49.7373, 10.1583),
]
STREETS = [
    "Hauptstraße",
    "Industriestraße",
    "Gewerbepark",
    "Bahnhofstraße",
    "Am Werksgelände",
    "Max-Planck-Straße",
    "Siemensstraße",
    "Lindenweg",
    "Rudolf-Diesel-Straße",
    "Ludwigstraße",
    "Äußere Nürnberger Straße",
    "Robert-Bosch-Ring",
    "Münchner Straße",
    "Augsburger Straße",
]
SURNAMES = [
    "Huber",
    "Maier",
    "Bauer",
    "Wagner",
    "Hofmann",
    "Schmid",
    "Gruber",
    "Brandl",
    "Lechner",
    "Steiner",
    "Zimmermann",
    "Fischer",
    "Weber",
    "Kraus",
    "Pichler",
    "Obermeier",
    "Eder",
    "Reiter",
    "Wimmer",
    "Hartl",
    "Seidl",
    "Moser",
    "Lang",
    "Winkler",
    "Koch",
    "Schäfer",
    "Müller",
    "Schneider",
    "Köhler",
    "Sommer",
    "Haas",
    "Stadler",
    "Forster",
    "Aigner",
]
FIRST_NAMES = [
    "Anna",
    "Maria",
    "Sophie",
    "Katharina",
    "Laura",
    "Julia",
    "Lena",
    "Sabine",
    "Claudia",
    "Monika",
    "Theresa",
    "Franziska",
    "Andreas",
    "Thomas",
    "Michael",
    "Stefan",
    "Markus",
    "Josef",
    "Florian",
    "Matthias",
    "Christian",
    "Johannes",
    "Tobias",
    "Sebastian",
    "Jörg",
    "Günther",
    "Lukas",
    "Benedikt",
    "Veronika",
    "Elisabeth",
]
PREFIXES = [
    "Alpen",
    "Isar",
    "Donau",
    "Chiemgau",
    "Franken",
    "Allgäu",
    "Inn",
    "Lech",
    "Main",
    "Altmühl",
    "Oberland",
    "Rottal",
    "Spessart",
    "Fichtel",
]
INDUSTRIES = {
    "Manufacturing": ["Maschinenbau", "Metallbau", "Werkzeugbau", "Kunststofftechnik"],
    "Logistics": ["Logistik", "Spedition"],
    "Food & beverage": ["Brauerei", "Molkerei", "Feinkost"],
    "Construction": ["Bau", "Holzbau"],
    "Healthcare": ["Medizintechnik"],
    "Wholesale": ["Baustoffhandel", "Großhandel"],
    "Automotive": ["Fahrzeugtechnik", "Autoteile"],
    "Energy": ["Energietechnik", "Solartechnik"],
}
FORMS = ["GmbH", "GmbH", "GmbH & Co. KG", "AG", "KG", "e.K."]
TITLES = [
    "Managing Director",
    "Head of Purchasing",
    "Technical Director",
    "Production Manager",
    "Maintenance Lead",
    "Plant Manager",
    "Buyer",
    "Office Manager",
    "Head of Logistics",
]
LEAD_SOURCES = ["trade fair", "website", "referral", "cold call", "LinkedIn", "partner"]
DISQUALIFY = ["no budget", "too small", "competitor's customer", "no need"]
OPP_NAMES = [
    "Packaging line retrofit",
    "Conveyor extension hall 2",
    "Maintenance contract 2027",
    "Palletising robot cell",
    "Spare parts framework agreement",
    "Operator training programme",
    "Energy monitoring rollout",
    "Warehouse sorter",
    "Cold store conveyors",
    "Line 3 automation",
    "Control cabinet upgrade",
    "New plant fit-out",
    "Safety light curtains",
    "Service renewal",
]
REJECT_REASONS = ["price too high", "delivery time"]
LOST_REASONS = ["price", "went with competitor", "project postponed", "no budget this year"]
PURPOSES = [
    "Quarterly review",
    "Site survey for retrofit",
    "Demo of the new control unit",
    "Contract negotiation",
    "Maintenance planning",
    "Introduce new product range",
    "Commissioning check",
    "Follow-up on quote",
]
OUTCOMES = [
    "Interested, wants a quote",
    "Needs internal approval",
    "Positive; next visit in spring",
    "Price concerns; offer discount",
    "Decision in two weeks",
]
TASK_TITLES = [
    "Send revised layout",
    "Call back about delivery date",
    "Prepare quote",
    "Send brochure",
    "Check spare parts stock",
    "Book commissioning engineer",
    "Ask for purchase order",
    "Clarify payment terms",
    "Schedule training date",
    "Send maintenance report",
]
# (sku, name, unit price, tax rate)
PRODUCTS = [
    ("FT-100", "Gurtförderer Modul 1 m", "1480.00", "19"),
    ("FT-200", "Gurtförderer Modul 2 m", "2650.00", "19"),
    ("FT-K90", "Kurvenmodul 90°", "3120.00", "19"),
    ("RB-500", "Rollenbahn 500 mm", "890.00", "19"),
    ("ST-24", "Steuerung SPS kompakt", "4750.00", "19"),
    ("SN-LS", "Lichtschranken-Set", "189.00", "19"),
    ("AN-04", "Antriebseinheit 0,4 kW", "1245.00", "19"),
    ("WP-STD", "Wartungspaket Standard (Jahr)", "2400.00", "19"),
    ("WP-PRE", "Wartungspaket Premium (Jahr)", "4900.00", "19"),
    ("MO-H", "Montage (Stunde)", "95.00", "19"),
    ("IB-T", "Inbetriebnahme (Tag)", "1150.00", "19"),
    ("SC-T", "Schulung (Tag)", "980.00", "19"),
    ("ET-GUR", "Ersatzgurt 2 m", "312.50", "19"),
    ("ET-ROL", "Ersatzrollen (10 Stück)", "145.00", "19"),
    ("HB-DE", "Technisches Handbuch (Druck)", "49.90", "7"),
]
COMPANY = {
    "company.name": "Alpenblick Fördertechnik GmbH",
    "company.address": "Gewerbepark Nord 7; 85356 Freising; Germany",
    "company.vat_id": "DE812345678",
    "company.email": "vertrieb@alpenblick-foerdertechnik.de",
    "company.phone": "+49 8161 48700",
}


@dataclass
class DemoResult:
    counts: dict[str, int] = field(default_factory=dict)
    config_set: list[str] = field(default_factory=list)


def existing_records(ws: Workspace) -> dict[str, int]:
    return {e.name: n for e in COUNTED if (n := ws.store.count(e))}


def plural(name: str, count: int) -> str:
    word = "timeline entry" if name == "timeline" else name.replace("_", " ")
    if count == 1:
        return word
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def _slug(text: str) -> str:
    return "".join(c for c in fold(text).replace(" ", "-") if c.isalnum() or c == "-").strip("-")


class _Builder:
    def __init__(self, ws: Workspace, seed: int, today: date) -> None:
        self.ws = ws
        self.rng = random.Random(seed)
        self.today = today
        self.zone = local_zone()
        self.scope = {"owner": ws.owner, "team": ws.team}
        self.timeline: list[Record] = []
        self.counts: dict[str, int] = {}

    def phone(self) -> str:
        return f"+49 {self.rng.randint(800, 999)} {self.rng.randint(100000, 999999)}"

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.zone).astimezone(UTC)

    def insert(self, entity: Entity, rows: list[Record]) -> list[Record]:
        written = self.ws.store.insert_many(entity, rows)
        self.counts[entity.name] = self.counts.get(entity.name, 0) + len(written)
        return written

    def note(self, entity: Entity, record: Record, kind: str, text: str, when: datetime) -> None:
        account_id = record["id"] if entity is ACCOUNT else record.get("account_id")
        self.timeline.append(
            {
                "record_entity": entity.name,
                "record_id": record["id"],
                "account_id": account_id,
                "kind": kind,
                "text": text,
                "at": when,
                "owner": self.ws.owner,
            }
        )

    # -- people and companies ------------------------------------------------------------------------
    def accounts(self) -> list[Record]:
        rng, rows, names = self.rng, [], set()
        for city, postcode, lat, lon in TOWNS:
            industry = rng.choice(sorted(INDUSTRIES))
            while True:
                first = rng.choice(SURNAMES if rng.random() < 0.6 else PREFIXES)
                name = f"{first} {rng.choice(INDUSTRIES[industry])} {rng.choice(FORMS)}"
                if name not in names:
                    names.add(name)
                    break
            domain = f"{_slug(name.split()[0])}-{_slug(name.split()[1])}.de"
            rows.append(
                {
                    **self.scope,
                    "name": name,
                    "industry": industry,
                    "phone": f"+49 {rng.randint(800, 999)} {rng.randint(100000, 999999)}",
                    "email": f"info@{domain}",
                    "website": f"https://www.{domain}",
                    "street": f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
                    "city": city,
                    "postcode": postcode,
                    "country": "Germany",
                    "latitude": round(lat + rng.uniform(-0.015, 0.015), 5),
                    "longitude": round(lon + rng.uniform(-0.015, 0.015), 5),
                    "tags": rng.sample(["key account", "prospect", "service", "a-customer", "b-customer"], 1),
                }
            )
        return self.insert(ACCOUNT, rows)

    def contacts(self, accounts: list[Record], total: int = 150) -> dict[str, list[Record]]:
        rng = self.rng
        per_account = [total // len(accounts)] * len(accounts)
        for index in rng.sample(range(len(accounts)), total - sum(per_account)):
            per_account[index] += 1
        rows = []
        for account, count in zip(accounts, per_account, strict=True):
            domain = account["email"].split("@", 1)[1]
            for title in rng.sample(TITLES, count):
                first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
                rows.append(
                    {
                        **self.scope,
                        "name": f"{first} {last}",
                        "title": title,
                        "account_id": account["id"],
                        "email": f"{_slug(first)}.{_slug(last)}@{domain}",
                        "phone": f"{self.phone()}-{rng.randint(10, 99)}",
                        "mobile": f"+49 1{rng.randint(51, 79)} {rng.randint(1000000, 9999999)}",
                    }
                )
        by_account: dict[str, list[Record]] = {a["id"]: [] for a in accounts}
        for contact in self.insert(CONTACT, rows):
            by_account[contact["account_id"]].append(contact)
        return by_account

    def leads(self, total: int = 40) -> list[Record]:
        rng, rows = self.rng, []
        statuses = ["new"] * 14 + ["contacted"] * 12 + ["qualified"] * 8 + ["disqualified"] * 6
        for status in statuses[:total]:
            first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
            city = rng.choice(TOWNS)[0]
            company = f"{rng.choice(PREFIXES)} {rng.choice(rng.choice(list(INDUSTRIES.values())))} {city}"
            domain = f"{_slug(company.split()[0])}-{_slug(company.split()[1])}.de"
            rows.append(
                {
                    **self.scope,
                    "name": f"{first} {last}",
                    "company": company,
                    "status": status,
                    "email": f"{_slug(first)[0]}.{_slug(last)}@{domain}",
                    "phone": f"+49 {rng.randint(800, 999)} {rng.randint(100000, 999999)}",
                    "source": rng.choice(LEAD_SOURCES),
                    "rating": rng.choice(["hot", "warm", "warm", "cold"]),
                    "disqualify_reason": rng.choice(DISQUALIFY) if status == "disqualified" else None,
                }
            )
        return self.insert(LEAD, rows)

    # -- pipeline ------------------------------------------------------------------------------------
    def opportunities(
        self, accounts: list[Record], contacts: dict[str, list[Record]], total: int = 30
    ) -> list[Record]:
        rng, stages = self.rng, list(self.ws.stages)
        # Spread over every stage, more in the early and middle ones; a few won and lost.
        open_stages = [s for s in stages if not s.is_closed]
        closed = [s for s in stages if s.is_closed]
        plan = [open_stages[i % len(open_stages)] for i in range(total - 3 * len(closed))]
        plan += [s for s in closed for _ in range(3)]
        rows = []
        for stage, account in zip(plan, rng.sample(accounts, total), strict=True):
            people = contacts[account["id"]]
            closed_stage = stage.name in (WON, LOST)
            close = self.today + timedelta(
                days=rng.randint(-60, -3) if closed_stage else rng.randint(-10, 150)
            )
            rows.append(
                {
                    **self.scope,
                    "name": rng.choice(OPP_NAMES),
                    "account_id": account["id"],
                    "contact_id": rng.choice(people)["id"] if people else None,
                    "amount": Decimal(rng.randint(10, 500) * 500),
                    "currency": "EUR",
                    "stage": stage.name,
                    "probability": stage.probability,
                    "close_date": close,
                    "next_step": None if closed_stage else rng.choice(TASK_TITLES),
                    "lost_reason": rng.choice(LOST_REASONS) if stage.name == LOST else None,
                }
            )
        opps = self.insert(OPPORTUNITY, rows)
        changes = []
        for opp in opps:
            opened = self.at(self.today - timedelta(days=rng.randint(20, 120)), 9)
            self.note(OPPORTUNITY, opp, "stage", f"opened at stage {opp['stage']}", opened)
            changes.append(stage_history.change_row(opp, None, opened))
        self.ws.store.insert_many(STAGE_CHANGE, changes)
        return opps

    # -- the week ------------------------------------------------------------------------------------
    def visits(self, accounts: list[Record], contacts: dict[str, list[Record]]) -> list[Record]:
        rng, rows = self.rng, []
        next_monday = self.today + timedelta(days=7 - self.today.weekday())
        # One area a day: accounts sorted west to east, five bands for the five weekdays.
        by_longitude = sorted(accounts, key=lambda a: a["longitude"])
        band = len(by_longitude) // 5
        for day_index in range(5):
            day = next_monday + timedelta(days=day_index)
            chosen = rng.sample(by_longitude[day_index * band : (day_index + 1) * band], 3)
            for slot, account in zip(((8, 30), (11, 0), (14, 30)), chosen, strict=False):
                rows.append(self._visit(account, contacts, self.at(day, *slot), "planned"))
        last_monday = next_monday - timedelta(days=14)
        for offset, account in enumerate(rng.sample(accounts, 6)):
            start = self.at(last_monday + timedelta(days=offset % 5), rng.choice([9, 11, 14]))
            rows.append(self._visit(account, contacts, start, "done"))
        visits = self.insert(VISIT, rows)
        for visit in visits:
            if visit["status"] == "done":
                self.note(
                    VISIT, visit, "visit_report", f"{visit['outcome']}. {visit['report']}", visit["starts_at"]
                )
        return visits

    def _visit(
        self, account: Record, contacts: dict[str, list[Record]], start: datetime, status: str
    ) -> Record:
        rng = self.rng
        people = contacts[account["id"]]
        done = status == "done"
        return {
            **self.scope,
            "account_id": account["id"],
            "starts_at": start,
            "contact_ids": [rng.choice(people)["id"]] if people else [],
            "duration_min": rng.choice([45, 60, 60, 90]),
            "fixed_time": rng.random() < 0.35,
            "purpose": rng.choice(PURPOSES),
            "location": f"{account['street']}, {account['postcode']} {account['city']}",
            "latitude": account["latitude"],
            "longitude": account["longitude"],
            "status": status,
            "outcome": rng.choice(OUTCOMES) if done else None,
            "report": "Walked the line with the plant manager; notes in the shared folder." if done else None,
        }

    def tasks(
        self, accounts: list[Record], contacts: dict[str, list[Record]], opps: list[Record]
    ) -> list[Record]:
        rng, rows = self.rng, []
        plan = [("overdue", 8), ("today", 4), ("soon", 10), ("done", 6)]
        for kind, count in plan:
            for _ in range(count):
                opp = rng.choice(opps) if rng.random() < 0.5 else None
                account_id = opp["account_id"] if opp else rng.choice(accounts)["id"]
                people = contacts[account_id]
                due = {
                    "overdue": self.today - timedelta(days=rng.randint(1, 12)),
                    "today": self.today,
                    "soon": self.today + timedelta(days=rng.randint(1, 12)),
                    "done": self.today - timedelta(days=rng.randint(1, 20)),
                }[kind]
                rows.append(
                    {
                        **self.scope,
                        "title": rng.choice(TASK_TITLES),
                        "due_date": due,
                        "priority": rng.choice(["high", "normal", "normal", "low"]),
                        "status": "done" if kind == "done" else "open",
                        "done_at": self.at(due, 17) if kind == "done" else None,
                        "account_id": account_id,
                        "contact_id": rng.choice(people)["id"] if people else None,
                        "opportunity_id": opp["id"] if opp else None,
                    }
                )
        return self.insert(TASK, rows)

    # -- price list and quotes -----------------------------------------------------------------------
    def products(self) -> list[Record]:
        existing = {p["sku"].lower(): p for p in self.ws.store.select(PRODUCT, "active = 1")}
        rows = [
            {
                "sku": sku,
                "name": name,
                "unit_price": Decimal(price),
                "currency": "EUR",
                "tax_rate": Decimal(tax),
                "active": True,
            }
            for sku, name, price, tax in PRODUCTS
            if sku.lower() not in existing
        ]
        written = {p["sku"].lower(): p for p in self.insert(PRODUCT, rows)}
        return [existing.get(sku.lower()) or written[sku.lower()] for sku, *_ in PRODUCTS]

    def quotes(self, opps: list[Record], products: list[Record]) -> list[Record]:
        rng = self.rng
        by_stage: dict[str, list[Record]] = {}
        for opp in opps:
            by_stage.setdefault(opp["stage"], []).append(opp)
        open_opps = [o for o in opps if o["stage"] not in (WON, LOST)]
        used: set[str] = set()

        def pick(*stage_names: str) -> Record:
            pools = [by_stage.get(name, []) for name in stage_names] + [open_opps, opps]
            for pool in pools:
                free = [o for o in pool if o["id"] not in used]
                if free:
                    used.add(free[0]["id"])
                    return free[0]
            return rng.choice(opps)

        # (status, valid-until offset, opportunity stages to draw from)
        plan = [
            ("draft", 30, ("rfp received", "qualification")),
            ("draft", 30, ("rfp received",)),
            ("sent", 3, ("quotation sent",)),
            ("sent", 20, ("quotation sent", "final stage")),
            ("sent", 12, ("final stage", "quotation sent")),
            ("expired", -4, ("quotation sent",)),
            ("expired", -15, ("final stage",)),
            ("accepted", 10, (WON,)),
            ("accepted", 5, (WON,)),
            ("rejected", 8, (LOST,)),
            ("rejected", 2, ("qualification", LOST)),
        ]
        made = []
        for status, valid_offset, stages in plan:
            opp = pick(*stages)
            made.append(self._quote(opp, products, status, valid_offset))
        # One negotiation in two rounds: revision 1 rejected on price, revision 2 sent with a discount.
        first = self._quote(pick("final stage", "quotation sent"), products, rules.REJECTED, 6)
        made += [first, self._revision(first, rules.SENT, 25)]
        return made

    def _revision(self, previous: Record, status: str, valid_offset: int) -> Record:
        keep = ("number", "account_id", "opportunity_id", "contact_id", "currency", "terms", "owner", "team")
        sent_at = self.at(self.today - timedelta(days=1), 16)
        values = {
            **{k: previous[k] for k in keep},
            "revision": previous["revision"] + 1,
            "previous_id": previous["id"],
            "status": status,
            "sent_at": sent_at,
            "valid_until": self.today + timedelta(days=valid_offset),
        }
        quote = self.insert(QUOTE, [values])[0]
        lines = []
        for line in quotes.lines_of(self.ws, previous["id"]):
            copied = {
                k: line[k]
                for k in (
                    "position",
                    "product_id",
                    "sku",
                    "description",
                    "quantity",
                    "unit_price",
                    "tax_rate",
                )
            }
            lines.append({**copied, "quote_id": quote["id"], "discount_percent": Decimal(8)})
        self.insert(QUOTE_LINE, lines)
        label = f"quote {quote['number']} rev {quote['revision']}"
        self.note(QUOTE, quote, "status", f"{label} drafted, revising rev {previous['revision']}", sent_at)
        self.note(QUOTE, quote, "status", f"{label} sent", sent_at + timedelta(minutes=20))
        return quote

    def _quote(self, opp: Record, products: list[Record], status: str, valid_offset: int) -> Record:
        rng = self.rng
        sent_days_ago = rng.randint(5, 25)
        sent_at = self.at(self.today - timedelta(days=sent_days_ago), 10, 15)
        valid_until = self.today + timedelta(days=valid_offset)
        stored = rules.SENT if status == rules.EXPIRED else status
        decided = stored in (rules.ACCEPTED, rules.REJECTED)
        values: Record = {
            **self.scope,
            "number": quotes._allocate_number(self.ws, self.today),
            "revision": 1,
            "account_id": opp["account_id"],
            "opportunity_id": opp["id"],
            "contact_id": opp["contact_id"],
            "currency": "EUR",
            "valid_until": valid_until,
            "status": stored,
            "terms": "Payment within 30 days of invoice date, net. Delivery 6-8 weeks after order.",
            "sent_at": sent_at if stored != rules.DRAFT else None,
            "decided_at": sent_at + timedelta(days=rng.randint(2, 4)) if decided else None,
            "reject_reason": rng.choice(REJECT_REASONS) if stored == rules.REJECTED else None,
        }
        quote = self.insert(QUOTE, [values])[0]
        lines = []
        for position, product in enumerate(rng.sample(products, rng.randint(2, 6)), start=1):
            percent = Decimal(rng.choice([5, 10, 15])) if rng.random() < 0.25 else None
            lines.append(
                {
                    "quote_id": quote["id"],
                    "position": position,
                    "product_id": product["id"],
                    "sku": product["sku"],
                    "description": product["name"],
                    "quantity": Decimal(rng.choice([1, 1, 2, 3, 4, 8, 10, 16])),
                    "unit_price": product["unit_price"],
                    "tax_rate": product["tax_rate"],
                    "discount_percent": percent,
                }
            )
        self.insert(QUOTE_LINE, lines)
        drafted = sent_at - timedelta(days=1)
        self.note(QUOTE, quote, "status", f"quote {quote['number']} drafted", drafted)
        if quote["sent_at"]:
            self.note(QUOTE, quote, "status", f"quote {quote['number']} rev 1 sent", sent_at)
        if quote["decided_at"]:
            self.note(QUOTE, quote, "status", f"quote {quote['number']} rev 1 {stored}", quote["decided_at"])
        return quote


def add_history(ws: Workspace, months: int, *, seed: int = DEFAULT_SEED, deals_per_month: int = 150) -> int:
    """Add a simulated history to a store that has accounts (the benchmarks' large store); returns the
    number of deals added."""
    accounts = [{"id": row[0]} for row in ws.store.key_rows(ACCOUNT, [])]
    if not accounts:
        raise StateError("a history needs accounts to sell to; run `sfa demo` first")
    builder = _Builder(ws, seed, local_today())
    with ws.store.transaction():
        _history(builder, accounts, months, seed, deals_per_month)
    return builder.counts.get(OPPORTUNITY.name, 0)


def _history(
    builder: _Builder, accounts: list[Record], months: int, seed: int, deals_per_month: int = 150
) -> None:
    """Simulated deals of the last ``months`` (plus a run-in), each with its stage_change rows: the
    stage paths and close-date moves the simulator drew from known probabilities (prediction.simulate)."""
    stages = forecasting.stages_for(builder.ws)
    start, span = prediction.history_window(builder.today, months)
    deals = prediction.simulate(
        stages, start, span, seed=seed, deals_per_month=deals_per_month, until=builder.today
    )
    rng = random.Random(seed)
    probability = {s.name: s.probability for s in stages}
    rows = []
    for deal in deals:
        outcome = deal.outcome
        rows.append(
            {
                "owner": deal.owner,
                "team": builder.ws.team,
                "name": rng.choice(OPP_NAMES),
                "account_id": rng.choice(accounts)["id"],
                "amount": deal.amount,
                "currency": "EUR",
                "stage": deal.stage,
                "probability": probability.get(deal.stage, 0),
                "close_date": outcome[1] if outcome else deal.close_date,
                "lost_reason": rng.choice(LOST_REASONS) if deal.stage == LOST else None,
                "tags": [f"source:{deal.source}"],
            }
        )
    _competitors(builder, rows, seed)
    opps = builder.insert(OPPORTUNITY, rows)
    changes: list[Record] = []
    for deal, opp in zip(deals, opps, strict=True):
        # Steps at 09:00, close-date moves at 12:00: the same day's move comes first.
        events = sorted(
            [(s.at, 0, s.stage, None) for s in deal.steps[1:]]
            + [(c[0], 1, None, c[1]) for c in deal.close_dates[1:]],
            key=lambda e: (e[0], e[1]),
        )
        stage, close = deal.steps[0].stage, deal.close_dates[0][1]
        row = {**opp, "stage": stage, "close_date": close}
        changes.append(stage_history.change_row(row, None, builder.at(deal.created, 9)))
        for day, kind, to_stage, to_close in events:
            before = stage
            if kind == 0:
                stage = to_stage or stage
            else:
                close = to_close or close
            row = {**opp, "stage": stage, "close_date": close}
            changes.append(stage_history.change_row(row, before, builder.at(day, 9 if kind == 0 else 12)))
    builder.insert(STAGE_CHANGE, changes)


HISTORY_COMPETITORS = (("Kessler Automation", "kessler.example"), ("Nordline Systems", "nordline.example"))


def _competitors(builder: _Builder, rows: list[Record], seed: int) -> None:
    """Competitors met on the simulated deals (a separate random stream: the simulated stages and
    outcomes stay as drawn): about half the deals meet one; a deal lost "went with competitor" is
    lost to one of them (win/loss by competitor, docs/prediction.md)."""
    made = builder.insert(
        COMPETITOR, [{"name": name, "website": site, "team": None} for name, site in HISTORY_COMPETITORS]
    )
    ids = [c["id"] for c in made]
    rng = random.Random(seed * 7919 + 60)
    for row in rows:
        met = [i for i in ids if rng.random() < 0.3]
        if row["lost_reason"] == "went with competitor":
            row["lost_to"] = rng.choice(met or ids)
            met = sorted({*met, row["lost_to"]})
        row["competitors"] = met


def generate(
    ws: Workspace,
    *,
    seed: int = DEFAULT_SEED,
    force: bool = False,
    history_months: int = 0,
) -> DemoResult:
    existing = existing_records(ws)
    if existing and not force:
        held = ", ".join(f"{n} {name}{'s' if n != 1 else ''}" for name, n in existing.items())
        raise StateError(
            f"the store {ws.db_path} is not empty ({held}); force it to add the demo company anyway",
            asks_for=("force",),
        )
    builder = _Builder(ws, seed, local_today())
    with ws.store.transaction():
        accounts = builder.accounts()
        contacts = builder.contacts(accounts)
        builder.leads()
        opps = builder.opportunities(accounts, contacts)
        builder.visits(accounts, contacts)
        builder.tasks(accounts, contacts, opps)
        products = builder.products()
        builder.quotes(opps, products)
        builder.insert(TIMELINE, builder.timeline)
        if history_months:
            _history(builder, accounts, history_months, seed)
    result = DemoResult(counts=builder.counts)
    for key, value in COMPANY.items():
        if not ws.config.get(key):
            ws.config.set(key, value)
            result.config_set.append(key)
    return result


def summary(result: DemoResult) -> dict[str, Any]:
    return {"created": result.counts, "config_set": result.config_set}
