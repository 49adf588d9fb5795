"""Reading text files other programs wrote: encodings, BOMs, binary detection, CSV dialects.

Every reader here refuses a file that is not text with one clear line, before anything is written.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from sfa.domain.errors import SfaError, UsageError

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
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a {kind} file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
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


def sniff_delimiter(line: str) -> str:
    """The delimiter of a header line: the candidate found most often outside quotes."""
    outside = re.sub(r'"[^"]*"', "", line)
    counts = {d: outside.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(path: Path) -> Table:
    """Parse a CSV file: BOM, "sep=" line, delimiter sniffing, quoting and embedded newlines."""
    # The same line breaks csv counts (\n, \r\n, \r), read without copying the text.
    buffer = io.StringIO(read_text(path, "CSV"), newline="")
    skipped = 0
    line = buffer.readline()
    while line and not line.strip():
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
    buffer.seek(buffer.tell() - len(line))
    reader = csv.reader(buffer, delimiter=delimiter, quotechar='"', doublequote=True)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    header_line = 0
    previous_end = 0
    try:
        for cells in reader:
            start = previous_end + 1 + skipped
            previous_end = reader.line_num
            if not cells or all(not c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip() for c in cells]
                header_line = start
                continue
            rows.append((start, cells))
    except csv.Error as exc:
        raise FileRefused(f"{path}: line {previous_end + 1 + skipped}: cannot read CSV: {exc}") from None
    if header is None:
        raise FileRefused(f"{path} has no header line")
    return Table(header, rows, delimiter, header_line)
