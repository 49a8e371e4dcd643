"""A small TOML writer with a fixed, diff-friendly layout, and a reader that reports line numbers.

Reading uses the standard library's ``tomllib``. Writing is ours (not ``tomli_w``) because the
layout must never change under an edit: arrays of records are always one inline table per line
with a trailing comma (adding a header adds one line), multi-line text is a multi-line basic
string that keeps ``\\r`` and a missing final newline exactly, and key order is the order given.
``tests/test_collections_format.py`` checks ``tomllib.loads(dumps(x)) == x`` with hypothesis.
"""

from __future__ import annotations

import datetime
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


class TomlWriteError(ValueError):
    """A value TOML cannot hold (an unpaired surrogate, a nested list of tables, ...)."""


class TomlReadError(ValueError):
    """A file that is not valid TOML; ``line`` is 1-based or None."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _check_text(s: str) -> None:
    for ch in s:
        if 0xD800 <= ord(ch) <= 0xDFFF:
            raise TomlWriteError(f"text contains an unpaired surrogate (U+{ord(ch):04X})")


def _char(ch: str) -> str:
    o = ord(ch)
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if o < 0x20 or o == 0x7F:
        return f"\\u{o:04X}"
    return ch


def basic_string(s: str) -> str:
    _check_text(s)
    return '"' + "".join(_char(c) for c in s) + '"'


def multiline_string(s: str) -> str:
    """A multi-line basic string that reads back exactly (CR, tabs, quotes, no final newline)."""
    _check_text(s)
    out: list[str] = ['"""\n']
    run = 0
    for ch in s:
        if ch == '"':
            run += 1
            out.append('\\"' if run % 3 == 0 else '"')
            continue
        run = 0
        if ch == "\n":
            out.append("\n")
        elif ch == "\t":
            out.append("\t")
        else:
            out.append(_char(ch))
    if s.endswith('"'):
        out.append('\\\n"""')  # a line-ending backslash: no quote runs into the closing quotes
    else:
        out.append('"""')
    return "".join(out)


def key(k: str) -> str:
    return k if _BARE_KEY.fullmatch(k) else basic_string(k)


def scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return multiline_string(v) if "\n" in v else basic_string(v)
    if isinstance(v, datetime.date | datetime.time):  # kept unknown keys may hold TOML dates
        return v.isoformat()
    raise TomlWriteError(f"cannot write a value of type {type(v).__name__}")


def inline_table(d: Mapping[str, Any]) -> str:
    if not d:
        return "{}"
    parts = []
    for k, v in d.items():
        if isinstance(v, str):
            val = basic_string(v)  # inline tables must stay on one line
        elif isinstance(v, Mapping):
            val = inline_table(v)
        elif isinstance(v, list | tuple):
            val = "[" + ", ".join(inline_value(x) for x in v) + "]"
        else:
            val = scalar(v)
        parts.append(f"{key(k)} = {val}")
    return "{ " + ", ".join(parts) + " }"


def inline_value(v: Any) -> str:
    if isinstance(v, str):
        return basic_string(v)
    if isinstance(v, Mapping):
        return inline_table(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(inline_value(x) for x in v) + "]"
    return scalar(v)


def _array(v: Sequence[Any]) -> str:
    if not v:
        return "[]"
    if all(isinstance(x, Mapping) for x in v):
        return "[\n" + "".join(f"  {inline_table(x)},\n" for x in v) + "]"
    if all(not isinstance(x, Mapping | list | tuple) and not (isinstance(x, str) and "\n" in x) for x in v):
        return "[" + ", ".join(inline_value(x) for x in v) + "]"
    return "[\n" + "".join(f"  {inline_value(x)},\n" for x in v) + "]"


def _entries(table: Mapping[str, Any], prefix: str) -> list[str]:
    lines: list[str] = []
    subtables: list[tuple[str, Mapping[str, Any]]] = []
    for k, v in table.items():
        if v is None:
            continue
        if isinstance(v, Mapping):
            subtables.append((k, v))
        elif isinstance(v, list | tuple):
            lines.append(f"{key(k)} = {_array(v)}")
        else:
            lines.append(f"{key(k)} = {scalar(v)}")
    for k, sub in subtables:
        name = f"{prefix}.{key(k)}" if prefix else key(k)
        lines.append("")
        lines.append(f"[{name}]")
        lines.extend(_entries(sub, name))
    return lines


def dumps(doc: Mapping[str, Any]) -> str:
    """TOML text for ``doc`` in its key order; ``None`` values are left out; ends with a newline."""
    return "\n".join(_entries(doc, "")) + "\n"


_LINE = re.compile(r"at line (\d+)")


def loads(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        msg = getattr(exc, "msg", None) or str(exc)
        if line is None:
            m = _LINE.search(str(exc))
            line = int(m.group(1)) if m else None
        if line is None and "end of document" in str(exc):
            line = max(1, len(text.splitlines()))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)$", "", msg).strip()
        raise TomlReadError(msg, line) from exc


def line_of(text: str, name: str) -> int | None:
    """The 1-based line where key or table ``name`` is written (for schema errors), if found."""
    pat = re.compile(rf'^[ \t]*(\[{re.escape(name)}\]|"?{re.escape(name)}"?\s*=)', re.M)
    m = pat.search(text)
    if m is None:
        return None
    return text.count("\n", 0, m.start()) + 1
