"""Personal names between one "name" field and the given/family parts other tools keep apart.

sfa keeps a person's name in one field, as people write it ("Hans Müller"). Address books (vCard
N), and many CRM exports ("First Name", "Last Name") keep the parts apart, so names are joined on
the way in and split on the way out.
"""

from __future__ import annotations

# Lower-case particles that belong to the family name: "Ludwig van Beethoven" -> "van Beethoven".
_PARTICLES = {
    "van",
    "von",
    "de",
    "der",
    "den",
    "del",
    "della",
    "di",
    "da",
    "du",
    "la",
    "le",
    "zu",
    "ten",
    "ter",
    "bin",
    "ibn",
    "al",
    "dos",
    "das",
    "do",
}


def join_name(*parts: str | None) -> str:
    """First, middle and last name (any may be empty) as one name."""
    return " ".join(" ".join(p.split()) for p in parts if p and p.strip())


# Words that open or close a name without being part of the given or family name.
_PREFIXES = {"dr", "prof", "mr", "mrs", "ms", "mx", "herr", "frau", "sir", "dame", "dipl-ing", "ing"}
_SUFFIXES = {
    "jr",
    "sr",
    "ii",
    "iii",
    "iv",
    "phd",
    "md",
    "mba",
    "esq",
    "dds",
    "cpa",
    "msc",
    "bsc",
    "ma",
    "ba",
    "jd",
    "rn",
}


def _bare(word: str) -> str:
    return word.lower().replace(".", "").strip(",")


def unflip(name: str) -> str:
    """ "Müller, Hans" -> "Hans Müller": a family-name-first export with exactly one comma. A comma
    before a suffix ("Hans Müller, PhD") is not a flip."""
    family, comma, given = name.partition(",")
    if not comma or "," in given or not family.strip() or not given.strip():
        return name.strip()
    words = given.split()
    if all(_bare(word) in _SUFFIXES for word in words):
        return " ".join(name.split())
    end = len(words)
    while end > 1 and _bare(words[end - 1]) in _SUFFIXES:  # "Müller, Hans Jr." -> "Hans Müller Jr."
        end -= 1
    return join_name(" ".join(words[:end]), family, " ".join(words[end:]))


def name_parts(name: str) -> tuple[str, str, str, str]:
    """ "Dr. Hans Peter Müller, PhD" -> ("Dr.", "Hans Peter", "Müller", "PhD"): honorific prefixes,
    given names, family name (with its particles), suffixes; for vCard's N."""
    words = unflip(name).replace(",", " ").split()
    start = 0
    while start < len(words) - 1 and _bare(words[start]) in _PREFIXES:
        start += 1
    end = len(words)
    while end - 1 > start and _bare(words[end - 1]) in _SUFFIXES:
        end -= 1
    given, family = split_name(" ".join(words[start:end]))
    return " ".join(words[:start]), given, family, " ".join(words[end:])


def split_name(name: str) -> tuple[str, str]:
    """ "Hans Peter Müller" -> ("Hans Peter", "Müller"); "Anna van der Berg" -> ("Anna", "van der Berg").

    A single word is kept as the family name (vCard N needs one; address books show it either way).
    """
    words = unflip(name).split()
    if not words:
        return "", ""
    if len(words) == 1:
        return "", words[0]
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in _PARTICLES:
        start -= 1
    return " ".join(words[:start]), " ".join(words[start:])
