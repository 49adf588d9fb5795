"""`sfa quote export`: a customer-ready quote as PDF, Markdown or HTML.

The document is built once (:class:`Document`) and rendered three ways. The PDF is made with fpdf2,
imported only here. Its font is a Unicode TrueType font: the file named by the ``quote.font`` setting,
else DejaVu Sans where the system has it (Debian's fonts-dejavu-core); without one, fpdf2's core
Helvetica is used and text outside Latin-1 is transliterated (docs/quotes.md).

Every file is written atomically: to a temporary file beside the target, flushed, then renamed.
"""

from __future__ import annotations

import html
import os
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from sfa.domain import quotes as rules
from sfa.domain.dates import local_today, local_zone
from sfa.domain.errors import NotFoundError, ValidationError
from sfa.domain.money import format_money
from sfa.services import quotes
from sfa.store.workspace import Workspace

if TYPE_CHECKING:
    from fpdf import FPDF

FORMATS = {".pdf": "pdf", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}
FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu
    "/usr/share/fonts/dejavu",  # Fedora, Arch
    "/usr/share/fonts/TTF",
    "/usr/local/share/fonts",
    "/Library/Fonts",
)


@dataclass
class Row:
    position: str
    sku: str
    description: str
    qty: str
    unit_price: str
    discount: str
    tax: str
    net: str


@dataclass
class Document:
    number: str
    revision: int
    status: str
    issued: date
    valid_until: date | None
    seller: list[str]
    seller_extra: list[str]
    customer: list[str]
    reference: str
    currency: str
    rows: list[Row]
    taxes: list[tuple[str, str]]
    net: str
    tax: str
    total: str
    terms: str
    has_discount: bool = False
    # Another document laid out the same way (an order confirmation, sfa/services/order_export.py):
    # its heading and the facts printed beside it.
    heading: str = "Quotation"
    facts: list[tuple[str, str]] | None = None

    @property
    def title(self) -> str:
        return f"{self.heading} {self.number}" + (f" (revision {self.revision})" if self.revision > 1 else "")


@dataclass
class ExportResult:
    path: Path
    format: str
    number: str
    revision: int
    size: int
    note: str = ""


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ";").split(";") if part.strip()]


def seller_lines(ws: Workspace) -> tuple[list[str], list[str]]:
    """The company's name and address lines, and its phone, email and VAT id lines."""
    seller = [ws.setting("company.name"), *_lines(ws.setting("company.address"))]
    extra = []
    for key, label in (("company.phone", "Phone"), ("company.email", "Email"), ("company.vat_id", "VAT ID")):
        if ws.setting(key):
            extra.append(f"{label}: {ws.setting(key)}")
    return seller, extra


def build(ws: Workspace, ref: str) -> Document:
    view = quotes.view(ws, ref)
    quote, totals, currency = view.quote, view.totals, view.totals.currency
    seller, extra = seller_lines(ws)
    account = view.account
    customer = [account["name"]]
    if view.contact:
        customer.append(f"Attn. {view.contact['name']}")
    if account["street"]:
        customer.append(account["street"])
    place = " ".join(p for p in (account["postcode"], account["city"]) if p)
    if place:
        customer.append(place)
    if account["country"]:
        customer.append(account["country"])

    def amount(value: Decimal) -> str:
        return format_money(value, currency).removesuffix(f" {currency}")

    rows = []
    for line, net in zip(view.lines, totals.line_nets, strict=True):
        rule_line = quotes.to_line(line)
        rows.append(
            Row(
                str(line["position"]),
                line["sku"] or "",
                line["description"],
                rules.plain_number(line["quantity"]),
                amount(line["unit_price"]),
                rules.discount_text(rule_line, currency),
                f"{rules.plain_number(rule_line.tax_rate)} %",
                amount(net),
            )
        )
    taxes = [(f"VAT {rules.plain_number(b.rate)} % on {amount(b.base)}", amount(b.tax)) for b in totals.taxes]
    issued = quote["sent_at"].astimezone(local_zone()).date() if quote["sent_at"] else local_today()
    return Document(
        number=quote["number"],
        revision=quote["revision"],
        status=view.status,
        issued=issued,
        valid_until=quote["valid_until"],
        seller=seller,
        seller_extra=extra,
        customer=customer,
        reference=view.opportunity["name"] if view.opportunity else "",
        currency=currency,
        rows=rows,
        taxes=taxes,
        net=amount(totals.net),
        tax=amount(totals.tax),
        total=amount(totals.total),
        terms=quote["terms"] or "",
        has_discount=any(r.discount for r in rows),
    )


def _facts(doc: Document) -> list[tuple[str, str]]:
    if doc.facts is not None:
        return doc.facts
    facts = [("Quote number", doc.number), ("Revision", str(doc.revision)), ("Date", doc.issued.isoformat())]
    if doc.valid_until:
        facts.append(("Valid until", doc.valid_until.isoformat()))
    if doc.reference:
        facts.append(("Reference", doc.reference))
    if doc.status != rules.SENT and doc.status != rules.ACCEPTED:
        facts.append(("Status", doc.status.upper()))
    return facts


# -- Markdown ---------------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_md(doc: Document) -> str:
    out = [f"# {doc.title}", "", "**From**", ""]
    out += [f"{line}  " for line in doc.seller + doc.seller_extra if line]
    out += ["", "**To**", ""]
    out += [f"{line}  " for line in doc.customer]
    out += ["", "| | |", "|---|---|"]
    out += [f"| {k} | {_md_cell(v)} |" for k, v in _facts(doc)]
    out += [
        "",
        f"| # | Item | Qty | Unit price | Discount | VAT | Net ({doc.currency}) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in doc.rows:
        item = _md_cell(r.description) + (f" ({_md_cell(r.sku)})" if r.sku else "")
        out.append(f"| {r.position} | {item} | {r.qty} | {r.unit_price} | {r.discount} | {r.tax} | {r.net} |")
    out += ["", "| | |", "|---|---:|", f"| Net total | {doc.net} |"]
    out += [f"| {label} | {amount} |" for label, amount in doc.taxes]
    out += [f"| **Total ({doc.currency})** | **{doc.total}** |", ""]
    if doc.terms:
        out += ["**Terms**", "", doc.terms, ""]
    return "\n".join(out)


# -- HTML -------------------------------------------------------------------------------------------

_CSS = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; margin: 2.5em auto;
       max-width: 52em; font-size: 10.5pt; }
h1 { font-size: 1.5em; margin-bottom: 1em; }
.parties { display: flex; justify-content: space-between; gap: 2em; }
.parties div { flex: 1; } .label { color: #666; font-size: .85em; text-transform: uppercase; }
table { border-collapse: collapse; width: 100%; margin-top: 1.5em; }
th, td { padding: .35em .5em; text-align: left; vertical-align: top; }
th { border-bottom: 1px solid #888; } td { border-bottom: 1px solid #e4e4e4; }
.num { text-align: right; white-space: nowrap; }
table.facts td, table.totals td { border: none; padding: .15em .5em; }
table.totals { width: auto; margin-left: auto; } .grand td { font-weight: bold; border-top: 1px solid #888; }
.terms { margin-top: 2em; }
"""


def render_html(doc: Document) -> str:
    e = html.escape
    seller = [x for x in doc.seller + doc.seller_extra if x]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(doc.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(doc.title)}</h1>",
        '<div class="parties">',
        '<div><div class="label">From</div>' + "<br>".join(e(x) for x in seller) + "</div>",
        '<div><div class="label">To</div>' + "<br>".join(e(x) for x in doc.customer) + "</div>",
        "</div>",
        '<table class="facts">',
        *(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in _facts(doc)),
        "</table>",
        '<table class="lines">',
        '<thead><tr><th class="num">#</th><th>Item</th><th class="num">Qty</th>'
        '<th class="num">Unit price</th>'
        '<th class="num">Discount</th><th class="num">VAT</th>'
        f'<th class="num">Net ({e(doc.currency)})</th></tr></thead><tbody>',
    ]
    for r in doc.rows:
        sku = f' <span class="label">{e(r.sku)}</span>' if r.sku else ""
        parts.append(
            f'<tr><td class="num">{e(r.position)}</td><td>{e(r.description)}{sku}</td>'
            f'<td class="num">{e(r.qty)}</td><td class="num">{e(r.unit_price)}</td>'
            f'<td class="num">{e(r.discount)}</td><td class="num">{e(r.tax)}</td>'
            f'<td class="num">{e(r.net)}</td></tr>'
        )
    totals = [("Net total", doc.net), *doc.taxes]
    parts += [
        "</tbody></table>",
        '<table class="totals">',
        *(f'<tr><td>{e(label)}</td><td class="num">{e(amount)}</td></tr>' for label, amount in totals),
        f'<tr class="grand"><td>Total ({e(doc.currency)})</td><td class="num">{e(doc.total)}</td></tr>',
        "</table>",
    ]
    if doc.terms:
        parts.append(f'<div class="terms"><div class="label">Terms</div>{e(doc.terms)}</div>')
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


# -- PDF --------------------------------------------------------------------------------------------

_TRANSLIT = {
    "€": "EUR",
    "–": "-",
    "—": "-",
    "“": '"',
    "”": '"',
    "„": '"',
    "‘": "'",
    "’": "'",
    "…": "...",
    "•": "-",
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "ı": "i",
    "Œ": "OE",
    "œ": "oe",
    "ẞ": "SS",
    "Ŀ": "L",
    "ŀ": "l",
    "Ħ": "H",
    "ħ": "h",
}


def transliterate(text: str, encoding: str = "latin-1") -> str:
    """Text a core PDF font can show: keep what the encoding has, approximate the rest."""
    out = []
    for char in text:
        try:
            char.encode(encoding)
            out.append(char)
            continue
        except UnicodeEncodeError:
            pass
        if char in _TRANSLIT:
            out.append(_TRANSLIT[char])
            continue
        base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        out.append(base or "?")
    return "".join(out)


def find_font(ws: Workspace) -> tuple[Path, Path | None] | None:
    """(regular, bold) TrueType files: the configured one, else DejaVu Sans if installed."""
    configured = ws.setting("quote.font")
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise ValidationError("quote.font", f"{path} is not a font file")
        return path, None
    for directory in (*FONT_DIRS, *_matplotlib_fonts()):
        regular = Path(directory) / "DejaVuSans.ttf"
        if regular.is_file():
            bold = regular.with_name("DejaVuSans-Bold.ttf")
            return regular, bold if bold.is_file() else None
    return None


def _matplotlib_fonts() -> list[str]:
    """matplotlib ships DejaVu Sans; use it where it happens to be installed (never imported here)."""
    import importlib.util

    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [
        str(Path(location) / "mpl-data" / "fonts" / "ttf") for location in spec.submodule_search_locations
    ]


class _Pdf:
    """The quote laid out on A4 with fpdf2."""

    def __init__(self, doc: Document, font: tuple[Path, Path | None] | None) -> None:
        from fpdf import FPDF

        self.doc = doc
        pdf = FPDF(format="A4", unit="mm")
        pdf.set_margins(18, 16, 18)
        pdf.set_auto_page_break(True, margin=18)
        pdf.set_title(doc.title)
        pdf.set_creator("sfa")
        if font is not None:
            regular, bold = font
            try:
                pdf.add_font("body", "", str(regular))
                pdf.add_font("body", "B", str(bold or regular))
            except Exception as exc:  # fontTools raises many kinds for a file that is no font
                raise ValidationError(
                    "quote.font", f"cannot use {regular} as a TrueType font: {exc}"
                ) from None
            self.family, self.unicode = "body", True
        else:
            self.family, self.unicode = "helvetica", False
        self.pdf: FPDF = pdf
        number, page_word = doc.number, "Page"
        family = self.family
        text = self.text

        def footer() -> None:
            pdf.set_y(-12)
            pdf.set_font(family, "", 7.5)
            pdf.set_text_color(110)
            pdf.cell(
                0, 4, text(f"{number} rev {doc.revision}  ·  {page_word} {pdf.page_no()}/{{nb}}"), align="C"
            )

        pdf.footer = footer  # type: ignore[method-assign]

    def text(self, value: str) -> str:
        return value if self.unicode else transliterate(value)

    def font(self, size: float, bold: bool = False, grey: bool = False) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.set_text_color(110 if grey else 20)

    def render(self) -> bytes:
        from fpdf.enums import XPos, YPos

        pdf, doc, t = self.pdf, self.doc, self.text
        pdf.add_page()
        width = pdf.epw
        # Seller, top left; the quote's facts, top right.
        top = pdf.get_y()
        self.font(13, bold=True)
        pdf.multi_cell(width * 0.55, 6, t(doc.seller[0]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.font(8.5, grey=True)
        for line in doc.seller[1:] + doc.seller_extra:
            pdf.cell(width * 0.55, 4.2, t(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        seller_bottom = pdf.get_y()
        pdf.set_xy(pdf.l_margin + width * 0.58, top)
        self.font(16, bold=True)
        pdf.cell(width * 0.42, 8, t(doc.heading), align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
        for label, value in _facts(doc):
            pdf.set_x(pdf.l_margin + width * 0.58)
            self.font(8.5, grey=True)
            pdf.cell(width * 0.16, 4.6, t(label))
            self.font(8.5, bold=label == _facts(doc)[0][0])
            pdf.cell(width * 0.26, 4.6, t(value), align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_y(max(seller_bottom, pdf.get_y()) + 8)
        # Customer.
        self.font(7.5, grey=True)
        pdf.cell(0, 4, t("TO"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for index, line in enumerate(doc.customer):
            self.font(10 if index == 0 else 9, bold=index == 0)
            pdf.cell(0, 5, t(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(6)
        self._lines(width)
        self._totals(width)
        if doc.terms:
            pdf.ln(6)
            self.font(7.5, grey=True)
            pdf.cell(0, 4, t("TERMS"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.font(9)
            pdf.multi_cell(0, 4.6, t(doc.terms), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return bytes(pdf.output())

    def _columns(self, width: float) -> list[tuple[str, float, str]]:
        fixed = [
            ("#", 8.0, "R"),
            ("Qty", 14.0, "R"),
            ("Unit price", 27.0, "R"),
            ("Discount", 20.0 if self.doc.has_discount else 0.0, "R"),
            ("VAT", 13.0, "R"),
            (f"Net ({self.doc.currency})", 29.0, "R"),
        ]
        item_width = width - sum(w for _, w, _ in fixed)
        return [fixed[0], ("Item", item_width, "L"), *fixed[1:]]

    def _header(self, columns: list[tuple[str, float, str]]) -> None:
        pdf = self.pdf
        self.font(8, bold=True)
        pdf.set_draw_color(120)
        for name, w, align in columns:
            if w:
                pdf.cell(w, 6, self.text(name), border="B", align=align)
        pdf.ln(6)
        pdf.set_x(pdf.l_margin)
        pdf.set_draw_color(225)

    def _wrap(self, text: str, width: float, widths: dict[str, float]) -> list[str]:
        """Greedy word wrap with cached word widths (fpdf2's dry-run multi_cell is ~10× slower)."""
        pdf = self.pdf
        if pdf.get_string_width(text) <= width:
            return [text]
        space = pdf.get_string_width(" ")
        lines: list[str] = []
        current: list[str] = []
        used = 0.0
        for word in text.split():
            if word not in widths:
                widths[word] = pdf.get_string_width(word)
            extra = widths[word] + (space if current else 0.0)
            if current and used + extra > width:
                lines.append(" ".join(current))
                current, used = [word], widths[word]
            else:
                current.append(word)
                used += extra
        if current:
            lines.append(" ".join(current))
        return lines

    def _lines(self, width: float) -> None:
        # Rows are drawn with text() at computed positions rather than cell(): the same page,
        # a third of the time for long quotes (bench/bench_quotes.py).
        pdf, doc, t = self.pdf, self.doc, self.text
        columns = self._columns(width)
        item_width = columns[1][1]
        self._header(columns)
        line_height, pad = 4.4, 1.0
        widths: dict[str, float] = {}
        for row in doc.rows:
            self.font(8.5)
            item_lines = self._wrap(t(row.description), item_width - 2 * pad, widths)
            height = (len(item_lines) + (1 if row.sku else 0)) * line_height + 2
            if pdf.get_y() + height > pdf.page_break_trigger:
                pdf.add_page()
                self._header(columns)
                self.font(8.5)
            top = pdf.get_y()
            baseline = top + 1 + line_height * 0.72
            x = pdf.l_margin
            values = [row.position, "", row.qty, row.unit_price, row.discount, row.tax, row.net]
            for (_, w, align), value in zip(columns, values, strict=True):
                if w and value:
                    text = t(value)
                    left = x + w - pad - pdf.get_string_width(text) if align == "R" else x + pad
                    pdf.text(left, baseline, text)
                x += w
            item_x = pdf.l_margin + columns[0][1] + pad
            for index, text in enumerate(item_lines):
                pdf.text(item_x, baseline + index * line_height, text)
            if row.sku:
                self.font(7.5, grey=True)
                pdf.text(item_x, baseline + len(item_lines) * line_height, t(row.sku))
            pdf.line(pdf.l_margin, top + height, pdf.l_margin + width, top + height)
            pdf.set_xy(pdf.l_margin, top + height)

    def _totals(self, width: float) -> None:
        from fpdf.enums import XPos, YPos

        pdf, doc, t = self.pdf, self.doc, self.text
        rows = [
            ("Net total", doc.net, False),
            *((label, amount, False) for label, amount in doc.taxes),
            (f"Total ({doc.currency})", doc.total, True),
        ]
        needed = len(rows) * 5.5 + 6
        if pdf.get_y() + needed > pdf.page_break_trigger:
            pdf.add_page()
        pdf.ln(3)
        label_w, amount_w = 70.0, 32.0
        start = pdf.l_margin + width - label_w - amount_w
        for label, amount, grand in rows:
            pdf.set_x(start)
            self.font(10 if grand else 9, bold=grand)
            if grand:
                pdf.set_draw_color(120)
            border = "T" if grand else ""
            pdf.cell(label_w, 5.5 if not grand else 7, t(label), border=border)
            pdf.cell(
                amount_w,
                5.5 if not grand else 7,
                t(amount),
                border=border,
                align="R",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )


def render_pdf(doc: Document, font: tuple[Path, Path | None] | None) -> bytes:
    pdf = _Pdf(doc, font)
    return pdf.render()


def append_pdfs(data: bytes, attachments: list[Path]) -> bytes:
    """The PDF `data` with every page of each attachment after it (pypdf, imported only here)."""
    import io

    try:
        from pypdf import PdfReader, PdfWriter
        from pypdf.errors import PyPdfError
    except ImportError:
        raise ValidationError("attach_datasheets", "needs the pypdf package (pip install pypdf)") from None
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(data)))
    for path in attachments:
        try:
            writer.append(PdfReader(str(path)))
        except (PyPdfError, OSError, ValueError) as exc:
            raise ValidationError("attach_datasheets", f"{path.name} is not a readable PDF: {exc}") from None
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- writing ----------------------------------------------------------------------------------------


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, flush it to disk, then rename over `path`."""
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def check_output(output: str) -> tuple[Path, str]:
    """The file an export would write and its format; refused (as `--output`) when the extension is
    unknown, the folder does not exist, or the path is a folder. The dashboard checks as you type."""
    path = Path(output).expanduser()
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValidationError(
            "output", f"{output!r} has no known extension; use .pdf, .md or .html", asks_for=("output",)
        )
    if not path.parent.is_dir():
        raise NotFoundError(f"output {output}: directory {path.parent} does not exist", asks_for=("output",))
    if path.is_dir():
        raise ValidationError("output", f"{output!r} is a directory", asks_for=("output",))
    return path, fmt


def export(
    ws: Workspace,
    ref: str,
    output: str,
    builder: Callable[[Workspace, str], Document] | None = None,
    attachments: list[Path] | None = None,
) -> ExportResult:
    """Write the quote `ref` (or the document `builder` makes of `ref`) to `output`; a PDF gets the
    pages of the `attachments` (PDF files) appended."""
    path, fmt = check_output(output)
    doc = (builder or build)(ws, ref)
    note = (
        "" if doc.seller[0] else "company.name is not set (sfa config set company.name ...): no seller name"
    )
    if fmt == "pdf":
        font = find_font(ws)
        if font is None:
            note += (
                "; " if note else ""
            ) + "no Unicode font found (set quote.font to a .ttf file); used Helvetica with transliteration"
        data = render_pdf(doc, font)
        if attachments:
            data = append_pdfs(data, attachments)
    elif fmt == "md":
        data = render_md(doc).encode()
    else:
        data = render_html(doc).encode()
    write_atomic(path, data)
    return ExportResult(path.resolve(), fmt, doc.number, doc.revision, len(data), note)
