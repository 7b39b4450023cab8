"""Neutralising text for output: every string that came from the network or a file (banners, certificate
subjects, DNS names, a report file's host names) goes through these before a renderer writes it.

`visible` escapes what a terminal, a ticket or a parser would act on instead of showing: C0 and C1 control
characters (ESC sequences, OSC, \\r, NUL), line and paragraph separators, bidirectional overrides, lone
surrogates, and the characters XML 1.0 forbids. The format helpers add their own escaping on top.
"""

from __future__ import annotations

import re

_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb\ufffe\uffff\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def visible(text: object) -> str:
    """`text` with every control or invisible formatting character shown as an escape (\\n, \\x1b, \\u202e)."""
    text = "" if text is None else str(text)
    if text.isascii() and text.isprintable():  # the common case, and nothing to escape: ASCII controls aren't printable
        return text
    return _INVISIBLE.sub(_escape, text)


# Markdown: characters that start emphasis, code, links, HTML, tables or entities. Escaped with a backslash
# (CommonMark lets any ASCII punctuation be escaped); an underscore inside a word cannot start emphasis; '@'
# would let GitHub turn an e-mail address or a mention into a link.
_MARKDOWN = re.compile(r"[\\`*\[\]<>|~&@]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def markdown(text: object) -> str:
    """Plain text for Markdown: nothing in it becomes markup, a link, HTML or a new line (headings need one)."""
    escaped = _MARKDOWN.sub(lambda m: "\\" + m.group(0), visible(text))
    return escaped.replace("://", ":\\/\\/").replace("www.", "www\\.")  # no autolinks either


def markdown_code(text: object, *, in_table: bool = False) -> str:
    """A Markdown code span that holds `text` whatever backticks it contains (CommonMark: a longer fence)."""
    body = visible(text)
    if in_table:
        body = body.replace("|", "\\|")  # GFM splits cells before it parses code spans
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body.strip() else ""
    return f"{fence}{pad}{body}{pad}{fence}"
