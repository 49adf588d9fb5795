"""Normalisation of what people type, and the keys the duplicate check compares."""

from __future__ import annotations

import re
import unicodedata

from sfa.domain.errors import ValidationError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_CHARS = re.compile(r"^[+0-9 ()./\-]+$")
_URL = re.compile(r"^(https?://)?[\w.-]+\.[a-z]{2,}(/\S*)?$", re.IGNORECASE)
# Legal-form words that do not make two companies different.
_NOT_DIGIT = re.compile(r"\D")
_LEGAL_FORMS = {
    "gmbh",
    "ag",
    "kg",
    "ohg",
    "ug",
    "mbh",
    "co",
    "inc",
    "ltd",
    "llc",
    "plc",
    "corp",
    "corporation",
    "company",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "ab",
    "oy",
    "as",
}


_NAMED_ADDRESS = re.compile(r"^[^<>]*<([^<>]+)>$")  # "Hans Müller <hans@example.com>"
# An extension after the number: "x12", "ext. 12", "extension 12", or a tel: URI's ";ext=12".
_EXTENSION = re.compile(r"\s*(?:;ext=|\b(?:ext\.?|extension|x)\s*)(\d{1,6})$", re.IGNORECASE)


def email(text: str, field: str = "email") -> str:
    """An address as typed, without a mailto: or a display name around it."""
    value = text.strip()
    if "<" in value:  # the rare forms are looked for only where they can be (imports: 100k rows)
        named = _NAMED_ADDRESS.match(value)
        if named:
            value = named.group(1).strip()
    if ":" in value and value[:7].lower() == "mailto:":
        value = value[7:].split("?", 1)[0].strip()
    if not _EMAIL.match(value):
        raise ValidationError(field, f"{text!r} is not an email address (name@example.com)")
    return value


def email_key(value: str | None) -> str | None:
    return value.strip().lower() if value else None


def phone(text: str, field: str = "phone") -> str:
    """A phone number with its whitespace collapsed; a tel: URI's prefix dropped; an extension
    ("x12", "ext. 12", ";ext=12") kept as " ext. 12"."""
    value = " ".join(text.split())
    extension = None
    if not _PHONE_CHARS.match(value):  # letters or ";": a tel: URI or an extension, perhaps
        if value[:4].lower() == "tel:":
            value = value[4:]
        extension = _EXTENSION.search(value)
        if extension:
            value = value[: extension.start()].rstrip()
    digits = _NOT_DIGIT.sub("", value)
    if not _PHONE_CHARS.match(value) or len(digits) < 5 or len(digits) > 17:
        raise ValidationError(field, f"{text!r} is not a phone number (digits, spaces, + ( ) - /)")
    return f"{value} ext. {extension.group(1)}" if extension else value


def phone_key(value: str | None) -> str | None:
    """Digits only with a leading + for international numbers; 00 prefix read as +. The trunk
    zero written in brackets after a country code is not dialled from abroad and is dropped:
    "+49 (0)89 123456" is "+49 89 123456" (migration V6 applies the same rule to stored keys)."""
    if not value:
        return None
    text = value.strip()
    extension = _EXTENSION.search(text) if "x" in text or "X" in text else None
    if extension:  # "x12" after the number's own key: never mistaken for more of its digits
        return f"{phone_key(text[: extension.start()])}x{extension.group(1)}"
    digits = _NOT_DIGIT.sub("", text)
    international = text.startswith("+") or digits.startswith("00")
    if international and "(0)" in text:
        head, _, tail = text.partition("(0)")
        if _NOT_DIGIT.sub("", head) not in ("", "00"):  # a country code stands before it
            digits = _NOT_DIGIT.sub("", head + tail)
    if text.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    return digits


def website(text: str, field: str = "website") -> str:
    value = text.strip()
    if not _URL.match(value):
        raise ValidationError(field, f"{text!r} is not a web address (example.com)")
    return value


_NOT_WORD = re.compile(r"[^\w\s]")
# The combining diacritical marks NFKD splits off Latin letters (é -> e + U+0301): one regex pass.
_LATIN_MARKS = re.compile("[\u0300-\u036f]")


def fold(text: str) -> str:
    """Lowercase, accents and punctuation removed, whitespace collapsed."""
    if not text.isascii():  # the common ASCII case skips the decomposition
        text = _LATIN_MARKS.sub("", unicodedata.normalize("NFKD", text.replace("ß", "ss")))
        if not text.isascii():  # other scripts: drop their combining marks one by one
            text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_NOT_WORD.sub(" ", text.lower()).split())


def company_key(company: str | None) -> str:
    if not company:
        return ""
    return " ".join(w for w in fold(company).split() if w not in _LEGAL_FORMS)


def person_key(name: str | None) -> str:
    """Word order does not matter: "Müller, Hans" and "hans mueller"-less "Hans Müller" match."""
    if not name:
        return ""
    return " ".join(sorted(fold(name).split()))


def name_company_key(name: str | None, company: str | None) -> str | None:
    person = person_key(name)
    if not person:
        return None
    return f"{person}|{company_key(company)}"


def split_tags(text: str) -> list[str]:
    return sorted({t.strip().lower() for t in text.split(",") if t.strip()})
