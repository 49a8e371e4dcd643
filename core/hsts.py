"""HTTP Strict Transport Security as QNAM applies it (RFC 6797; reference HS1–HS9).

Off by default (D12). When the manager enables it, ``Strict-Transport-Security`` headers of https
responses teach the cache known hosts (never IP literals, HS2), and requests and redirect targets to
known hosts go to https, with an explicit port 80 turned into 443 (HS7). An optional JSON store
keeps the policies across restarts; it is replaced atomically, so a crash leaves the old or the new
file, never a torn one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

STORE_VERSION = 1
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_WRITE_SLACK = 60.0  # rewrite the store when an expiry moves by more than this (seconds)


@dataclass(frozen=True, slots=True)
class HstsPolicy:
    """``QHstsPolicy``: a known host, until ``expires`` (Unix seconds)."""

    host: str
    expires: float
    include_subdomains: bool = False

    def expired(self, now: float | None = None) -> bool:
        return self.expires <= (time.time() if now is None else now)


class HstsStoreError(Exception):
    """The store file cannot be read or written; the message names the file."""


def parse_sts(value: str) -> tuple[int, bool] | None:
    """One header line → (max-age, includeSubDomains), or None if it breaks RFC 6797 §6.1 (HS4)."""
    pos, n = 0, len(value)
    max_age: int | None = None
    subdomains = False

    def skip_ws() -> None:
        nonlocal pos
        while pos < n and value[pos] in " \t":
            pos += 1

    def token() -> str:
        nonlocal pos
        start = pos
        while pos < n and value[pos] in _TCHAR:
            pos += 1
        return value[start:pos]

    def quoted() -> str | None:
        nonlocal pos
        out: list[str] = []
        pos += 1
        while pos < n:
            c = value[pos]
            if c == '"':
                pos += 1
                return "".join(out)
            if c == "\\" and pos + 1 < n:
                pos += 1
                c = value[pos]
            out.append(c)
            pos += 1
        return None  # unterminated

    while True:
        skip_ws()
        if pos >= n:
            break
        if value[pos] == ";":
            pos += 1
            continue
        name = token().lower()
        if not name:
            return None
        skip_ws()
        arg: str | None = None
        if pos < n and value[pos] == "=":
            pos += 1
            skip_ws()
            arg = quoted() if pos < n and value[pos] == '"' else token()
            if not arg:
                return None
            skip_ws()
        if pos < n and value[pos] != ";":
            return None
        if name == "max-age":
            if max_age is not None or arg is None or not arg.isdigit():
                return None  # duplicate or not delta-seconds
            max_age = int(arg)
        elif name == "includesubdomains":
            if subdomains:
                return None
            subdomains = True
        # unknown directives are ignored (RFC 6797 §6.1/5)
    return (max_age, subdomains) if max_age is not None else None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    return True


def _valid_host(host: str) -> bool:
    return bool(host) and not _is_ip(host)


class HstsCache:
    """Known hosts (``QHstsCache``), optionally written through to a JSON file."""

    def __init__(self) -> None:
        self._hosts: dict[str, HstsPolicy] = {}
        self._path: Path | None = None
        self.store_error: str | None = None  # the last failed write; the cache keeps working

    # -- learning --------------------------------------------------------------------------
    def update_from_headers(self, host: str, values: Iterable[str], now: float | None = None) -> bool:
        """HS1/HS4: the first valid STS line of an https response from ``host`` updates it."""
        now = time.time() if now is None else now
        for value in values:
            parsed = parse_sts(value)
            if parsed is not None:
                max_age, subdomains = parsed
                self.update(HstsPolicy(host.lower(), now + max_age, subdomains), now)
                return True
        return False

    def update(self, policy: HstsPolicy, now: float | None = None) -> None:
        """Insert, refresh or (when expired: HS5) remove ``policy.host``; IP literals never (HS2)."""
        host = policy.host.lower().rstrip(".")
        if not _valid_host(host):
            return
        policy = HstsPolicy(host, policy.expires, policy.include_subdomains)
        old = self._hosts.get(host)
        if policy.expired(now):
            if old is not None:
                del self._hosts[host]
                self._save()
            return
        self._hosts[host] = policy
        if old is None or old.include_subdomains != policy.include_subdomains \
                or abs(old.expires - policy.expires) > _WRITE_SLACK:
            self._save()

    def add_hosts(self, policies: Iterable[HstsPolicy]) -> None:
        """HS8: ``addStrictTransportSecurityHosts``; expired policies remove their host."""
        for p in policies:
            self.update(p)

    def hosts(self, now: float | None = None) -> list[HstsPolicy]:
        """HS8: ``strictTransportSecurityHosts`` (the unexpired ones)."""
        return [p for p in self._hosts.values() if not p.expired(now)]

    def remove(self, host: str) -> bool:
        if self._hosts.pop(host.lower(), None) is None:
            return False
        self._save()
        return True

    def clear(self) -> None:
        self._hosts.clear()
        self._save()

    # -- applying --------------------------------------------------------------------------
    def is_known_host(self, host: str, now: float | None = None) -> bool:
        """HS6: exact match, or a superdomain whose policy includes subdomains."""
        name = host.lower().rstrip(".")
        if not _valid_host(name):
            return False
        superdomain = False
        while name:
            policy = self._hosts.get(name)
            if policy is not None:
                if policy.expired(now):
                    del self._hosts[name]
                    self._save()
                elif not superdomain or policy.include_subdomains:
                    return True
            dot = name.find(".")
            if dot < 0:
                break
            name = name[dot + 1:]
            superdomain = True
        return False

    def upgrade_url(self, url: str) -> str:
        """HS7: http → https for known hosts; an explicit :80 becomes :443, other ports stay."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "http" or not parts.hostname:
            return url
        try:
            port = parts.port
        except ValueError:
            return url
        if not self.is_known_host(parts.hostname):
            return url
        netloc = parts.netloc
        if port == 80:
            netloc = netloc[: netloc.rfind(":")] + ":443"
        return urlunsplit(("https", netloc, parts.path, parts.query, parts.fragment))

    # -- the persistent store (HS9) --------------------------------------------------------
    def enable_store(self, path: str | os.PathLike[str]) -> None:
        """Load ``path`` (in-memory policies win over stored ones) and write the union back."""
        self._path = Path(path)
        for policy in self._load(self._path):
            if policy.host not in self._hosts and not policy.expired():
                self._hosts[policy.host] = policy
        self._save()

    def disable_store(self) -> None:
        self._path = None

    @property
    def store_path(self) -> Path | None:
        return self._path

    @staticmethod
    def _load(path: Path) -> list[HstsPolicy]:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise HstsStoreError(f"Cannot read the HSTS store {path}: {exc.strerror}") from exc
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("version") != STORE_VERSION:
                raise ValueError(f"unknown format {data.get('version') if isinstance(data, dict) else data!r}")
            return [HstsPolicy(str(p["host"]), float(p["expires"]), bool(p.get("include_subdomains", False)))
                    for p in data["policies"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise HstsStoreError(f"The HSTS store {path} is damaged ({exc}); it was left untouched") from exc

    def _save(self) -> None:
        if self._path is None:
            return
        data = {"version": STORE_VERSION,
                "policies": [{"host": p.host, "expires": p.expires, "include_subdomains": p.include_subdomains}
                             for p in sorted(self._hosts.values(), key=lambda p: p.host)]}
        try:
            _atomic_write(self._path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())
            self.store_error = None
        except OSError as exc:
            self.store_error = f"Cannot write the HSTS store {self._path}: {exc.strerror or exc}"


def _atomic_write(path: Path, data: bytes) -> None:
    """Temp file in the same folder, fsync, rename over ``path``, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".courier-tmp-" + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
