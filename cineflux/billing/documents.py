"""Invoices as documents: the facts to print (``InvoiceDocument``) and the PDF (fpdf2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fpdf import FPDF

from cineflux.billing import rules
from cineflux.billing.models import Invoice
from cineflux.rights.chronology import paris_date


@dataclass(frozen=True)
class DocumentLine:
    """One printed line: what was sold, for when, and its VAT."""

    description: str
    vat_rate_percent: str
    net: str
    vat: str
    gross: str


@dataclass(frozen=True)
class InvoiceDocument:
    """Everything an invoice shows, formatted the French way."""

    number: str
    issued_on: str
    seller: str
    customer: str
    lines: tuple[DocumentLine, ...]
    net: str
    vat: str
    total: str
    currency: str


def _day(instant: datetime) -> str:
    return paris_date(instant).strftime("%d/%m/%Y")


def _rate(basis_points: int) -> str:
    whole, rest = divmod(basis_points, 100)
    return f"{whole} %" if rest == 0 else f"{whole},{rest:02d} %"


def invoice_document(invoice: Invoice) -> InvoiceDocument:
    """The printable facts of an invoice."""
    return InvoiceDocument(
        number=invoice.number,
        issued_on=_day(invoice.issued_at),
        seller=invoice.seller,
        customer=invoice.customer_email,
        lines=tuple(
            DocumentLine(
                description=line.description,
                vat_rate_percent=_rate(line.vat_rate_basis_points),
                net=rules.format_euros(line.net_cents),
                vat=rules.format_euros(line.vat_cents),
                gross=rules.format_euros(line.gross_cents),
            )
            for line in invoice.lines
        ),
        net=rules.format_euros(invoice.net_cents),
        vat=rules.format_euros(invoice.vat_cents),
        total=rules.format_euros(invoice.total_cents),
        currency=invoice.currency,
    )


def _pdf_text(text: str) -> str:
    # The PDF core fonts speak Windows-1252: no narrow no-break space there.
    return text.replace("\u202f", " ")


def invoice_pdf(document: InvoiceDocument) -> bytes:
    """The invoice as a one-page A4 PDF (core fonts, nothing to install)."""
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"  # what WinAnsiEncoding really is: € included
    pdf.set_title(f"Facture {document.number}")
    pdf.set_author(_pdf_text(document.seller))
    pdf.set_creator("Cineflux")
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=18)
    pdf.cell(0, 10, _pdf_text(f"Facture {document.number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.cell(0, 6, f"Date : {document.issued_on}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.multi_cell(0, 5, _pdf_text(f"Vendeur : {document.seller}"), new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5, _pdf_text(f"Client : {document.customer}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    widths = (82, 18, 30, 30, 30)
    pdf.set_font("Helvetica", style="B", size=9)
    for width, heading in zip(widths, ("Désignation", "TVA", "HT", "TVA", "TTC"), strict=True):
        pdf.cell(width, 7, heading, border="B")
    pdf.ln()
    pdf.set_font("Helvetica", size=9)
    for line in document.lines:
        cells = (line.description, line.vat_rate_percent, line.net, line.vat, line.gross)
        top = pdf.get_y()
        pdf.multi_cell(widths[0], 5, _pdf_text(cells[0]), new_x="RIGHT", new_y="TOP")
        for width, text in zip(widths[1:], cells[1:], strict=True):
            pdf.cell(width, 5, _pdf_text(text), align="R" if width == 30 else "L")
        pdf.set_xy(pdf.l_margin, max(pdf.get_y(), top + 10))
    pdf.ln(4)
    pdf.set_font("Helvetica", size=10)
    for label, amount in (("Total HT", document.net), ("TVA 20 %", document.vat)):
        pdf.cell(sum(widths[:-1]), 6, label, align="R")
        pdf.cell(widths[-1], 6, _pdf_text(amount), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", style="B", size=11)
    pdf.cell(sum(widths[:-1]), 8, "Total TTC (payé)", align="R")
    pdf.cell(widths[-1], 8, _pdf_text(document.total), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_font("Helvetica", size=8)
    pdf.multi_cell(0, 4, "Prix TTC, TVA française au taux normal de 20 % incluse. Payé par carte.")
    return bytes(pdf.output())
