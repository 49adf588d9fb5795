"""Which CSV column fills which field: the guessed mapping, and --map overrides.

Headers are compared by a folded key: lower case, accents and everything but letters and digits
removed, so "E-mail Address", "e_mail address" and "EMAIL ADDRESS" are the same column. For each
target the aliases are listed most specific first; the first one present in the file wins, which is
how Outlook's "Job Title" beats its "Title" (the honorific).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sfa.domain import normalize
from sfa.domain.entities import ENTITIES
from sfa.domain.errors import UsageError

# Targets that are not fields: name parts joined into "name", and an account found by its name.
NAME_PARTS = ("first_name", "middle_name", "last_name")
ACCOUNT_BY_NAME = "account"
IGNORE = ("-", "ignore", "skip")
# Columns an sfa export writes that an import must not take as values.
NEVER = {"id", "ref", "handle", "createdat", "updatedat", "deleted"}

_NAME = ["name", "fullname", "displayname"]
_PERSON = {
    "first_name": ["firstname", "givenname", "forename", "vorname", "prenom"],
    "middle_name": ["middlename", "additionalname", "middlenames"],
    "last_name": ["lastname", "surname", "familyname", "nachname", "nom"],
    "email": [
        "email",
        "emailaddress",
        "email1value",
        "email1",
        "primaryemail",
        "workemail",
        "businessemail",
        "emailadresse",
        "mail",
    ],
    "phone": [
        "phone",
        "businessphone",
        "workphone",
        "officephone",
        "phonenumber",
        "telephone",
        "primaryphone",
        "mainphone",
        "phone1value",
        "telefon",
        "tel",
    ],
    "notes": ["notes", "note", "description", "comments", "comment", "notizen"],
    "tags": ["tags", "labels", "categories", "groupmembership", "groups"],
    "team": ["team", "territory"],
}
_COMPANY = [
    "accountname",
    "company",
    "companyname",
    "organization",
    "organisation",
    "organization1name",
    "account",
    "firma",
    "organisationname",
    "organizationname",
]

ALIASES: dict[str, dict[str, list[str]]] = {
    "contact": {
        "name": [*_NAME, "contactname", "contact"],
        **_PERSON,
        "title": ["jobtitle", "title", "position", "organization1title", "organizationtitle", "role"],
        "mobile": [
            "mobile",
            "mobilephone",
            "mobilephonenumber",
            "cell",
            "cellphone",
            "mobilenumber",
            "handy",
            "mobil",
        ],
        ACCOUNT_BY_NAME: _COMPANY,
        "owner": ["owner", "contactowner"],
    },
    "lead": {
        "name": [*_NAME, "leadname", "contactname"],
        **_PERSON,
        "company": _COMPANY,
        "source": ["source", "leadsource"],
        "status": ["status", "leadstatus"],
        "rating": ["rating", "leadrating"],
        "owner": ["owner", "leadowner"],
    },
    "account": {
        "name": ["name", "accountname", "company", "companyname", "organization", "organisation", "firma"],
        "industry": ["industry", "branche", "sector"],
        "phone": [
            "phone",
            "businessphone",
            "mainphone",
            "telephone",
            "phonenumber",
            "officephone",
            "telefon",
        ],
        "email": ["email", "emailaddress", "generalemail"],
        "website": ["website", "web", "webpage", "webaddress", "url", "homepage", "site"],
        "street": [
            "street",
            "billingstreet",
            "address",
            "streetaddress",
            "address1",
            "businessstreet",
            "mailingstreet",
            "strasse",
        ],
        "city": ["city", "billingcity", "businesscity", "town", "ort", "stadt"],
        "postcode": [
            "postcode",
            "zip",
            "zipcode",
            "postalcode",
            "billingzippostalcode",
            "billingpostalcode",
            "businesspostalcode",
            "plz",
        ],
        "country": ["country", "billingcountry", "businesscountryregion", "countryregion", "land"],
        "latitude": ["latitude", "lat"],
        "longitude": ["longitude", "lng", "lon", "long"],
        "notes": ["notes", "note", "description", "comments"],
        "tags": ["tags", "labels", "categories"],
        "owner": ["owner", "accountowner"],
        "team": ["team", "territory"],
    },
    "product": {
        "sku": [
            "sku",
            "productcode",
            "code",
            "itemnumber",
            "itemcode",
            "articlenumber",
            "partnumber",
            "artikelnummer",
            "productid",
        ],
        "name": ["name", "productname", "itemname", "item", "product", "title"],
        "description": ["description", "productdescription", "details"],
        "unit_price": ["unitprice", "price", "listprice", "salesprice", "preis", "netprice"],
        "currency": ["currency", "currencycode", "currencyisocode"],
        "tax_rate": ["taxrate", "tax", "vat", "vatrate", "taxpercent", "mwst"],
        "active": ["active", "isactive", "enabled"],
    },
    "opportunity": {
        "name": ["name", "opportunityname", "dealname", "dealtitle", "opportunity", "deal", "title"],
        ACCOUNT_BY_NAME: [*_COMPANY, "dealorganization"],
        "amount": ["amount", "value", "dealvalue", "opportunityamount", "dealamount"],
        "currency": ["currency", "currencycode", "currencyisocode", "dealcurrency"],
        "stage": ["stage", "dealstage", "salesstage", "opportunitystage"],
        "probability": [
            "probability",
            "probabilitypct",
            "probabilitypercent",
            "winprobability",
            "dealprobability",
        ],
        "close_date": [
            "closedate",
            "expectedclosedate",
            "closingdate",
            "expectedclose",
            "dealexpectedclosedate",
        ],
        "next_step": ["nextstep"],
        "lost_reason": ["lostreason", "reasonlost", "lossreason"],
        "notes": ["notes", "note", "description", "comments"],
        "tags": ["tags", "labels"],
        "owner": ["owner", "opportunityowner", "dealowner"],
        "team": ["team", "territory"],
    },
}

# What each import needs, as alternatives: any one group of targets fully present will do.
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "contact": [("name",), ("first_name",), ("last_name",)],
    "lead": [("name",), ("first_name",), ("last_name",)],
    "account": [("name",)],
    "product": [("sku", "name", "unit_price")],
    "opportunity": [("name", ACCOUNT_BY_NAME), ("name", "account_id")],
}


def column_key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", normalize.fold(header))


def targets(entity_name: str) -> list[str]:
    """Every target a column may be mapped to for this record type."""
    entity = ENTITIES[entity_name]
    found = [f.name for f in entity.fields if f.name != "deleted"]
    extra = list(NAME_PARTS) if entity_name in ("contact", "lead") else []
    if entity_name in ("contact", "opportunity"):
        extra.append(ACCOUNT_BY_NAME)
    return found + extra


@dataclass
class Mapping:
    columns: list[tuple[int, str]]  # (column index, target)
    ignored: list[str]  # header names no target was found for
    id_column: int | None = None  # a column named "id": sfa ids are kept, others are not used
    # Google Contacts' "Phone 1 - Label" / "Phone 1 - Value" pairs: (label column, value column);
    # the label of each row says whether the number is a mobile.
    labelled_phones: list[tuple[int, int]] = field(default_factory=list)

    def as_dict(self, header: Sequence[str]) -> dict[str, str]:
        shown = {header[i]: target for i, target in self.columns}
        for label, value in self.labelled_phones:
            shown[header[value]] = f"mobile or phone, by {header[label]}"
        if self.id_column is not None:
            shown[header[self.id_column]] = "id (an sfa id is kept)"
        return shown


_LABELLED_PHONE = re.compile(r"phone(\d)(value|label|type)")


def _labelled_phones(keys: Sequence[str], handled: set[int]) -> list[tuple[int, int]]:
    """Pairs of a phone's label and value columns (Google Contacts), in the file's order."""
    found: dict[str, dict[str, int]] = {}
    for index, key in enumerate(keys):
        match = _LABELLED_PHONE.fullmatch(key)
        if match and index not in handled:
            found.setdefault(match.group(1), {})["value" if match.group(2) == "value" else "label"] = index
    return [(pair["label"], pair["value"]) for _, pair in sorted(found.items()) if len(pair) == 2]


def _find_column(header: Sequence[str], wanted: str) -> int:
    for match in (
        lambda h: h == wanted,
        lambda h: h.lower() == wanted.lower(),
        lambda h: column_key(h) == column_key(wanted),
    ):
        for index, name in enumerate(header):
            if match(name):
                return index
    raise UsageError(
        f"map {wanted!r}: the file has no such column; its columns are {', '.join(header)}", asks_for=("map",)
    )


def parse_overrides(entity_name: str, specs: Sequence[str]) -> list[tuple[str, str | None]]:
    """--map "COLUMN=field" options; field "-" ignores the column."""
    allowed = targets(entity_name)
    result: list[tuple[str, str | None]] = []
    for spec in specs:
        column, eq, target = spec.rpartition("=")
        if not eq or not column.strip():
            raise UsageError(
                f"map {spec!r}: expected COLUMN=FIELD, e.g. 'Company=account'", asks_for=("map",)
            )
        name = target.strip().lower().replace("-", "_") if target.strip() not in IGNORE else "-"
        if name in ("", "-", "ignore", "skip"):
            result.append((column.strip(), None))
            continue
        if name == "opp":
            name = "opportunity"
        if name not in allowed:
            raise UsageError(
                f"map {spec!r}: a {entity_name} has no field {target.strip()!r}; use one of "
                f"{', '.join(allowed)}, or - to ignore the column",
                asks_for=("map",),
            )
        result.append((column.strip(), name))
    return result


def guess(entity_name: str, header: Sequence[str], overrides: Sequence[tuple[str, str | None]]) -> Mapping:
    """The column for each target: --map first, then the aliases, then a field's own name."""
    chosen: dict[int, str] = {}
    handled: set[int] = set()
    for column, target in overrides:
        index = _find_column(header, column)
        handled.add(index)
        if target is not None:
            for other, existing in list(chosen.items()):
                if existing == target:
                    del chosen[other]
            chosen[index] = target
    keys = [column_key(h) for h in header]
    labelled = _labelled_phones(keys, handled) if "mobile" in targets(entity_name) else []
    for label, value in labelled:
        handled.update((label, value))
    taken = set(chosen.values())
    allowed = targets(entity_name)
    aliases = ALIASES[entity_name]
    for target in allowed:
        if target in taken:
            continue
        candidates = [*aliases.get(target, []), column_key(target)]
        for alias in candidates:
            found = next((i for i, k in enumerate(keys) if k == alias and i not in handled), None)
            if found is not None:
                chosen[found] = target
                handled.add(found)
                taken.add(target)
                break
    paired = {index for pair in labelled for index in pair}
    ignored = [
        h for i, h in enumerate(header) if i not in chosen and i not in paired and keys[i] not in NEVER and h
    ]
    id_column = next((i for i, k in enumerate(keys) if k == "id" and i not in handled), None)
    return Mapping(sorted(chosen.items()), ignored, id_column, labelled)


def missing_required(entity_name: str, mapping: Mapping) -> tuple[str, ...] | None:
    """The first required group none of whose alternatives is mapped, or None when all is there."""
    mapped = {target for _, target in mapping.columns}
    groups = REQUIRED[entity_name]
    if any(all(t in mapped for t in group) for group in groups):
        return None
    # Name the smallest set of targets still missing from the most complete alternative.
    best = max(groups, key=lambda g: sum(t in mapped for t in g))
    return tuple(t for t in best if t not in mapped)
