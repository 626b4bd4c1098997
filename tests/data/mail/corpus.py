"""A hostile-MIME corpus for the mail parser and ingest tests, built in code or read from .eml.

Each case says what the pipeline must do with it: refuse it for a reason, or store it
with readable text (``expect_in_body`` / ``expect_subject`` appear in what is stored).
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

HERE = Path(__file__).parent
CRLF = "\r\n"


@dataclass(frozen=True)
class Case:
    """One hostile mail and what must become of it."""

    name: str
    raw: bytes
    refused: str | None = None
    expect_in_body: str = ""
    expect_subject: str = ""
    attachments: int | None = None
    names: tuple[str, ...] = field(default=())


def lines(*rows: str) -> bytes:
    """Header and body lines joined with CRLF, encoded as UTF-8 with raw bytes kept."""
    return CRLF.join(rows).encode("utf-8", "surrogateescape")


def nested_multipart(depth: int, *, folded: bool = False) -> bytes:
    """``depth`` multiparts each inside the last, a text part at the bottom."""
    head = "Content-Type:\r\n multipart/mixed" if folded else "Content-Type: multipart/mixed"
    out = ["From: a@example.org", "Subject: deep", f'{head}; boundary="b0"', ""]
    for level in range(1, depth):
        out += [f"--b{level - 1}", f'{head}; boundary="b{level}"', ""]
    out += [f"--b{depth - 1}", "Content-Type: text/plain", "", "bottom"]
    out += [f"--b{level}--" for level in reversed(range(depth))]
    return lines(*out)


def nested_messages(depth: int) -> bytes:
    """``depth`` message/rfc822 parts each inside the last, with folded headers.

    No boundary lines and no unfolded ``Content-Type: message/`` header: the pre-scan
    sees nothing, so only the walk's depth check (or the parser's recursion) stops it.
    """
    head = ["From: a@example.org", "Subject: deep messages"]
    wrap = "Content-Type:\r\n message/rfc822\r\n\r\n"
    return lines(*head) + b"\r\n" + (wrap * depth).encode() + b"Subject: inner\r\n\r\nbottom\r\n"


def many_parts(count: int, *, filename: bool = False) -> bytes:
    """One multipart/mixed with ``count`` tiny parts (attachments when ``filename``)."""
    out = [
        "From: a@example.org",
        "Subject: many",
        'Content-Type: multipart/mixed; boundary="x"',
        "",
    ]
    for n in range(count):
        out.append("--x")
        if filename:
            out += [f'Content-Disposition: attachment; filename="f{n}.bin"']
        out += ["Content-Type: application/octet-stream", "", f"p{n}"]
    out += ["--x--", ""]
    return lines(*out)


def with_attachment(name_header: str, data: bytes = b"%PDF-1.4 hostile") -> bytes:
    """A mail whose one attachment carries ``name_header`` as its Content-Disposition."""
    encoded = base64.b64encode(data).decode()
    return lines(
        "From: Ana <ana@example.org>",
        "To: crm@crm.localhost",
        "Subject: adjunto",
        "Message-ID: <att-"
        + hashlib.sha256(name_header.encode()).hexdigest()[:16]
        + "@example.org>",
        'Content-Type: multipart/mixed; boundary="x"',
        "",
        "--x",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "ver adjunto",
        "--x",
        "Content-Type: application/pdf",
        "Content-Transfer-Encoding: base64",
        name_header,
        "",
        encoded,
        "--x--",
        "",
    )


def zip_mail() -> bytes:
    """A small zip that declares a large member: stored as it is, never unpacked."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.txt", b"\0" * 2_000_000)
    message = EmailMessage()
    message["From"] = "ana@example.org"
    message["Subject"] = "zip"
    message.set_content("see zip")
    message.add_attachment(
        buffer.getvalue(), maintype="application", subtype="zip", filename="../bomb.zip"
    )
    return message.as_bytes()


def forwarded() -> bytes:
    """A mail forwarded as a message/rfc822 attachment, itself carrying a PDF."""
    inner = EmailMessage()
    inner["From"] = "Proveedor <ventas@proveedor.example>"
    inner["Subject"] = "Factura 12"
    inner.set_content("Adjuntamos la factura.")
    inner.add_attachment(b"%PDF-1.4 f", maintype="application", subtype="pdf", filename="f.pdf")
    outer = EmailMessage()
    outer["From"] = "staff@crm.localhost"
    outer["Subject"] = "Fwd: Factura 12"
    outer.set_content("Mira esto")
    outer.add_attachment(inner)
    return outer.as_bytes()


def built() -> Iterator[Case]:
    """The cases made in code (large or parametrised ones)."""
    yield Case("deep-30", nested_multipart(30), refused="too_complex")
    yield Case("deep-5000", nested_multipart(5000), refused="too_complex")
    yield Case("deep-folded-150", nested_multipart(150, folded=True), refused="too_complex")
    yield Case("deep-messages-3000", nested_messages(3000), refused="too_complex")
    yield Case("parts-20000", many_parts(20_000), refused="too_complex")
    yield Case("parts-250", many_parts(250), refused="too_complex")
    yield Case("attachments-60", many_parts(60, filename=True), attachments=50)
    yield Case("huge-subject", lines("From: a@example.org", "Subject: " + "x " * 500_000, "", "b"))
    huge_to = ", ".join(f"U{n} <u{n}@example.org>" for n in range(100_000))
    yield Case("huge-to", lines("From: a@example.org", "To: " + huge_to, "", "body"))
    yield Case("many-headers", lines(*(f"X-H{n}: v" for n in range(50_000)), "", "body"))
    yield Case("empty", b"")
    yield Case("garbage", bytes(range(256)) * 40)
    yield Case(
        "punycode-body",
        lines("From: a@example.org", "Content-Type: text/plain; charset=punycode", "")
        + b"a" * 200_000,
    )
    yield Case(
        "traversal-rfc2231",
        with_attachment("Content-Disposition: attachment; filename*=utf-8''..%2F..%2Fetc%2Fpasswd"),
        names=("passwd",),
    )
    yield Case(
        "traversal-windows",
        with_attachment('Content-Disposition: attachment; filename="C:\\\\evil\\\\résumé.pdf"'),
        names=("résumé.pdf",),
    )
    yield Case(
        "rtl-override",
        with_attachment('Content-Disposition: attachment; filename="invoice\u202efdp.exe"'),
        names=("invoicefdp.exe",),
    )
    yield Case(
        "long-name",
        with_attachment(f'Content-Disposition: attachment; filename="{"n" * 5000}.pdf"'),
        names=("n" * 116 + ".pdf",),
    )
    yield Case("dots-name", with_attachment('Content-Disposition: attachment; filename=".."'))
    yield Case("zip", zip_mail(), attachments=1, names=("bomb.zip",))
    yield Case("forwarded", forwarded(), expect_in_body="Adjuntamos la factura", attachments=1)


def from_files() -> Iterator[Case]:
    """The committed .eml cases; the expectation is in each file's ``X-Expect-*`` headers."""
    for path in sorted(HERE.glob("*.eml")):
        raw = path.read_bytes()
        expect = {}
        for line in raw.split(b"\n"):
            if line.startswith(b"X-Expect-"):
                key, _, value = line.decode("utf-8").partition(":")
                expect[key.removeprefix("X-Expect-").lower()] = value.strip()
            if not line.strip():
                break
        yield Case(
            path.stem,
            raw,
            refused=expect.get("refused") or None,
            expect_in_body=expect.get("body", ""),
            expect_subject=expect.get("subject", ""),
        )


def corpus() -> list[Case]:
    """Every hostile case."""
    return [*built(), *from_files()]
