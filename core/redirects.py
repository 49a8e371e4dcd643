"""Following redirects as QNAM does (reference R1–R21), safer where the reference says so.

The exchange (``core.http``) asks a ``Redirector`` what to do with each 3xx it receives. The
Redirector checks the Location, the hop budget and the policy, asks the app under UserVerified, and
returns the next hop: its URL, method, body and headers. Differences from QNAM, on purpose:

* a cross-origin hop drops the ``Authorization``, ``Proxy-Authorization`` and ``Cookie`` headers the
  request carried (QNAM forwards them, R5/R6); jar cookies are chosen afresh for every hop;
* a remote host cannot redirect into ``unix+http:``, ``file:`` or ``data:`` (R12), whatever the
  policy: ``InsecureRedirectError``;
* an unanswered UserVerified question ends with the request's abort or transfer timeout (R18).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from core.body import Body
from core.errors import CourierError, NetworkError
from core.questions import Question
from core.request import RedirectPolicy

if TYPE_CHECKING:
    from core.manager import NetworkManager
    from core.reply import Reply

REDIRECT_CODES = frozenset({301, 302, 303, 305, 307, 308})
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
LOCAL_SCHEMES = frozenset({"unix+http", "file", "data"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(eq=False)
class RedirectQuestion(Question[bool]):
    """UserVerified policy: may the request follow ``status`` from ``url`` to ``target``?

    Answer ``True`` to follow; ``False`` or ``None`` ends the reply with the 3xx status and
    ``OperationCanceledError``, as QNAM's ``abort()`` does (R18).
    """

    url: str = ""
    target: str = ""
    status: int = 0
    method: str = "GET"
    cross_origin: bool = False


@dataclass(slots=True)
class NextHop:
    """Where and how the request goes next."""

    url: str
    method: str
    body: Body | None
    headers: list[tuple[str, str]] = field(default_factory=list)


def resolve(base: str, location: str) -> str:
    """``QUrl::resolved``: a relative Location against the request URL, also for unix+http."""
    scheme = urlsplit(base).scheme.lower()
    if scheme in ("http", "https"):
        return urljoin(base, location)
    if urlsplit(location).scheme:
        return location
    joined = urljoin("http" + base[len(scheme):], location)  # urljoin knows no unix+http
    return scheme + joined[len("http"):]


def redirect_method(status: int, method: str) -> str:
    """R1: 307/308 keep the method; 301/302/303/305 turn everything but HEAD into GET."""
    if status in (307, 308) or method == "HEAD":
        return method
    return "GET"


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port with the default filled in) — what "same origin" compares."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def _qt_origin(url: str) -> tuple[str, str, int | None]:
    """R13: SameOrigin compares ``QUrl::port()``, so an implicit port differs from an explicit one."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def check_target(policy: RedirectPolicy, src: str, dst: str) -> None:
    """Refuse a hop the policy forbids (R10–R13) or that reaches into local resources (ours)."""
    s_scheme = urlsplit(src).scheme.lower()
    d_scheme = urlsplit(dst).scheme.lower()
    if d_scheme in LOCAL_SCHEMES and s_scheme != d_scheme:
        # Deliberate difference: QNAM follows http → unix+http (R12); file:/data: are R10 errors.
        raise CourierError(NetworkError.InsecureRedirectError,
                           f"Insecure redirect: {src} may not redirect to a local {d_scheme}: URL")
    if d_scheme not in ("http", "https", "unix+http"):
        raise CourierError(NetworkError.ProtocolUnknownError, "Unknown protocol specified")  # R10
    if policy is RedirectPolicy.SAME_ORIGIN and _qt_origin(src) != _qt_origin(dst):
        raise CourierError(NetworkError.InsecureRedirectError, "Insecure redirect")  # R13


def check_less_safe(policy: RedirectPolicy, src: str, dst: str) -> None:
    """R11: NoLessSafe refuses https → http and leaving unix+http (after the HSTS upgrade, R19)."""
    if policy is not RedirectPolicy.NO_LESS_SAFE:
        return
    s_scheme = urlsplit(src).scheme.lower()
    d_scheme = urlsplit(dst).scheme.lower()
    if (s_scheme == "https" and d_scheme == "http") or (s_scheme == "unix+http" and d_scheme != "unix+http"):
        raise CourierError(NetworkError.InsecureRedirectError, "Insecure redirect")


def strip_credentials(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() not in CREDENTIAL_HEADERS]


class Redirector:
    """The redirect state of one reply: policy, remaining hops, and the decision for each 3xx."""

    def __init__(self, manager: NetworkManager, reply: Reply, policy: RedirectPolicy, maximum: int,
                 upgrade: Callable[[str], str] | None = None) -> None:
        self.manager = manager
        self.reply = reply
        self.policy = policy
        self.remaining = maximum
        self.upgrade = upgrade  # HSTS: known hosts go to https before the less-safe check (R19)

    @property
    def follows(self) -> bool:
        return self.policy is not RedirectPolicy.MANUAL

    def target(self, url: str, status: int, location: str | None) -> str:
        """The absolute URL a followed 3xx points to, or the error QNAM gives (R8–R14, R19)."""
        if not location or not location.strip():
            raise CourierError(NetworkError.ProtocolUnknownError, "Unknown protocol specified")  # R9
        if self.remaining <= 0:
            raise CourierError(NetworkError.TooManyRedirectsError, "Too many redirects")  # R14
        try:
            dst = resolve(url, location.strip())  # R8
            urlsplit(dst).port  # noqa: B018 - validates the port
        except ValueError as exc:
            raise CourierError(NetworkError.ProtocolUnknownError, "Unknown protocol specified") from exc
        check_target(self.policy, url, dst)
        if self.upgrade is not None:
            dst = self.upgrade(dst)
        check_less_safe(self.policy, url, dst)
        return dst

    def next_hop(self, url: str, dst: str, status: int, method: str, body: Body | None,
                 headers: list[tuple[str, str]]) -> NextHop:
        """Method, body and headers for the hop to ``dst`` (R1–R4, plus credential stripping)."""
        self.remaining -= 1
        new_method = redirect_method(status, method)
        keeps_body = method == "GET" and status == 308  # R2: a GET with a body keeps it on 308 only
        if new_method in ("GET", "HEAD") and not keeps_body:
            body = None
            headers = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-length")]
        elif body is not None and not body.rewindable():
            raise CourierError(NetworkError.ContentReSendError,
                               "Cannot resend the request body: it can be read only once")  # R3
        if origin(url) != origin(dst):
            headers = strip_credentials(headers)
        return NextHop(dst, new_method, body, headers)

    async def allowed(self, url: str, dst: str, status: int, method: str) -> bool:
        """UserVerified: ask the app; other policies follow at once."""
        if self.policy is not RedirectPolicy.USER_VERIFIED:
            return True
        question = RedirectQuestion(self.reply, url=url, target=dst, status=status, method=method,
                                    cross_origin=origin(url) != origin(dst))
        answer = await self.manager.questions.ask(question)
        return answer is True
