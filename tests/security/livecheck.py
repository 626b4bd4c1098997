"""What "live" means for data shown in Rocket.Chat, as a checker independent of bot.chatfmt.

A message is parsed twice: the server's ``MentionsParser`` notifies ``(^|\\s|>)@name`` and
``#name`` (name characters ``[0-9a-zA-Z-_.]`` by default), and clients render the tree of
``@rocket.chat/message-parser`` (``grammar.pegjs``). In that grammar a construct needs its
marker characters side by side: ``@``/``#`` then a name character (mentions, channels,
``color:#…``); ``scheme:`` then ``//`` (URLs); ``label.label`` (auto-linked host names and
e-mail addresses; ``localhost`` always); ``](`` (markdown links and images); ``<`` then the
rest (``<url|text>`` links, ``<t:…>`` timestamps, the ``<3`` emoticon); ``||`` (spoilers);
``+`` then digits (phone links); ``\\(``/``\\[`` (KaTeX); ``:name:`` (emoji short codes,
``EmojiShortCodeName = [0-9a-zA-Z-_+.]+``); a pair of ``*``/``_``/``~`` (emphasis) or of
backticks (code); and, at the first character of a line, ``>``, ``#``, ``-``/``*``/``+``,
``1.``, ``|``, ``$$``, ``---`` or a fence (blocks). The ``Escaped`` rule makes
``\\`` + one of ``*_~`#.`` plain text.

So a piece of data shown in a message is **live** when, in the text as sent, it holds

* ``@`` or ``#`` directly followed by a name character (``[\\w.-]``);
* ``://``, ``localhost`` (any case), ``](``, ``||``, ``+`` before a digit or ``(``,
  ``\\(`` or ``\\[``, or ``<`` not followed by an invisible WORD JOINER (U+2060);
* a ``.`` that is neither escaped (``\\.``) nor followed by a space, the end of the text or
  a WORD JOINER (a host-name label must follow the dot directly, and U+2060 is not a
  host-name character);
* an emoji short code ``:name:``;
* an emphasis or code marker (``*``, ``_``, ``~``, a backtick) not escaped by ``\\``;
* a line (after a line break inside the data) that starts with block syntax;

and the whole message must hold no C0/C1 control character but the line break and no bidi
embedding, override or isolate (U+202A–U+202E, U+2066–U+2069), which could make it read
differently from what it is.

Where data sits in a reply is found by tags: the data is stored as ``ZQJ<data>JQZ`` (letters
the generated data never contains), and every stretch between the tags in the reply is the
data as shown (or up to ``…`` where the reply cuts long text short). ``visible`` is what a
reader sees of such a stretch (escapes resolved, invisible joiners gone); it must be the data
itself, so the data is shown and not dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Final

WORD_JOINER: Final = "\u2060"
TAG_OPEN, TAG_CLOSE = "ZQJ", "JQZ"
ELLIPSIS: Final = "…"  # where the chat side cut text that was too long
_REGION = re.compile(f"{TAG_OPEN}(.*?)({TAG_CLOSE}|{ELLIPSIS})", re.DOTALL)

_LIVE_INLINE: Final = {
    "mention or channel": re.compile(r"[@#][\w.\-]"),
    "URL scheme": re.compile(r"://"),
    "localhost": re.compile(r"(?i)localhost"),
    "markdown link": re.compile(r"\]\("),
    "spoiler": re.compile(r"\|\|"),
    "phone link": re.compile(r"\+[\d(]"),
    "KaTeX": re.compile(r"\\[(\[]"),
    "angle construct": re.compile("<(?!" + WORD_JOINER + ")"),
    "host name dot": re.compile(r"(?<!\\)\.(?=[^\s" + WORD_JOINER + "])"),
    "emoji short code": re.compile(r":[0-9A-Za-z_+.\-]+:"),
    "emphasis or code marker": re.compile(r"(?<!\\)[*_~`]"),
}
_IN_CODE: Final = ("mention or channel", "URL scheme")
_BLOCK_START: Final = re.compile(
    r"[ \t]*(?:>|#{1,6}(?:[ \t]|$)|[-*+][ \t]|\d+[.)][ \t]|```|\|\||\||\$\$|-{3,}|\\\[)"
)
# Everything the message may not carry at all: controls (but "\n") and bidi formatting.
UNSAFE: Final = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SERVER_MENTION: Final = re.compile(r"(?:^|[\s>])[@#][0-9A-Za-z\-_.]")


def tagged(text: str) -> str:
    """``text`` between the tags that let a test find it in a reply."""
    return f"{TAG_OPEN}{text}{TAG_CLOSE}"


def regions(message: str) -> list[str]:
    """Every stretch of tagged data in ``message``, as sent (up to the cut, if cut short)."""
    return [match[1] for match in _REGION.finditer(message)]


def _in_code_span(message: str, match: re.Match[str]) -> bool:
    # `ZQJ…JQZ` on one line with no backtick inside: an inline code span (grammar InlineCode).
    before, after = (
        message[match.start() - 1 : match.start()],
        message[match.end() : match.end() + 1],
    )
    return before == after == "`" and not set("`\n") & set(match[1])


def live_in(region: str, *, in_code: bool = False) -> list[str]:
    """The live constructs in one stretch of data as sent (empty when it is inert).

    Inside an inline code span (``in_code``) the client shows everything raw, so only what
    the server reads in the raw text counts: mentions and URLs with a scheme.
    """
    patterns = {k: _LIVE_INLINE[k] for k in _IN_CODE} if in_code else _LIVE_INLINE
    found = [name for name, pattern in patterns.items() if pattern.search(region)]
    lines = region.split("\n")[1:]  # the first line continues the reply's own text
    if any(_BLOCK_START.match(line) for line in lines):
        found.append("block syntax")
    return found


def block_lines(text: str) -> list[str]:
    """The lines of ``text`` that start with block syntax."""
    return [line for line in text.split("\n") if _BLOCK_START.match(line)]


def visible(shown: str) -> str:
    """What a reader sees of text as sent: ``\\`` escapes resolved, joiners gone."""
    return re.sub(r"\\([*_~`#.])", r"\1", shown).replace(WORD_JOINER, "").replace("\u01c0", "|")


def normalized(text: str) -> str:
    """The characters of ``text`` a reader sees, in order: NFC, without white space and
    invisible characters (controls, format characters, unassigned code points), which the
    chat side and the mail parser drop or turn into spaces in their own ways."""
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch)[0] != "C")


def problems(message: str, data: Iterable[str]) -> list[str]:
    """Why ``message``, a reply showing some of ``data`` tagged, is not inert (or nothing)."""
    expected = {normalized(item) for item in data}
    found = []
    if UNSAFE.search(message):
        found.append(f"control or bidi character in {message!r}")
    if _SERVER_MENTION.search(message):
        found.append(f"the server would notify a mention in {message!r}")
    for match in _REGION.finditer(message):
        region, cut = match[1], match[2] == ELLIPSIS
        if cut:  # the cut may fall inside the closing tag
            region = region.removesuffix(TAG_CLOSE[:2]).removesuffix(TAG_CLOSE[:1])
        found += [
            f"{what} live in {region!r}"
            for what in live_in(region, in_code=_in_code_span(message, match))
        ]
        seen = normalized(visible(region))
        if not any(item.startswith(seen) if cut else item == seen for item in expected):
            found.append(f"shown as {visible(region)!r}, which is none of the data")
    return found
