"""Draws the PDF of a purchase order or quote (EMAIL.md §6): header, parties, lines, taxes, totals.

fpdf2 draws it with Noto Sans taken from the ``pymupdf-fonts`` wheel: fpdf2's built-in
fonts are Latin-1 only and cannot draw ``€``, and a font inside a PyPI package needs no
system package on any machine. Amounts, quantities, rates and dates are formatted
exactly as the chat shows them (``bot.chatfmt``), in the document's language.
"""

from __future__ import annotations

import functools
import importlib
import io
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Final

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import FontFace
from fpdf.table import Table

from bot.chatfmt import format_date, format_decimal, format_money, format_percent_rate
from bot.mail.pdf import PURCHASE_ORDER, QUOTE, Party, PdfDocument, PdfLine

FAMILY: Final = "NotoSans"
# pymupdf-fonts keeps each face as a module holding the TTF bytes (``fontbuffer``).
_FACES: Final = MappingProxyType({"": "NotoSans_Regular", "B": "NotoSans_Bold"})
_GREY: Final = (225, 225, 225)
# Columns: #, item, quantity, unit price, discount, net, tax rate, line total (mm, A4 190 wide).
_WIDTHS: Final = (8, 62, 16, 22, 18, 22, 20, 22)
_ALIGN: Final = ("RIGHT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT")

LABELS: Final = MappingProxyType(
    {
        "es": MappingProxyType(
            {
                PURCHASE_ORDER: "Orden de compra",
                QUOTE: "Cotización",
                "date": "Fecha",
                "valid_until": "Válida hasta",
                "vendor": "Proveedor",
                "contact": "Contacto",
                "customer": "Cliente",
                "billing": "Dirección de facturación",
                "delivery": "Dirección de entrega",
                "columns": "#|Artículo|Cant.|Precio|Dto.|Base|Impuesto|Total",
                "gross": "Importe bruto",
                "discounts": "Descuentos",
                "net": "Base imponible",
                "taxes": "Impuestos",
                "total": "Total",
                "tax_columns": "Impuesto|Base|Cuota",
                "no_tax": "Sin impuesto",
                "terms": "Condiciones",
                "page": "Página {page} de {pages}",
            }
        ),
        "en": MappingProxyType(
            {
                PURCHASE_ORDER: "Purchase order",
                QUOTE: "Quote",
                "date": "Date",
                "valid_until": "Valid until",
                "vendor": "Vendor",
                "contact": "Contact",
                "customer": "Customer",
                "billing": "Billing address",
                "delivery": "Delivery address",
                "columns": "#|Item|Qty|Price|Disc.|Net|Tax|Total",
                "gross": "Gross",
                "discounts": "Discounts",
                "net": "Net",
                "taxes": "Tax",
                "total": "Total",
                "tax_columns": "Tax|Base|Amount",
                "no_tax": "No tax",
                "terms": "Terms",
                "page": "Page {page} of {pages}",
            }
        ),
    }
)


def render(document: PdfDocument, locale: str) -> bytes:
    """The document as PDF bytes, labelled in ``locale`` (``es`` or ``en``); CPU-bound."""
    labels = LABELS.get(locale, LABELS["es"])
    with tempfile.TemporaryDirectory(prefix="crmbot-pdf-") as folder:
        # fpdf2 reads fonts from files, lazily until output(): they live as long as the PDF.
        pdf = _Pdf(f"{document.number} · {labels['page']}")
        for style, face in _FACES.items():
            path = Path(folder, f"{face}.ttf")
            path.write_bytes(_font_bytes(face))
            pdf.add_font(FAMILY, style, path)
        pdf.set_lang(locale)
        pdf.set_title(f"{labels[document.kind]} {document.number}")
        pdf.set_author("crmbot")
        pdf.add_page()
        _Drawing(pdf, document, labels, locale).draw()
        return bytes(pdf.output())


class _Pdf(FPDF):
    """A4 pages with the document number and page count in the footer."""

    def __init__(self, footer: str) -> None:
        super().__init__(format="A4")
        self._footer = footer
        self.set_auto_page_break(auto=True, margin=18)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "", 8)
        text = self._footer.format(page=self.page_no(), pages="{nb}")
        self.cell(0, 6, text, align="C")


@dataclass
class _Drawing:
    pdf: FPDF
    doc: PdfDocument
    labels: MappingProxyType[str, str]
    locale: str

    def draw(self) -> None:
        self._header()
        self._parties()
        self._addresses()
        self._lines()
        self._totals()
        self._taxes()
        self._terms()

    def money(self, amount: Decimal) -> str:
        return format_money(amount, self.doc.currency, self.locale)

    def _header(self) -> None:
        pdf, doc = self.pdf, self.doc
        pdf.set_font(FAMILY, "B", 18)
        pdf.cell(0, 10, self.labels[doc.kind], new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, "B", 12)
        heading = f"{doc.number} · {clean(doc.title)}" if doc.title.strip() else doc.number
        pdf.multi_cell(0, 7, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, "", 10)
        dates = f"{self.labels['date']}: {format_date(doc.date, self.locale)}"
        if doc.valid_until is not None:
            until = format_date(doc.valid_until, self.locale)
            dates += f"    {self.labels['valid_until']}: {until}"
        pdf.cell(0, 7, dates, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)

    def _parties(self) -> None:
        doc = self.doc
        contact = (self.labels["contact" if doc.vendor else "customer"], _party(doc.contact))
        if doc.vendor is not None:
            self._columns((self.labels["vendor"], _party(doc.vendor)), contact)
        else:
            self._columns(contact, None)

    def _addresses(self) -> None:
        billing, delivery = self.doc.billing_address.strip(), self.doc.delivery_address.strip()
        if billing or delivery:
            self._columns(
                (self.labels["billing"], clean(billing, multiline=True) or "—"),
                (self.labels["delivery"], clean(delivery, multiline=True) or "—"),
            )

    def _columns(self, left: tuple[str, str], right: tuple[str, str] | None) -> None:
        """Two blocks side by side (heading + text); the cursor ends below the taller one."""
        pdf = self.pdf
        top, width = pdf.get_y(), (pdf.epw - 6) / 2
        bottom = top
        for index, block in enumerate((left, right)):
            if block is None:
                continue
            pdf.set_xy(pdf.l_margin + index * (width + 6), top)
            pdf.set_font(FAMILY, "B", 10)
            pdf.multi_cell(width, 6, block[0], new_x="LEFT", new_y="NEXT")
            pdf.set_font(FAMILY, "", 10)
            pdf.multi_cell(width, 5, block[1], new_x="LEFT", new_y="NEXT")
            bottom = max(bottom, pdf.get_y())
        pdf.set_xy(pdf.l_margin, bottom + 4)

    def _lines(self) -> None:
        pdf = self.pdf
        pdf.set_font(FAMILY, "", 9)
        style = FontFace(emphasis="BOLD", fill_color=_GREY)
        with pdf.table(
            col_widths=_WIDTHS, text_align=_ALIGN, headings_style=style, line_height=5
        ) as table:
            _row(table, self.labels["columns"].split("|"))
            for position, line in enumerate(self.doc.lines, 1):
                _row(table, self._line_cells(position, line))
        pdf.ln(4)

    def _line_cells(self, position: int, line: PdfLine) -> list[str]:
        item = clean(line.item) + (f"\n{clean(line.sku)}" if line.sku.strip() else "")
        rate = "—" if line.tax_rate is None else format_percent_rate(line.tax_rate, self.locale)
        return [
            str(position),
            item,
            format_decimal(line.quantity, self.locale),
            self.money(line.unit_price),
            self.money(-line.discount) if line.discount else "",
            self.money(line.net),
            rate,
            self.money(line.total),
        ]

    def _totals(self) -> None:
        doc = self.doc
        rows: list[tuple[str, Decimal]] = []
        if doc.discount_total:
            rows.append((self.labels["gross"], doc.subtotal + doc.discount_total))
            rows.append((self.labels["discounts"], -doc.discount_total))
        rows.append((self.labels["net"], doc.subtotal))
        rows.append((self.labels["taxes"], doc.tax_total))
        pdf = self.pdf
        for label, amount in rows:
            self._total_row(label, self.money(amount), bold=False)
        pdf.ln(1)
        self._total_row(self.labels["total"], self.money(doc.total), bold=True)
        pdf.ln(4)

    def _total_row(self, label: str, amount: str, *, bold: bool) -> None:
        pdf = self.pdf
        pdf.set_font(FAMILY, "B" if bold else "", 12 if bold else 10)
        pdf.set_x(pdf.l_margin + pdf.epw - 90)
        pdf.cell(50, 7, label, align="R")
        pdf.cell(40, 7, amount, align="R", new_x="LMARGIN", new_y="NEXT")

    def _taxes(self) -> None:
        taxes = tax_breakdown(self.doc.lines, self.labels["no_tax"], self.locale)
        rows = [[name, self.money(base), self.money(amount)] for name, base, amount in taxes]
        if not rows:
            return
        pdf = self.pdf
        pdf.set_font(FAMILY, "", 9)
        style = FontFace(emphasis="BOLD", fill_color=_GREY)
        with pdf.table(
            col_widths=(50, 30, 30),
            width=110,
            align="LEFT",
            text_align=("LEFT", "RIGHT", "RIGHT"),
            headings_style=style,
            line_height=5,
        ) as table:
            _row(table, self.labels["tax_columns"].split("|"))
            for row in rows:
                _row(table, row)
        pdf.ln(4)

    def _terms(self) -> None:
        terms = clean(self.doc.terms, multiline=True)
        if not terms:
            return
        pdf = self.pdf
        pdf.set_font(FAMILY, "B", 10)
        pdf.cell(0, 6, self.labels["terms"], new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, "", 10)
        pdf.multi_cell(0, 5, terms, new_x="LMARGIN", new_y="NEXT")


def tax_breakdown(
    lines: Sequence[PdfLine], no_tax: str, locale: str
) -> list[tuple[str, Decimal, Decimal]]:
    """(tax label, taxable base, tax) per distinct tax, in order of first use."""
    groups: dict[tuple[str | None, Decimal | None], list[Decimal]] = {}
    for line in lines:
        base_tax = groups.setdefault((line.tax_name, line.tax_rate), [Decimal(0), Decimal(0)])
        base_tax[0] += line.net
        base_tax[1] += line.tax
    result = []
    for (name, rate), (base, tax) in groups.items():
        if rate is None:
            label = no_tax
        else:  # catalogue names already carry the rate ("IVA 21 %")
            label = clean(name) if name and name.strip() else format_percent_rate(rate, locale)
        result.append((label, base, tax))
    return result


def _row(table: Table, cells: Sequence[str]) -> None:
    row = table.row()
    for cell in cells:
        row.cell(cell)


def _party(party: Party) -> str:
    return "\n".join(clean(text) for text in (party.name, *party.details) if text.strip())


def clean(text: str, *, multiline: bool = False) -> str:
    """``text`` as the font can draw it: controls dropped, missing glyphs shown as ``?``."""
    glyphs = _glyphs()
    kept = []
    for char in unicodedata.normalize("NFC", text.replace("\r\n", "\n")):
        if char == "\n":
            kept.append("\n" if multiline else " ")
        elif char == "\t":
            kept.append(" ")
        elif unicodedata.category(char)[0] == "C":
            continue
        else:
            kept.append(char if ord(char) in glyphs else "?")
    return "".join(kept).strip()


@functools.cache
def _font_bytes(face: str) -> bytes:
    """The face's TTF, minus the ``TTFA`` table fontTools cannot subset (it warns each time)."""
    module = importlib.import_module(f"pymupdf_fonts.{face}")
    raw = module.fontbuffer
    if not isinstance(raw, bytes):
        raise TypeError(f"pymupdf_fonts.{face}.fontbuffer is not bytes")
    font = TTFont(io.BytesIO(raw))
    if "TTFA" in font:
        del font["TTFA"]
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@functools.cache
def _glyphs() -> frozenset[int]:
    # Both faces cover the same characters; the regular one decides.
    cmap = TTFont(io.BytesIO(_font_bytes(_FACES[""]))).getBestCmap()
    return frozenset(cmap)
