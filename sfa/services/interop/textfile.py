"""Reading text files other programs wrote: encodings, BOMs, binary detection, CSV dialects.

Every reader here refuses a file that is not text with one clear line, before anything is written.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sfa.domain.errors import NotFoundError, SfaError

_DELIMITERS = (",", ";", "\t", "|")
_SEP_LINE = re.compile(r"^\s*sep=(.)\s*$", re.IGNORECASE)  # Excel's "sep=;" first line
csv.field_size_limit(10_000_000)


class FileRefused(SfaError):
    """The whole file cannot be read as the format asked for; nothing was written."""


def read_text(path: Path, kind: str) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252.

    The path "-" reads standard input.
    """
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileRefused(f"{path} is a directory, not a {kind} file") from None
    except OSError as exc:
        raise FileRefused(f"{path}: cannot read: {exc.strerror}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise FileRefused(f"{path} is not a {kind} file: it is not valid UTF-16 text") from None
    if b"\x00" in data[:65536]:
        raise FileRefused(f"{path} is not a {kind} file: it holds binary data")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet exports on Windows are often cp1252; latin-1 accepts any byte.
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    sample = text[:65536]
    control = sum(1 for c in sample if c < " " and c not in "\r\n\t\f")
    if sample and control > len(sample) // 100:
        raise FileRefused(f"{path} is not a {kind} file: it holds binary data")
    return text


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line number where the row starts, cells)
    delimiter: str
    header_line: int
    broken: list[tuple[int, str]] = field(default_factory=list)  # (line, why it is not a row)


def sniff_delimiter(line: str) -> str:
    """The delimiter of a header line: the candidate found most often outside quotes."""
    outside = re.sub(r'"[^"]*"', "", line)
    counts = {d: outside.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(path: Path, header_from: int = 1) -> Table:
    """Parse a CSV file: BOM, "sep=" line, delimiter sniffing, quoting and embedded newlines.

    Quoting is read strictly: a row the csv module cannot read (a quote opened and never closed,
    which would otherwise swallow the rest of the file into one field; text after a closing
    quote) is set aside in `broken` with its line, and reading goes on from the line after it.
    """
    # The same line breaks csv counts (\n, \r\n, \r), read without copying the text.
    buffer = io.StringIO(read_text(path, "CSV"), newline="")
    skipped = 0
    line = buffer.readline()
    while line and (not line.strip() or skipped + 1 < header_from):  # blank, or a title above the header
        skipped += 1
        line = buffer.readline()
    if not line:
        raise FileRefused(f"{path} is empty: there is no header line")
    delimiter: str | None = None
    sep = _SEP_LINE.match(line)
    if sep:
        delimiter = sep.group(1)
        skipped += 1
        line = buffer.readline()
        if not line:
            raise FileRefused(f"{path} has no header line")
    if delimiter is None:
        delimiter = sniff_delimiter(line)
    # Parse from the header line on: step back over the line just read.
    offset = buffer.tell() - len(line)
    line_number = 1 + skipped  # the physical line at `offset`
    table = Table([], [], delimiter, 0)
    header_seen = False
    while True:
        buffer.seek(offset)
        reader = csv.reader(buffer, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
        previous_end = 0
        try:
            for cells in reader:
                start = previous_end + line_number
                previous_end = reader.line_num
                if not cells or all(not c.strip() for c in cells):
                    continue
                if not header_seen:
                    table.header = [c.strip() for c in cells]
                    table.header_line = start
                    header_seen = True
                    continue
                table.rows.append((start, cells))
            break
        except csv.Error as exc:
            bad = previous_end + line_number  # the line the unreadable row starts on
            if not header_seen:
                raise FileRefused(f"{path}: line {bad}: cannot read the CSV header: {exc}") from None
            table.broken.append((bad, _why_unreadable(exc)))
        # Go on from the line after the one the bad row starts on.
        buffer.seek(offset)
        for _ in range(bad + 1 - line_number):
            buffer.readline()
        offset, line_number = buffer.tell(), bad + 1
    if not header_seen:
        raise FileRefused(f"{path} has no header line")
    return table


def first_lines(path: Path, count: int) -> list[tuple[int, list[str]]]:
    """The first `count` non-blank physical lines, each split by its own sniffed delimiter, with
    their line numbers: candidates for a header below title lines (a report's name, a date)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError:
        return []
    text = head.decode("utf-8-sig", errors="replace")
    buffer = io.StringIO(text, newline="")
    found: list[tuple[int, list[str]]] = []
    for number, line in enumerate(iter(buffer.readline, ""), 1):
        if len(found) == count or not line.endswith(("\n", "\r")):
            break  # enough, or a line the 64 KiB cut short
        if line.strip():
            cells = next(csv.reader([line.rstrip("\r\n")], delimiter=sniff_delimiter(line)), [])
            found.append((number, [c.strip() for c in cells]))
    return found


def _why_unreadable(exc: csv.Error) -> str:
    text = str(exc)
    if "end of data" in text:  # the end of the file inside a quoted value
        return "a quote opened on this line is never closed; the line is skipped"
    if "expected after" in text:
        return f'text follows a closing quote ({text}); quote the whole value, doubling quotes inside ("")'
    return f"cannot read this line as CSV: {text}"
