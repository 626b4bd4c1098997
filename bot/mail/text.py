"""Pure text clean-up for mail: bytes and odd strings to bounded, storable, readable text."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from typing import Final

REPLACEMENT: Final = "\ufffd"
MAX_NAME: Final = 120
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Elements whose end starts a new line of text, and those whose content is never text.
_BLOCKS: Final = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "footer"}
    | {"form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol"}
    | {"p", "pre", "section", "table", "td", "th", "tr", "ul"}
)
_HIDDEN: Final = frozenset({"script", "style", "head", "title", "template"})
_EXTENSIONS: Final = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/csv": ".csv",
    "message/rfc822": ".eml",
}


def decode_bytes(data: bytes) -> str:
    """UTF-8 when the bytes are UTF-8, else Windows-1252 (what unlabelled 8-bit mail mostly is)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def unsurrogate(text: str) -> str:
    """``text`` without lone surrogates: the email package keeps raw 8-bit bytes as them.

    Such a string fails later, when the database driver encodes it (EMAIL.md §3, pitfall 2),
    so the bytes are recovered and decoded properly here.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return text
    try:
        return decode_bytes(text.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:  # surrogates that were never bytes: nothing to recover
        return text.encode("utf-8", "replace").decode("utf-8")


def _visible(ch: str, keep: str) -> bool:
    # Category C is controls, format characters (bidi overrides), surrogates and unassigned.
    return ch in keep or unicodedata.category(ch)[0] != "C"


def _printable(text: str, keep: str) -> bool:
    # str.isprintable runs in C; most text passes and skips the per-character filter.
    for ch in keep:
        text = text.replace(ch, "")
    return text.isprintable()


def clean_line(text: str, max_chars: int) -> str:
    """One line of display text: no controls (NUL included), single spaces, bounded."""
    text = unsurrogate(text[: max_chars * 4])
    if not _printable(text, " "):
        text = "".join(ch if _visible(ch, "") else " " for ch in text)
    return " ".join(text.split())[:max_chars]


def clean_text(text: str, max_chars: int) -> str:
    """Multi-line text: ``\\n`` line ends, no controls but tabs, no runs of blank lines, bounded."""
    text = unsurrogate(text[: max_chars * 2])
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not _printable(text, " \n\t"):
        text = "".join(ch for ch in text if _visible(ch, "\n\t"))
    lines = (line.rstrip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")[:max_chars]


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML document, a line break after each block element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(self._hidden - 1, 0)
        elif tag in _BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.chunks.append(_SPACES.sub(" ", data.replace("\n", " ")))


def html_to_text(html: str, max_chars: int) -> str:
    """The readable text of an HTML body (scripts and styles dropped), bounded.

    Only the first ``10 * max_chars`` characters are read: markup outweighs text, and a
    stripped body is cut at ``max_chars`` anyway, so more would only cost time.
    """
    extractor = _TextExtractor()
    try:
        extractor.feed(html[: max_chars * 10])
        extractor.close()
    except Exception:  # HTMLParser is lenient; this only guards a parser bug on hostile input
        pass
    lines = (" ".join(line.split()) for line in "".join(extractor.chunks).split("\n"))
    return clean_text("\n".join(lines), max_chars)


def display_name(name: str | None, index: int, mime_type: str) -> str:
    """An attachment's name as shown to people; never a path (EMAIL.md §3, pitfall 3).

    NFC, the last component after ``/`` or ``\\``, no control or bidi characters, no
    leading or trailing dots and spaces, at most MAX_NAME characters keeping the
    extension; ``part-<n><ext>`` when nothing is left.
    """
    # The tail holds the last path component and the extension, the parts kept below.
    text = unicodedata.normalize("NFC", unsurrogate(name or "")[-2000:])
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(ch for ch in text if _visible(ch, "")).strip(" .")
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        keep = f".{ext}" if dot and stem and 0 < len(ext) <= 10 else ""
        text = text[: MAX_NAME - len(keep)].rstrip(" .") + keep
    return text or f"part-{index}{_EXTENSIONS.get(mime_type, '.bin')}"
