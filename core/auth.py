"""HTTP authentication: challenges, Basic and Digest answers, questions and the credential caches.

QNAM's model (reference §6): the first request goes out without credentials; a 401/407 names the
scheme; credentials come from the URL, the manager's cache or a question the app answers; once a
pool has authenticated, later requests on it send ``Authorization`` pre-emptively (A10).

Schemes: Basic, Digest, NTLM (``core.auth_ntlm``, pyspnego). Deliberate differences: Digest also speaks SHA-256 and SHA-512(-256) (QNAM: MD5 only, A1), and the
rounds per request are bounded (QNAM re-asks without limit, A8/A13).
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.auth_ntlm import NtlmSession
from core.questions import Question

if TYPE_CHECKING:
    from core.transport import OriginKey

MAX_AUTHENTICATION_ATTEMPTS = 5  # credential retries per request (server and proxy each)


class AuthMethod(enum.IntEnum):
    """Ordered like QNAM's choice (A2): Digest > NTLM > Negotiate > Basic."""

    BASIC = 1
    NEGOTIATE = 2
    NTLM = 3
    DIGEST = 4

    @property
    def label(self) -> str:
        return {1: "Basic", 2: "Negotiate", 3: "NTLM", 4: "Digest"}[self.value]


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and password. The password never appears in ``repr``."""

    user: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Challenge:
    """One ``WWW-Authenticate``/``Proxy-Authenticate`` line: its leading token and its parameters."""

    scheme: str  # lower-case token, e.g. "basic", "digest"
    params: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    raw: str = ""

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


_PARAM = re.compile(r'\s*([!#$%&\'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


def parse_challenge(line: str) -> Challenge | None:
    """Parse one header line. Like QNAM (A2) a line is matched by its leading token only."""
    line = line.strip()
    if not line:
        return None
    token, _, rest = line.partition(" ")
    params: dict[str, str] = {}
    if token.lower() in ("ntlm", "negotiate"):
        return Challenge(token.lower(), {"token": rest.strip()} if rest.strip() else {}, line)
    pos = 0
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if m is None or m.end() == pos:
            break
        value = m.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params.setdefault(m.group(1).lower(), value)
        pos = m.end()
    return Challenge(token.lower(), params, line)


DIGEST_ALGORITHMS: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda b: hashlib.md5(b).hexdigest(),
    "SHA-256": lambda b: hashlib.sha256(b).hexdigest(),
    "SHA-512-256": lambda b: hashlib.new("sha512_256", b).hexdigest(),
    "SHA-512": lambda b: hashlib.sha512(b).hexdigest(),
}


def _digest_algorithm(ch: Challenge) -> tuple[str, bool] | None:
    alg = ch.params.get("algorithm", "MD5").upper()
    sess = alg.endswith("-SESS")
    base = alg[:-5] if sess else alg
    return (base, sess) if base in DIGEST_ALGORITHMS else None


def _digest_usable(ch: Challenge) -> bool:
    if _digest_algorithm(ch) is None or "nonce" not in ch.params:
        return False
    qop = ch.params.get("qop")
    return qop is None or "auth" in [q.strip() for q in qop.split(",")]


def choose_challenge(lines: list[str], ntlm: bool = False) -> tuple[AuthMethod, Challenge] | None:
    """The challenge QNAM would answer (A1–A3): the strongest supported method, None if none is."""
    best: tuple[AuthMethod, Challenge] | None = None
    for line in lines:
        ch = parse_challenge(line)
        if ch is None:
            continue
        method: AuthMethod | None = None
        if ch.scheme == "basic":
            method = AuthMethod.BASIC
        elif ch.scheme == "digest" and _digest_usable(ch):
            method = AuthMethod.DIGEST
        elif ch.scheme == "ntlm" and ntlm:
            method = AuthMethod.NTLM
        if method is not None and (best is None or method > best[0]):
            best = (method, ch)
    return best


def basic_authorization(creds: Credentials) -> str:
    raw = f"{creds.user}:{creds.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class DigestSession:
    """A Digest challenge answered with one set of credentials; the nonce count grows per use."""

    def __init__(self, challenge: Challenge, creds: Credentials) -> None:
        self.challenge = challenge
        self.creds = creds
        self.nc = 0
        self.cnonce = os.urandom(8).hex()

    def authorization(self, method: str, uri: str) -> str:
        p = self.challenge.params
        found = _digest_algorithm(self.challenge)
        assert found is not None
        alg, sess = found
        h = DIGEST_ALGORITHMS[alg]
        realm, nonce = p.get("realm", ""), p["nonce"]
        self.nc += 1
        nc = f"{self.nc:08x}"
        ha1 = h(f"{self.creds.user}:{realm}:{self.creds.password}".encode())
        if sess:
            ha1 = h(f"{ha1}:{nonce}:{self.cnonce}".encode())
        ha2 = h(f"{method}:{uri}".encode())
        qops = [q.strip() for q in p["qop"].split(",")] if "qop" in p else []
        if "auth" in qops:
            response = h(f"{ha1}:{nonce}:{nc}:{self.cnonce}:auth:{ha2}".encode())
        else:  # RFC 2069 compatibility
            response = h(f"{ha1}:{nonce}:{ha2}".encode())
        parts = [f'username="{_quote(self.creds.user)}"', f'realm="{_quote(realm)}"',
                 f'nonce="{_quote(nonce)}"', f'uri="{_quote(uri)}"', f'response="{response}"',
                 f"algorithm={p.get('algorithm', 'MD5')}"]
        if "opaque" in p:
            parts.append(f'opaque="{_quote(p["opaque"])}"')
        if "auth" in qops:
            parts += ["qop=auth", f"nc={nc}", f'cnonce="{self.cnonce}"']
        return "Digest " + ", ".join(parts)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class Authenticator:
    """The answer to one chosen challenge: produces the header value for each request."""

    def __init__(self, method: AuthMethod, challenge: Challenge, creds: Credentials, host: str = "") -> None:
        self.method = method
        self.challenge = challenge
        self.creds = creds
        self._digest = DigestSession(challenge, creds) if method is AuthMethod.DIGEST else None
        self._ntlm: NtlmSession | None = None
        self._next: str | None = None
        if method is AuthMethod.NTLM:
            self._ntlm = NtlmSession(creds.user, creds.password, host)
            self._next = self._ntlm.negotiate()

    @property
    def reusable(self) -> bool:
        """Basic and Digest go pre-emptively on later requests (A10); NTLM is connection-bound (A13)."""
        return self._ntlm is None

    def continue_with(self, challenge: Challenge) -> bool:
        """NTLM: answer the server's challenge message (the second 401). False: not a continuation."""
        token = challenge.params.get("token")
        if self._ntlm is None or challenge.scheme != "ntlm" or not token:
            return False
        self._next = self._ntlm.authenticate(token)
        return self._next is not None

    def header(self, method: str, uri: str) -> str | None:
        if self._digest is not None:
            return self._digest.authorization(method, uri)
        if self._ntlm is not None:
            value, self._next = self._next, None
            return value
        return basic_authorization(self.creds)


# -- questions the app answers -------------------------------------------------------------------

@dataclass(eq=False)
class AuthenticationQuestion(Question[tuple[str, str]]):
    """A server asks for credentials (QNAM's ``authenticationRequired``).

    Answer ``(user, password)``, or ``None`` to give up (the reply then ends with
    ``AuthenticationRequiredError`` and the 401 body readable). ``previous_user`` is set when the
    credentials given before were rejected.
    """

    url: str = ""
    scheme: str = ""  # "Basic" or "Digest"
    realm: str = ""
    host: str = ""
    port: int = 0
    previous_user: str | None = None


@dataclass(eq=False)
class ProxyAuthenticationQuestion(Question[tuple[str, str]]):
    """A proxy asks for credentials (QNAM's ``proxyAuthenticationRequired``).

    ``proxy_type`` is "http" or "socks5"; ``scheme`` is "Basic", "Digest" or "SOCKS5".
    """

    proxy_type: str = ""
    proxy_host: str = ""
    proxy_port: int = 0
    scheme: str = ""
    realm: str = ""
    previous_user: str | None = None


async def ask_once(cache: AuthCache, space: ProtectionSpace | ProxySpace, rejected: Credentials | None,
                   ask: Callable[[], Awaitable[Credentials | None]]) -> Credentials | None:
    """Ask through ``ask`` unless a question for ``space`` is already open: then share its answer
    (QNAM's slot runs once and the other channels find the cached credentials, A5)."""
    pending = cache.pending.get(space)
    if pending is not None:
        try:
            shared = await asyncio.shield(pending)
        except asyncio.CancelledError:
            if not pending.cancelled():
                raise  # we were cancelled ourselves
            # the request that asked was aborted: ask again for this one
        else:
            if shared is None or shared != rejected:
                return shared  # the user's answer, "no" included
    fut: asyncio.Future[Credentials | None] = asyncio.get_running_loop().create_future()
    cache.pending[space] = fut
    try:
        answer = await ask()
    except BaseException:
        fut.cancel()
        raise
    else:
        fut.set_result(answer)
    finally:
        if cache.pending.get(space) is fut:
            del cache.pending[space]
    return answer


# -- caches ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ProtectionSpace:
    """Where credentials apply (A9): URL scheme, host, port and realm; the path is ignored."""

    scheme: str
    host: str
    port: int
    realm: str


@dataclass(frozen=True, slots=True)
class ProxySpace:
    """A proxy's identity for its credential cache (PA1): type, host and port."""

    proxy_type: str
    host: str
    port: int


class AuthCache:
    """The manager's credential cache (server and proxy) and the per-pool authenticators (A10).

    ``clear_connections`` forgets the per-pool state only (``clear_connection_cache``, N4);
    ``clear`` forgets everything (``clear_access_cache``).
    """

    def __init__(self) -> None:
        self.spaces: dict[ProtectionSpace, Credentials] = {}
        self.pools: dict[OriginKey, Authenticator] = {}
        self.proxies: dict[ProxySpace, Credentials] = {}
        self.proxy_authenticators: dict[ProxySpace, Authenticator] = {}
        # questions being asked right now, so that parallel requests share one dialog
        self.pending: dict[ProtectionSpace | ProxySpace, asyncio.Future[Credentials | None]] = {}

    def clear_connections(self) -> None:
        self.pools.clear()
        self.proxy_authenticators.clear()

    def clear(self) -> None:
        self.clear_connections()
        self.spaces.clear()
        self.proxies.clear()
