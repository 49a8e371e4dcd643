"""Formatting reply bodies one page at a time, without Qt (run on a worker thread).

A 200 MB body is never formatted whole: the viewer asks for one page (tens of kilobytes) at a
byte offset. JSON is re-indented by a streaming tokenizer whose state carries from one page to
the next; text is decoded with the reply's charset; binary becomes a hex dump. Lines longer than
``LINE_LIMIT`` characters are broken for display, so the text widget lays out only short blocks.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, replace

TEXT_PAGE = 64 * 1024
JSON_PAGE = 32 * 1024
HEX_PAGE = 16 * 1024
LINE_LIMIT = 1000
INDENT = "  "

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+')


@dataclass(frozen=True, slots=True)
class JsonState:
    """Where the re-indenter stands between pages."""

    depth: int = 0
    carry: str = ""  # an unfinished token (a string cut by the page end)
    pending_open: bool = False  # an opening bracket whose newline waits for the next token


def reindent_json(text: str, state: JsonState, final: bool = False) -> tuple[str, JsonState]:
    """Pretty-print a slice of a JSON document; returns (text, state for the next slice).

    Tolerant: it only reflows tokens, so invalid JSON is shown as well as it can be.
    """
    src = state.carry + text
    out: list[str] = []
    depth, pending = state.depth, state.pending_open
    pos = 0
    n = len(src)
    for m in _TOKEN.finditer(src):
        gap = src[pos:m.start()]
        if gap.strip():  # a quote the string pattern could not close: the string goes on in the next slice
            if not final:
                break
            out.append(gap.strip())
        tok = m.group()
        if not final and m.end() == n and tok[0] not in "{}[],:":
            break  # a number, literal or string at the very end may go on in the next slice
        pos = m.end()
        if tok == "}" or tok == "]":
            depth = max(0, depth - 1)
            if pending:
                out.append(tok)
                pending = False
            else:
                out.append("\n" + INDENT * depth + tok)
            continue
        if pending:
            out.append("\n" + INDENT * depth)
            pending = False
        if tok == "{" or tok == "[":
            out.append(tok)
            depth += 1
            pending = True
        elif tok == ",":
            out.append(",\n" + INDENT * depth)
        elif tok == ":":
            out.append(": ")
        else:
            out.append(tok)
    rest = src[pos:]
    if final:
        if rest.strip():
            out.append(rest.strip())
        rest = ""
    elif not rest.strip():
        rest = ""
    elif len(rest) > 4 * JSON_PAGE:  # a huge string: show it as it comes rather than carry it on
        out.append(rest)
        rest = ""
    return "".join(out), replace(state, depth=depth, carry=rest, pending_open=pending)


def break_long_lines(text: str, limit: int = LINE_LIMIT) -> tuple[str, bool]:
    """Split lines longer than ``limit`` characters; returns (text, whether any was split)."""
    if len(text) <= limit or all(len(line) <= limit for line in text.split("\n")):
        return text, False
    out = []
    for line in text.split("\n"):
        if len(line) <= limit:
            out.append(line)
        else:
            out.extend(line[i:i + limit] for i in range(0, len(line), limit))
    return "\n".join(out), True


def hex_dump(data: bytes, offset: int) -> str:
    lines = []
    for i in range(0, len(data), 16):
        chunk = data[i:i + 16]
        hx = chunk.hex(" ")
        if len(chunk) > 8:
            hx = hx[:23] + " " + hx[23:]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset + i:010x}  {hx:<48}  {text}")
    return "\n".join(lines)


def charset_of(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.strip().lower() == "charset" and v.strip():
            name = v.strip().strip('"')
            try:
                return codecs.lookup(name).name
            except LookupError:
                return None
    return None


def pick_encoding(content_type: str | None, head: bytes) -> str:
    """The body's text encoding: the Content-Type charset, a BOM, else UTF-8."""
    cs = charset_of(content_type)
    if cs:
        return cs
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8"


def looks_binary(content_type: str | None, head: bytes) -> bool:
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct.startswith("text/") or ct.endswith(("json", "xml", "javascript", "+json", "+xml")) or ct in (
            "application/x-www-form-urlencoded", "application/graphql", "application/yaml"):
        return False
    if b"\x00" in head[:8192]:
        return True
    if ct and (ct.startswith(("image/", "audio/", "video/", "font/")) or ct in (
            "application/octet-stream", "application/pdf", "application/zip", "application/gzip")):
        return True
    try:
        head[:8192].decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head[:8192]) - 4  # a cut multibyte character at the end is fine
    return False


def looks_json(content_type: str | None, head: bytes) -> bool:
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct.endswith("json") or ct.endswith("+json"):
        return True
    if ct and not ct.startswith("text/plain"):
        return False
    s = head.lstrip()[:1]
    return s in (b"{", b"[")


def utf8_cut(data: bytes) -> int:
    """The length of the longest prefix of ``data`` that does not end inside a UTF-8 character."""
    n = len(data)
    for back in range(1, min(4, n) + 1):
        b = data[n - back]
        if (b & 0xC0) == 0x80:
            continue
        if b < 0x80:
            return n
        need = 2 if b < 0xE0 else 3 if b < 0xF0 else 4
        return n if back >= need else n - back
    return n


def skip_continuation(data: bytes) -> int:
    """How many leading bytes of ``data`` are UTF-8 continuation bytes (a page cut mid-character)."""
    i = 0
    while i < min(3, len(data)) and (data[i] & 0xC0) == 0x80:
        i += 1
    return i
