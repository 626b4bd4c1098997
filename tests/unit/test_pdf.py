"""The PDF of a purchase order or quote (EMAIL.md §6), read back with pypdf: every part of
the document is there, in both languages, with the euro sign and DOMAIN §2's exact totals."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from decimal import Decimal

import pytest
from pypdf import PdfReader

from bot.mail.compose import mail_text
from bot.mail.pdf import Party, PdfDocument, PdfLine, file_name, render_pdf
from bot.mail.pdf_render import clean, tax_breakdown
from store.money import LineInput, compute_totals

NBSP = "\u00a0"


def worked_document(kind: str = "purchase_order") -> PdfDocument:
    """DOMAIN §2's worked check: 10 × 12.50 at 10 % off, 3 × 40.00 with 5.00 off, 21 % tax."""
    inputs = [
        LineInput(Decimal(10), Decimal("12.50"), Decimal(21), discount_percent=Decimal(10)),
        LineInput(Decimal(3), Decimal("40.00"), Decimal(21), discount_amount=Decimal("5.00")),
    ]
    totals = compute_totals(inputs)
    names = [("Tornillo M4 «inox»", "TOR-M4"), ("Montaje en obra", "")]
    lines = tuple(
        PdfLine(
            item=name,
            sku=sku,
            quantity=given.quantity,
            unit_price=given.unit_price,
            discount=amounts.discount,
            net=amounts.net,
            tax_name="IVA 21 %",
            tax_rate=given.tax_rate,
            tax=amounts.tax,
            total=amounts.total,
        )
        for (name, sku), given, amounts in zip(names, inputs, totals.lines, strict=True)
    )
    is_po = kind == "purchase_order"
    return PdfDocument(
        kind=kind,
        number="OC-00012" if is_po else "COT-00003",
        title="Material de oficina",
        date=dt.date(2026, 11, 28),
        currency="EUR",
        contact=Party("Ana García", ("ACME S.L.", "ana@example.com")),
        lines=lines,
        subtotal=totals.subtotal,
        discount_total=totals.discount_total,
        tax_total=totals.tax_total,
        total=totals.total,
        vendor=Party("Ferretería Sur", ("pedidos@ferreteria.example",)) if is_po else None,
        valid_until=None if is_po else dt.date(2026, 12, 28),
        billing_address="Calle Mayor 1\n28001 Madrid",
        delivery_address="Almacén 3, Getafe",
        terms="Pago a 30 días.\nPortes incluidos.",
    )


def text_of(data: bytes) -> str:
    """All pages' text, with no-break spaces shown as spaces."""
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages).replace(NBSP, " ")


def test_worked_totals_are_exact() -> None:
    document = worked_document()
    assert (document.subtotal, document.discount_total) == (Decimal("227.50"), Decimal("17.50"))
    assert (document.tax_total, document.total) == (Decimal("47.78"), Decimal("275.28"))


def test_a_purchase_order_shows_every_part_in_spanish() -> None:
    data = render_pdf(worked_document(), "es")
    assert data.startswith(b"%PDF-")
    text = text_of(data)
    for expected in (
        "Orden de compra",
        "OC-00012 · Material de oficina",
        "Fecha: 28 nov 2026",
        "Proveedor\nFerretería Sur\npedidos@ferreteria.example",
        "Contacto\nAna García\nACME S.L.",
        "Dirección de facturación",
        "Calle Mayor 1\n28001 Madrid",
        "Dirección de entrega",
        "1 Tornillo M4 «inox» TOR-M4 10 12,50 € -12,50 € 112,50 € 21 % 136,13 €",
        "2 Montaje en obra 3 40,00 € -5,00 € 115,00 € 21 % 139,15 €",
        "Importe bruto 245,00 €",
        "Descuentos -17,50 €",
        "Base imponible 227,50 €",
        "Impuestos 47,78 €",
        "Total 275,28 €",
        "IVA 21 % 227,50 € 47,78 €",
        "Condiciones\nPago a 30 días.\nPortes incluidos.",
        "OC-00012 · Página 1 de 1",
    ):
        assert expected in text, expected


def test_a_quote_in_english_names_the_customer_and_validity() -> None:
    text = text_of(render_pdf(worked_document("quote"), "en"))
    for expected in (
        "Quote",
        "COT-00003 · Material de oficina",
        "Date: Nov 28, 2026",
        "Valid until: Dec 28, 2026",
        "Customer\nAna García",
        "Total €275.28",
        "Tax €47.78",
        "Terms",
        "Page 1 of 1",
    ):
        assert expected in text, expected
    assert "Vendor" not in text


def test_the_euro_sign_is_drawn_not_dropped() -> None:
    text = text_of(render_pdf(worked_document(), "es"))
    assert text.count("€") >= 12  # every amount of the table and the totals


def test_many_lines_flow_onto_more_pages_with_the_count_in_the_footer() -> None:
    document = worked_document()
    many = replace(document, lines=document.lines * 40)
    text = text_of(render_pdf(many, "es"))
    assert "Página 1 de " in text
    pages = len(PdfReader(io.BytesIO(render_pdf(many, "es"))).pages)
    assert pages >= 2
    assert f"Página {pages} de {pages}" in text


def test_hostile_and_undrawable_text_is_shown_safely() -> None:
    document = replace(
        worked_document(),
        title="Pedido\x00 urgente\u202e 😀 中文",
        terms="",
        billing_address="",
        delivery_address="",
    )
    text = text_of(render_pdf(document, "es"))
    assert "OC-00012 · Pedido urgente ? ??" in text
    assert "Condiciones" not in text  # no terms, no heading
    assert "Dirección de entrega" not in text


@pytest.mark.parametrize(
    ("raw", "multiline", "shown"),
    [
        ("a\tb\r\nc", False, "a b c"),
        ("a\tb\r\nc", True, "a b\nc"),
        ("\u202eevil\x07", False, "evil"),
        ("e\u0301", False, "é"),  # composed, so the font's é is used
        ("🙂", False, "?"),
    ],
)
def test_clean(raw: str, multiline: bool, shown: str) -> None:
    assert clean(raw, multiline=multiline) == shown


def test_taxes_are_grouped_by_name_and_rate() -> None:
    base = worked_document().lines[0]
    lines = [
        base,
        replace(base, net=Decimal(100), tax=Decimal(10), tax_name="IVA 10 %", tax_rate=Decimal(10)),
        replace(base, net=Decimal(5), tax=Decimal(0), tax_name=None, tax_rate=None),
        replace(base, net=Decimal("0.50"), tax=Decimal("0.11")),
    ]
    assert tax_breakdown(lines, "Sin impuesto", "es") == [
        ("IVA 21 %", Decimal("113.00"), Decimal("23.74")),
        ("IVA 10 %", Decimal(100), Decimal(10)),
        ("Sin impuesto", Decimal(5), Decimal(0)),
    ]


def test_file_name_and_the_mail_around_it() -> None:
    po, quote = worked_document(), worked_document("quote")
    assert file_name(po) == "OC-00012.pdf"
    text = mail_text(po, "es")
    assert text.subject == "Orden de compra OC-00012 · Material de oficina"
    assert "la orden de compra OC-00012 («Material de oficina»)" in text.body
    assert f"275,28{NBSP}€" in text.body
    assert text.from_name == "Compras"
    english = mail_text(quote, "en")
    assert english.subject == "Quote COT-00003 · Material de oficina"
    assert "valid until Dec 28, 2026" in english.body
    assert english.from_name == "Sales"
