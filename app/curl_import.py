"""curl command lines in and out, without Qt: ``parse_curl(text) -> ParsedRequest`` and ``format_curl``.

Understands what browsers' "Copy as cURL" and API docs produce: bash quoting (single, double,
``$'…'`` ANSI-C, backslash-newline continuations), ``^``-continued lines from Windows cmd,
combined short options (``-sSL``, ``-XPOST``), and the options that change the request. Options
that only change curl's own output (``-s``, ``-v``, ``-o``) are ignored; unknown ones are listed in
``ParsedRequest.warnings`` rather than guessed at. Secrets given with ``-u`` stay in the returned
object only; nothing here writes anything anywhere.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from urllib.parse import quote_plus, urlsplit, urlunsplit


class CurlParseError(ValueError):
    """The text is not a curl command we can turn into a request (the message says why)."""


@dataclass
class FormField:
    """One ``-F`` part: a value, or a file (``path``) with optional filename and type."""

    name: str
    value: str = ""
    path: str | None = None
    filename: str | None = None
    content_type: str | None = None
    file_as_value: bool = False  # ``name=<file``: the file's contents as a plain field, no filename


@dataclass
class ParsedRequest:
    method: str = "GET"
    url: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None  # -d / --data-raw / --data-binary / --json / --data-urlencode, joined with &
    body_file: str | None = None  # --data-binary @file, -T file: streamed from disk when sent
    form: list[FormField] = field(default_factory=list)  # -F: multipart/form-data
    auth: str | None = None  # "basic", "digest", "bearer" or None
    user: str | None = None
    password: str | None = None
    bearer_token: str | None = None
    insecure: bool = False
    follow_redirects: bool = False
    max_redirects: int | None = None
    http_version: str | None = None  # "1.0", "1.1", "2", "2-prior-knowledge"
    compressed: bool = False
    max_time: float | None = None
    connect_timeout: float | None = None
    proxy: str | None = None
    proxy_user: str | None = None
    unix_socket: str | None = None
    warnings: list[str] = field(default_factory=list)
    removed_headers: set[str] = field(default_factory=set)  # lower-case names given as "Name:"

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None


# Options that take an argument but do not change the request.
_IGNORED_WITH_ARG = {
    "-o", "--output", "-w", "--write-out", "-D", "--dump-header", "--trace", "--trace-ascii",
    "-c", "--cookie-jar", "--retry", "--retry-delay", "--retry-max-time", "-y", "--speed-time",
    "-Y", "--speed-limit", "--limit-rate", "--stderr", "-C", "--continue-at", "--output-dir",
    "--cacert", "--capath", "--cert", "-E", "--key", "--cert-type", "--key-type", "--ciphers",
    "--resolve", "--connect-to", "--interface", "--dns-servers", "-r", "--range", "--config", "-K",
}
# Options without an argument that do not change the request.
_IGNORED_FLAGS = {
    "-s", "--silent", "-S", "--show-error", "-v", "--verbose", "-i", "--include", "-f", "--fail",
    "--fail-with-body", "-N", "--no-buffer", "-g", "--globoff", "-#", "--progress-bar", "-O",
    "--remote-name", "-J", "--remote-header-name", "--no-progress-meter", "-n", "--netrc",
    "--tcp-nodelay", "--no-keepalive", "--path-as-is", "--raw", "--tr-encoding", "-q", "--disable",
    "--create-dirs", "--ssl-reqd", "--ssl", "-l", "--list-only", "-j", "--junk-session-cookies",
    "--no-sessionid", "--no-alpn", "--no-npn", "-Z", "--parallel", "--http0.9", "--tlsv1.2", "--tlsv1.3",
}
# Short options that take an argument (the rest are flags).
_SHORT_WITH_ARG = set("XHdFuAebmxTowDcCKrEYy")


_PLAIN_RUN = re.compile(r"[^ \t\r\n\\'\"$]+")  # characters with no meaning to the shell
_DQ_RUN = re.compile(r'[^"\\]+')
_ANSI_RUN = re.compile(r"[^'\\]+")


def tokenize(text: str) -> list[str]:
    """Split a shell command line like bash would (no expansion), plus cmd's ``^`` continuations."""
    s = text.strip()
    if "^\n" in s or "^\r\n" in s:  # Windows cmd "Copy as cURL (cmd)": ^ escapes, ^ line ends
        s = s.replace("^\r\n", " ").replace("^\n", " ")
        s = s.replace('^"', '"').replace("^^", "\x00").replace("^", "").replace("\x00", "^")
    out: list[str] = []
    i, n = 0, len(s)
    cur: list[str] = []
    have = False  # a token is being built (even an empty '' one)
    while i < n:
        c = s[i]
        if c in " \t\r\n":
            if have:
                out.append("".join(cur))
                cur, have = [], False
            i += 1
        elif c == "\\":
            if i + 1 < n and s[i + 1] == "\n":
                i += 2  # line continuation
            elif i + 2 < n and s[i + 1] == "\r" and s[i + 2] == "\n":
                i += 3
            elif i + 1 < n:
                cur.append(s[i + 1])
                have = True
                i += 2
            else:
                i += 1
        elif c == "'":
            j = s.find("'", i + 1)
            if j < 0:
                raise CurlParseError("unterminated single quote")
            cur.append(s[i + 1:j])
            have = True
            i = j + 1
        elif c == "$" and i + 1 < n and s[i + 1] == "'":
            text_, i = _ansi_c(s, i + 2)
            cur.append(text_)
            have = True
        elif c == '"':
            i += 1
            while True:
                if i >= n:
                    raise CurlParseError("unterminated double quote")
                d = s[i]
                if d == '"':
                    i += 1
                    break
                if d == "\\" and i + 1 < n and s[i + 1] in '"\\$`\n':
                    if s[i + 1] != "\n":
                        cur.append(s[i + 1])
                    i += 2
                    continue
                run = _DQ_RUN.match(s, i)  # a run of plain characters at once: a 5 MB paste stays fast
                if run is not None:
                    cur.append(run.group())
                    i = run.end()
                    continue
                cur.append(d)
                i += 1
            have = True
        else:
            run = _PLAIN_RUN.match(s, i)
            if run is not None:
                cur.append(run.group())
                i = run.end()
            else:
                cur.append(c)
                i += 1
            have = True
    if have:
        out.append("".join(cur))
    return out


_ANSI = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
         "\\": "\\", "'": "'", '"': '"', "?": "?", "e": "\x1b", "E": "\x1b"}


def _ansi_c(s: str, i: int) -> tuple[str, int]:
    """Decode a bash ``$'…'`` string starting after the opening quote; return (text, next index)."""
    out: list[str] = []
    n = len(s)
    while i < n:
        c = s[i]
        if c == "'":
            return "".join(out), i + 1
        if c == "\\" and i + 1 < n:
            e = s[i + 1]
            if e in _ANSI:
                out.append(_ANSI[e])
                i += 2
            elif e == "x":
                j = i + 2
                while j < n and j < i + 4 and s[j] in "0123456789abcdefABCDEF":
                    j += 1
                out.append(_byte(int(s[i + 2:j] or "0", 16)))
                i = j
            elif e in "uU":
                width = 4 if e == "u" else 8
                j = i + 2
                while j < n and j < i + 2 + width and s[j] in "0123456789abcdefABCDEF":
                    j += 1
                out.append(chr(int(s[i + 2:j] or "0", 16)))
                i = j
            elif e in "01234567":
                j = i + 1
                while j < n and j < i + 4 and s[j] in "01234567":
                    j += 1
                out.append(_byte(int(s[i + 1:j], 8) & 0xFF))
                i = j
            else:
                out.append("\\" + e)
                i += 2
        else:
            run = _ANSI_RUN.match(s, i)
            if run is not None:
                out.append(run.group())
                i = run.end()
            else:
                out.append(c)
                i += 1
    raise CurlParseError("unterminated $'…' string")


def _byte(b: int) -> str:
    """A raw byte from ``\\xHH``: ASCII as is, others as a surrogate-escaped byte (see ``to_bytes``)."""
    return chr(b) if b < 0x80 else chr(0xDC00 + b)


def to_bytes(text: str) -> bytes:
    """Encode a token back to the bytes the shell would have passed (raw ``\\xHH`` bytes kept)."""
    try:
        return text.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that no \\xHH made: keep it rather than crash
        return text.encode("utf-8", errors="surrogatepass")


def looks_like_curl(text: str) -> bool:
    """True when ``text`` is a curl command (what a paste into the URL field should convert)."""
    t = text.lstrip()
    return t.startswith(("curl ", "curl\t", "curl\n", "curl.exe ")) or t == "curl"


def parse_curl(text: str) -> ParsedRequest:
    """Turn a curl command line into a ``ParsedRequest``; raises ``CurlParseError`` with the reason."""
    tokens = tokenize(text)
    if not tokens or tokens[0] not in ("curl", "curl.exe"):
        raise CurlParseError("not a curl command (it must start with 'curl')")
    p = ParsedRequest()
    explicit_method: str | None = None
    data_parts: list[str] = []
    get_mode = False
    head = False
    upload = False
    urls: list[str] = []
    args = _expand_short(tokens[1:])
    i = 0

    def need() -> str:
        nonlocal i
        if i + 1 >= len(args):
            raise CurlParseError(f"option {args[i]} needs a value")
        i += 1
        return args[i]

    while i < len(args):
        a = args[i]
        if a.startswith("--") and "=" in a and a.split("=", 1)[0] in ("--url", "--request", "--header",
                                                                     "--data", "--user", "--json"):
            name, val = a.split("=", 1)
            args[i:i + 1] = [name, val]
            a = name
        if a in ("-X", "--request"):
            explicit_method = need()
        elif a in ("-H", "--header"):
            _add_header(p, need())
        elif a in ("-d", "--data", "--data-ascii"):
            v = need()
            if v.startswith("@"):
                _data_file(p, v[1:], data_parts)
            else:
                data_parts.append(v.replace("\r", "").replace("\n", ""))
        elif a in ("--data-raw",):
            data_parts.append(need())
        elif a in ("--data-binary",):
            v = need()
            if v.startswith("@"):
                _data_file(p, v[1:], data_parts)
            else:
                data_parts.append(v)
        elif a == "--data-urlencode":
            data_parts.append(_urlencode_arg(p, need()))
        elif a == "--json":
            v = need()
            data_parts.append(v)
            if p.header("Content-Type") is None:
                p.headers.append(("Content-Type", "application/json"))
            if p.header("Accept") is None:
                p.headers.append(("Accept", "application/json"))
        elif a in ("-F", "--form"):
            p.form.append(_form_field(need()))
        elif a == "--form-string":
            name, _, value = need().partition("=")
            p.form.append(FormField(name, value))
        elif a in ("-u", "--user"):
            user, sep, pw = need().partition(":")
            p.user, p.password = user, (pw if sep else "")
            p.auth = p.auth or "basic"
        elif a == "--basic":
            p.auth = "basic"
        elif a == "--digest":
            p.auth = "digest"
        elif a in ("--ntlm", "--negotiate", "--anyauth"):
            p.warnings.append(f"{a} is not supported; using Basic")
            p.auth = "basic"
        elif a == "--oauth2-bearer":
            p.bearer_token = need()
            p.auth = "bearer"
        elif a in ("-A", "--user-agent"):
            _set_header(p, "User-Agent", need())
        elif a in ("-e", "--referer"):
            _set_header(p, "Referer", need().removesuffix(";auto"))
        elif a in ("-b", "--cookie"):
            v = need()
            if "=" in v:
                _set_header(p, "Cookie", v)
            else:
                p.warnings.append(f"cookie file {v!r} is not read; add the cookies as a header")
        elif a in ("-G", "--get"):
            get_mode = True
        elif a in ("-I", "--head"):
            head = True
        elif a in ("-L", "--location", "--location-trusted"):
            p.follow_redirects = True
        elif a == "--max-redirs":
            p.max_redirects = _int(need(), a)
        elif a in ("-k", "--insecure"):
            p.insecure = True
        elif a == "--compressed":
            p.compressed = True
        elif a in ("-0", "--http1.0"):
            p.http_version = "1.0"
        elif a == "--http1.1":
            p.http_version = "1.1"
        elif a == "--http2":
            p.http_version = "2"
        elif a == "--http2-prior-knowledge":
            p.http_version = "2-prior-knowledge"
        elif a in ("--http3", "--http3-only"):
            p.warnings.append(f"{a}: HTTP/3 is not supported; using HTTP/2 or HTTP/1.1")
        elif a in ("-m", "--max-time"):
            p.max_time = _float(need(), a)
        elif a == "--connect-timeout":
            p.connect_timeout = _float(need(), a)
        elif a in ("-x", "--proxy"):
            p.proxy = need()
        elif a in ("-U", "--proxy-user"):
            p.proxy_user = need()
        elif a == "--unix-socket" or a == "--abstract-unix-socket":
            p.unix_socket = need()
        elif a in ("-T", "--upload-file"):
            p.body_file = need()
            upload = True
        elif a == "--url":
            urls.append(need())
        elif a in _IGNORED_WITH_ARG:
            need()
        elif a in _IGNORED_FLAGS:
            pass
        elif a.startswith("-") and len(a) > 1:
            p.warnings.append(f"ignored unknown option {a}")
        else:
            urls.append(a)
        i += 1

    if not urls:
        raise CurlParseError("the curl command has no URL")
    if len(urls) > 1:
        p.warnings.append(f"{len(urls)} URLs given; using the first")
    url = urls[0]
    if "://" not in url:
        url = "http://" + url
    if data_parts and get_mode:
        url = _append_query(url, "&".join(data_parts))
        data_parts = []
    if data_parts:
        p.body = to_bytes("&".join(data_parts))
        if p.header("Content-Type") is None and "content-type" not in p.removed_headers:
            p.headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    p.url = url
    if explicit_method:
        p.method = explicit_method
    elif head:
        p.method = "HEAD"
    elif upload:
        p.method = "PUT"
    elif p.body is not None or p.form or p.body_file:
        p.method = "POST"
    return p


def _expand_short(args: list[str]) -> list[str]:
    """``-sSL`` → ``-s -S -L``; ``-XPOST`` → ``-X POST``; ``-HAccept: x`` → ``-H 'Accept: x'``."""
    out: list[str] = []
    for a in args:
        if len(a) > 2 and a[0] == "-" and a[1] != "-":
            j = 1
            while j < len(a):
                ch = a[j]
                if ch in _SHORT_WITH_ARG:
                    out.append("-" + ch)
                    rest = a[j + 1:]
                    if rest:
                        out.append(rest)
                    break
                out.append("-" + ch)
                j += 1
        else:
            out.append(a)
    return out


def _add_header(p: ParsedRequest, line: str) -> None:
    if line.startswith("@"):
        p.warnings.append(f"header file {line[1:]!r} is not read")
        return
    if ":" not in line:
        if line.endswith(";"):  # "Name;" sends an empty header
            p.headers.append((line[:-1].strip(), ""))
        else:
            p.warnings.append(f"ignored malformed header {line!r}")
        return
    name, value = line.split(":", 1)
    name, value = name.strip(), value.strip()
    if not value:  # "Name:" removes a header curl would send (e.g. its default Content-Type)
        p.headers = [(k, v) for k, v in p.headers if k.lower() != name.lower()]
        p.removed_headers.add(name.lower())
        return
    p.headers.append((name, value))


def _set_header(p: ParsedRequest, name: str, value: str) -> None:
    p.headers = [(k, v) for k, v in p.headers if k.lower() != name.lower()]
    p.headers.append((name, value))


def _data_file(p: ParsedRequest, path: str, parts: list[str]) -> None:
    if path == "-":
        p.warnings.append("data from stdin (@-) is not available; the body is empty")
        return
    if parts or p.body_file:
        p.warnings.append(f"data file {path!r} combined with other data is not read")
        return
    p.body_file = path


def _urlencode_arg(p: ParsedRequest, v: str) -> str:
    if "@" in v and ("=" not in v or v.index("@") < v.index("=")):
        p.warnings.append(f"--data-urlencode file {v!r} is not read")
        return ""
    if v.startswith("="):
        return quote_plus(to_bytes(v[1:]))
    if "=" in v:
        name, val = v.split("=", 1)
        return f"{name}={quote_plus(to_bytes(val))}"
    return quote_plus(to_bytes(v))  # curl encodes the bytes: $'\\xff' is %FF


def _form_field(spec: str) -> FormField:
    name, sep, rest = spec.partition("=")
    if not sep:
        raise CurlParseError(f"-F {spec!r}: expected name=value")
    if rest.startswith(("@", "<")):
        file_part = rest[1:]
        pieces = _split_form_params(file_part)
        f = FormField(name, path=pieces[0])
        for extra in pieces[1:]:
            k, _, val = extra.partition("=")
            k = k.strip().lower()
            if k == "type":
                f.content_type = val
            elif k == "filename":
                f.filename = val.strip('"')
        f.file_as_value = rest.startswith("<")
        return f
    pieces = _split_form_params(rest)
    f = FormField(name, value=pieces[0])
    for extra in pieces[1:]:
        k, _, val = extra.partition("=")
        if k.strip().lower() == "type":
            f.content_type = val
    if rest.startswith('"') and rest.endswith('"') and len(rest) >= 2:
        f.value = rest[1:-1]
    return f


def _split_form_params(s: str) -> list[str]:
    """Split ``value;type=x;filename=y`` on ``;`` outside double quotes."""
    out, cur, quoted = [], [], False
    for ch in s:
        if ch == '"':
            quoted = not quoted
            cur.append(ch)
        elif ch == ";" and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _append_query(url: str, query: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. "http://[" (found by tests/test_import_fuzz.py)
        raise CurlParseError(f"invalid URL {url!r}: {exc}") from None
    q = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit((parts.scheme, parts.netloc, parts.path, q, parts.fragment))


def _int(v: str, opt: str) -> int:
    try:
        return int(v)
    except ValueError:
        raise CurlParseError(f"{opt} expects a whole number, got {v!r}") from None


def _float(v: str, opt: str) -> float:
    try:
        return float(v)
    except ValueError:
        raise CurlParseError(f"{opt} expects a number of seconds, got {v!r}") from None


def format_curl(method: str, url: str, headers: list[tuple[str, str]] | None = None,
                body: bytes | None = None, body_file: str | None = None,
                form: list[FormField] | None = None, insecure: bool = False,
                follow_redirects: bool = False) -> str:
    """A curl command that sends the same request (for "Copy as curl")."""
    parts = ["curl"]
    implied = "POST" if (body is not None or body_file or form) else "GET"
    if method.upper() != implied:
        parts += ["-X", shlex.quote(method)]
    parts.append(shlex.quote(url))
    for k, v in headers or []:
        parts += ["-H", shlex.quote(f"{k}: {v}" if v else f"{k};")]
    if form:
        for f in form:
            if f.path is not None:
                spec = f"{f.name}=@{f.path}"
                if f.filename:
                    spec += f";filename={f.filename}"
                if f.content_type:
                    spec += f";type={f.content_type}"
            else:
                spec = f"{f.name}={f.value}"
                if f.content_type:
                    spec += f";type={f.content_type}"
            parts += ["-F", shlex.quote(spec)]
    elif body_file is not None:
        parts += ["--data-binary", shlex.quote("@" + body_file)]
    elif body is not None:
        if not any(k.lower() == "content-type" for k, _ in headers or []):
            parts += ["-H", shlex.quote("Content-Type:")]  # curl would add its form type otherwise
        try:
            text: str | None = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and all(ch.isprintable() or ch in "\n\t" for ch in text):
            parts += ["--data-raw", shlex.quote(text)]
        else:
            parts += ["--data-raw", _ansi_quote(body)]
    if insecure:
        parts.append("-k")
    if follow_redirects:
        parts.append("-L")
    return " ".join(parts)


def _ansi_quote(data: bytes) -> str:
    out = ["$'"]
    for b in data:
        ch = chr(b)
        if ch == "'":
            out.append("\\'")
        elif ch == "\\":
            out.append("\\\\")
        elif 32 <= b < 127:
            out.append(ch)
        else:
            out.append(f"\\x{b:02x}")
    out.append("'")
    return "".join(out)


__all__ = ["CurlParseError", "FormField", "ParsedRequest", "format_curl", "looks_like_curl", "parse_curl",
           "tokenize"]
