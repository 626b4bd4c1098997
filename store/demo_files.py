"""Small, real demo file contents: a one-page PDF, a UTF-8 text note and a CSV sheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

PDF_FONT_SIZE = 12
PDF_TOP = 780
PDF_LEADING = 16


def _pdf_string(text: str) -> bytes:
    """A PDF literal string in WinAnsi (cp1252), which covers Spanish letters."""
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def pdf_bytes(title: str, lines: Sequence[str]) -> bytes:
    """A valid single-page A4 PDF showing ``title`` and ``lines`` in Helvetica."""
    text = [b"BT", f"/F1 {PDF_FONT_SIZE} Tf {PDF_LEADING} TL 72 {PDF_TOP} Td".encode()]
    text += [_pdf_string(line) + b" '" for line in (title, "", *lines)]
    stream = b"\n".join([*text, b"ET"])
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def text_bytes(title: str, lines: Iterable[str]) -> bytes:
    """A UTF-8 text note: a title, a rule and one line per item."""
    body = [title, "=" * len(title), "", *(f"- {line}" for line in lines)]
    return ("\n".join(body) + "\n").encode()


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A UTF-8 CSV sheet with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()
