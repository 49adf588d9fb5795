"""Text as people type it: no control characters, and line breaks only where text has lines.

The one check every path runs (options, forms, `lead add --from`, CSV and vCard imports, `import
all`): a value holding NUL or another control character (C0, DEL, C1), or half of a surrogate pair
(what undecodable bytes in a command line become), is refused naming the field. Tab and line breaks
are accepted only in fields that hold prose (notes, descriptions, reports, terms, addresses).
"""

from __future__ import annotations

import re

from sfa.domain.errors import ValidationError

# Fields whose text may run over several lines; in every other text field a line break or a tab is
# refused like any other control character.
MULTILINE_FIELDS = frozenset(
    {
        "notes",
        "text",
        "description",
        "terms",
        "report",
        "outcome",
        "street",
        "location",
        "next_step",
        "lost_reason",
        "disqualify_reason",
        "reject_reason",
        "cancel_reason",
        "strengths",
        "improvements",
        "goals",
        "rules",
        "members",
    }
)

# C0 controls, DEL, C1 controls and lone surrogates.
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")  # tab, \n allowed


def is_multiline(field: str) -> bool:
    return field in MULTILINE_FIELDS


def check_text(field: str, text: str, *, multiline: bool | None = None) -> str:
    """`text` if it holds no character the field does not allow; else a ValidationError naming it.

    In a multi-line field, Windows and old Mac line breaks (CR LF, CR) become LF.
    """
    lines = is_multiline(field) if multiline is None else multiline
    if lines and "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    bad = (_CONTROL_BUT_LINES if lines else _ANY_CONTROL).search(text)
    if bad is not None:
        raise ValidationError(field, _why(bad.group(), lines))
    return text


def _why(char: str, lines: bool) -> str:
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return "is not valid text (it holds bytes that are not UTF-8)"
    if char in "\n\r\t" and not lines:
        what = "a tab" if char == "\t" else "a line break"
        return f"holds {what}; this field is one line of text"
    name = "NUL" if code == 0 else f"U+{code:04X}"
    return f"holds the control character {name}; only printable text is accepted"
