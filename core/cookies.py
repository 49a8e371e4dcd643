"""Cookies as QNAM keeps them (reference C1–C9): parsing, the jar's accept and send rules, editing.

The rules follow ``QNetworkCookie``/``QNetworkCookieJar`` rather than RFC 6265 where they differ:
the default path keeps its trailing ``/`` (C2, C3), a Path outside the request path is accepted and
Secure cookies are accepted over plain http (C4), the last of Max-Age/Expires wins (C5), and the
Cookie header lists longer paths first, sorted by the same (unstable) ``std::sort`` as Qt's, so up
to 16 cookies keep jar order and more come in Qt's order (C7). Public suffixes come from the
``publicsuffixlist`` package's bundled list (no network at run time), applied as Qt applies its own
list: explicit and wildcard rules only, so an unlisted name such as ``localhost`` is not a suffix.

A jar may write through to a ``core.cookie_store.SqliteCookieStore`` so that it survives restarts.
"""

from __future__ import annotations

import enum
import ipaddress
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

from core.stdsort import std_sort

if TYPE_CHECKING:
    from core.cookie_store import SqliteCookieStore

CookieKey = tuple[str, str, str]  # (name, domain, path): what makes two cookies "the same" (Qt)


class SameSite(enum.Enum):
    """``QNetworkCookie::SameSite``: parsed and kept, never enforced (C4)."""

    DEFAULT = ""
    NONE = "None"
    LAX = "Lax"
    STRICT = "Strict"


@dataclass(slots=True)
class Cookie:
    """One cookie. ``domain`` with a leading dot matches subdomains; without, only that host.

    ``expires`` is Unix time in seconds; ``None`` means a session cookie.
    """

    name: str
    value: str = ""
    domain: str = ""
    path: str = ""
    expires: float | None = None
    secure: bool = False
    http_only: bool = False
    same_site: SameSite = SameSite.DEFAULT

    @property
    def key(self) -> CookieKey:
        return (self.name, self.domain, self.path)

    @property
    def is_session(self) -> bool:
        return self.expires is None

    def expired(self, now: float | None = None) -> bool:
        return self.expires is not None and self.expires < (time.time() if now is None else now)

    def to_set_cookie(self) -> str:
        """The cookie as a ``Set-Cookie`` value (QNetworkCookie::toRawForm(Full))."""
        parts = [f"{self.name}={self.value}"]
        if self.secure:
            parts.append("secure")
        if self.http_only:
            parts.append("HttpOnly")
        if self.same_site is not SameSite.DEFAULT:
            parts.append(f"SameSite={self.same_site.value}")
        if self.expires is not None:
            stamp = datetime.fromtimestamp(self.expires, UTC).strftime("%a, %d-%b-%Y %H:%M:%S GMT")
            parts.append(f"expires={stamp}")
        if self.domain:
            parts.append(f"domain={self.domain}")
        if self.path:
            parts.append(f"path={self.path}")
        return "; ".join(parts)


# -- parsing ----------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_DATE_DELIMS = re.compile(r"[\x09\x20-\x2f\x3b-\x40\x5b-\x60\x7b-\x7e]+")
_TIME = re.compile(r"^(\d{1,2}):(\d{1,2}):(\d{1,2})")


def parse_cookie_date(text: str) -> float | None:
    """A lenient cookie date (RFC 6265 §5.1.1, the algorithm browsers and Qt accept), or None."""
    hms = day = month = year = None
    for token in _DATE_DELIMS.split(text):
        if not token:
            continue
        if hms is None and (m := _TIME.match(token)):
            hms = (int(m[1]), int(m[2]), int(m[3]))
        elif day is None and re.fullmatch(r"\d{1,2}\D*", token):
            day = int(re.match(r"\d+", token)[0])  # type: ignore[index]
        elif month is None and token[:3].lower() in _MONTHS:
            month = _MONTHS[token[:3].lower()]
        elif year is None and re.fullmatch(r"\d{2,4}\D*", token):
            year = int(re.match(r"\d+", token)[0])  # type: ignore[index]
    if hms is None or day is None or month is None or year is None:
        return None
    if 70 <= year <= 99:
        year += 1900
    elif 0 <= year <= 69:
        year += 2000
    if not (1 <= day <= 31 and year >= 1601 and hms[0] <= 23 and hms[1] <= 59 and hms[2] <= 59):
        return None
    try:
        return datetime(year, month, day, *hms, tzinfo=UTC).timestamp()
    except ValueError:
        return None


def _normalize_domain(raw: str) -> str | None:
    """Lower-case and IDNA round trip (``QUrl::fromAce(QUrl::toAce(...))``); None if invalid."""
    try:
        ace = raw.encode("idna").decode("ascii")
        return ace.encode("ascii").decode("idna").lower()
    except (UnicodeError, ValueError):
        return None


def parse_set_cookie(line: str, now: float | None = None) -> Cookie | None:
    """One ``Set-Cookie`` line, as ``QNetworkCookie::parseCookies`` reads it; None if invalid."""
    now = time.time() if now is None else now
    fields = line.split(";")
    name, eq, value = fields[0].partition("=")
    name = name.strip()
    if not eq or not name:
        return None  # '=' is required and the name may not be empty (RFC 6265 §5.2)
    cookie = Cookie(name, value.strip())
    for field in fields[1:]:
        attr, _, val = field.partition("=")
        attr, val = attr.strip().lower(), val.strip()
        if attr == "expires":
            stamp = parse_cookie_date(val)
            if stamp is not None:
                cookie.expires = stamp
        elif attr == "max-age":
            if re.fullmatch(r"[+-]?\d+", val):
                secs = int(val)
                cookie.expires = 0.0 if secs <= 0 else now + secs
        elif attr == "domain":
            if val:
                dot = "." if val.startswith(".") else ""
                domain = _normalize_domain(val.removeprefix("."))
                if not domain:
                    return None
                cookie.domain = dot + domain
        elif attr == "path":
            cookie.path = val if val.startswith("/") else ""
        elif attr == "secure":
            cookie.secure = True
        elif attr == "httponly":
            cookie.http_only = True
        elif attr == "samesite":
            cookie.same_site = {"none": SameSite.NONE, "lax": SameSite.LAX,
                                "strict": SameSite.STRICT}.get(val.lower(), SameSite.DEFAULT)
    return cookie


# -- the rules ----------------------------------------------------------------------------------

@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList(accept_unknown=False)  # parsed once, on first use (~0.1 s)


def is_public_suffix(domain: str) -> bool:
    """Qt's ``qIsEffectiveTLD``: ``com``, ``co.uk``, ``github.io``; not ``localhost``."""
    domain = domain.removeprefix(".")
    if not domain or _is_ip(domain):
        return False
    return _psl().is_public(domain)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _url_host_path(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.path


def _is_parent_domain(domain: str, reference: str) -> bool:
    if not reference.startswith("."):
        return domain == reference
    return domain.endswith(reference) or domain == reference[1:]


def _is_parent_path(path: str, reference: str) -> bool:
    if (not path and reference == "/") or path.startswith(reference):
        if len(path) == len(reference) or reference.endswith("/"):
            return True
        return len(path) > len(reference) and path[len(reference)] == "/"
    return False


def normalize(cookie: Cookie, url: str) -> Cookie:
    """C2: default path up to the last ``/``; default domain the host; a leading dot otherwise."""
    _, host, path = _url_host_path(url)
    out = replace(cookie)
    if not out.path:
        out.path = path[: path.rfind("/") + 1] or "/"
    if not out.domain:
        out.domain = host
    elif not _is_ip(out.domain) and not out.domain.startswith("."):
        out.domain = "." + out.domain
    return out


def validate(cookie: Cookie, url: str) -> bool:
    """C4: the domain is the host or a parent of it, and not a public suffix unless it is the host."""
    _, host, _ = _url_host_path(url)
    domain = cookie.domain
    if not host or not domain:
        return False
    if not _is_parent_domain(domain, host) and not _is_parent_domain(host, domain):
        return False
    domain = domain.removeprefix(".")
    if host == domain:
        return True
    return not is_public_suffix(domain)


class CookieJar:
    """``QNetworkCookieJar`` plus what a UI needs: list, insert, update, delete, clear, listen.

    Cookies keep insertion order; setting a cookie again moves it to the end (C7). With a
    ``store`` every change is written through, and the jar starts with the stored cookies.
    """

    def __init__(self, store: SqliteCookieStore | None = None) -> None:
        self._cookies: dict[CookieKey, Cookie] = {}
        self._listeners: list[Callable[[], None]] = []
        self.store = store
        self.store_error: str | None = None  # the last write that failed; the jar keeps working
        if store is not None:
            for c in store.load():
                self._cookies[c.key] = c

    # -- QNAM's API --------------------------------------------------------------------------
    def cookies_for_url(self, url: str, now: float | None = None) -> list[Cookie]:
        """C6, C7: the cookies to send to ``url``, longest path first."""
        if not self._cookies:
            return []
        now = time.time() if now is None else now
        scheme, host, path = _url_host_path(url)
        out: list[Cookie] = []
        for c in self._cookies.values():
            if not _is_parent_domain(host, c.domain) or not _is_parent_path(path, c.path):
                continue
            if c.expired(now) or (c.secure and scheme != "https"):
                continue
            if is_public_suffix(c.domain) and host != c.domain.removeprefix("."):
                continue
            out.append(c)
        std_sort(out, lambda a, b: len(a.path) > len(b.path))  # C7, with Qt's order for ties
        return out

    def set_cookies_from_url(self, cookies: Iterable[Cookie], url: str) -> bool:
        """C2–C5: normalise, validate and insert; True if at least one cookie was stored."""
        added = False
        for cookie in cookies:
            c = normalize(cookie, url)
            if validate(c, url) and self.insert_cookie(c):
                added = True
        return added

    def set_cookie_headers_from_url(self, lines: Iterable[str], url: str) -> bool:
        """C1: the ``Set-Cookie`` lines of a response to ``url``."""
        now = time.time()
        parsed = [c for line in lines for part in line.split("\n") if (c := parse_set_cookie(part, now))]
        return self.set_cookies_from_url(parsed, url)

    def header_for_url(self, url: str) -> str | None:
        """The ``Cookie`` header value for ``url``, or None when the jar has none (C8)."""
        cookies = self.cookies_for_url(url)
        return "; ".join(f"{c.name}={c.value}" for c in cookies) if cookies else None

    # -- editing (QNetworkCookieJar's protected API, public here for the UI) ---------------
    def all_cookies(self) -> list[Cookie]:
        return [replace(c) for c in self._cookies.values()]

    def insert_cookie(self, cookie: Cookie) -> bool:
        """Insert or replace by (name, domain, path); an expired cookie deletes instead (C5)."""
        deletion = cookie.expired()
        existed = self._cookies.pop(cookie.key, None) is not None
        if not deletion:
            self._cookies[cookie.key] = replace(cookie)
        if self.store is not None:
            if deletion:
                self._persist(self.store.delete, cookie.key)
            else:
                self._persist(self.store.put, cookie)
        if existed or not deletion:
            self._changed()
        return not deletion

    def update_cookie(self, cookie: Cookie) -> bool:
        """Replace an existing cookie (same name, domain and path); False if there is none."""
        if cookie.key not in self._cookies:
            return False
        return self.insert_cookie(cookie)

    def delete_cookie(self, cookie: Cookie) -> bool:
        if self._cookies.pop(cookie.key, None) is None:
            return False
        if self.store is not None:
            self._persist(self.store.delete, cookie.key)
        self._changed()
        return True

    def set_all_cookies(self, cookies: Iterable[Cookie]) -> None:
        self._cookies = {c.key: replace(c) for c in cookies}
        if self.store is not None:
            self._persist(self.store.replace_all, list(self._cookies.values()))
        self._changed()

    def clear(self) -> None:
        self.set_all_cookies([])

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every change (the UI refreshes its cookie view)."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _persist(self, write: Callable[[Any], None], arg: Any) -> None:
        from core.cookie_store import CookieStoreError

        try:
            write(arg)
        except CookieStoreError as exc:
            self.store_error = str(exc)  # the cookie stays in memory; the UI shows the error

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def __len__(self) -> int:
        return len(self._cookies)
