"""Hand the user's settings to the core manager (on the network thread).

Each setting is either applied — the core has the matching knob — or stored only: kept in the
settings file and applied once the core supports it. ``apply_settings`` says which is which, so
the settings page can tell the user honestly. (Today every setting is applied; the mechanism stays for
settings the core gains later.)

HTTP/2, the maximum number of redirects and the cache load control are per-request attributes in the core (as in QNAM);
the app's defaults are filled into every request that does not set them itself, through the
manager's ``create_request`` hook.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.pac import UrlPacProxyFactory
from app.secrets import CredentialKey, KeyringUnavailable, SecretStore
from app.settings import CacheLoad, ProxyMode, ProxyType, Settings
from core import Attribute, CacheLoadControl, NetworkManager, Request
from core import proxy as cp
from core import tls as ct
from core.cache import DiskCache
from core.hsts import HstsStoreError
from core.tls.store import FILE_NAME as TLS_EXCEPTIONS_FILE

HSTS_FILE = "hsts.json"
COOKIES_FILE = "cookies.sqlite"

SETTING_LABELS: dict[str, str] = {
    "proxy": "Proxy", "pac_url": "Automatic proxy configuration (PAC)",
    "redirect_policy": "Redirect policy", "max_redirects": "Maximum redirects",
    "hsts_enabled": "HSTS", "keep_cookies": "Keep cookies", "cache": "HTTP cache", "cache_load_control": "Default cache load control",
    "transfer_timeout": "Transfer timeout", "http2_allowed": "HTTP/2",
    "trust_store": "Trust store", "extra_ca_files": "Extra CA certificates",
    "client_certificates": "Client certificates", "tls_keylog": "TLS key log",
}
DEFAULT_MAX_REDIRECTS = Request("").maximum_redirects


@dataclass
class ApplyResult:
    applied: list[str] = field(default_factory=list)
    stored_only: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what went wrong on the way, in the user's words

    def mark(self, name: str, applied: bool) -> None:
        (self.applied if applied else self.stored_only).append(name)


class RequestDefaults:
    """Wraps the manager's ``create_request``: fills the app's per-request defaults."""

    def __init__(self, create_request: Callable[..., Any]) -> None:
        self.create_request = create_request
        self.http2_allowed = True
        self.max_redirects = DEFAULT_MAX_REDIRECTS
        self.cache_load_control = CacheLoadControl.PREFER_NETWORK

    def __call__(self, operation: Any, request: Request, body: Any) -> Any:
        request.attributes.setdefault(Attribute.HTTP2_ALLOWED, self.http2_allowed)
        request.attributes.setdefault(Attribute.CACHE_LOAD_CONTROL, self.cache_load_control)
        if request.maximum_redirects == DEFAULT_MAX_REDIRECTS:
            request.maximum_redirects = self.max_redirects
        return self.create_request(operation, request, body)


def request_defaults(manager: NetworkManager) -> RequestDefaults:
    current = manager.__dict__.get("create_request")
    if isinstance(current, RequestDefaults):
        return current
    defaults = RequestDefaults(manager.create_request)
    manager.create_request = defaults  # type: ignore[method-assign]
    return defaults


def manual_proxy(s: Settings) -> cp.Proxy:
    kind = cp.ProxyType.SOCKS5 if s.proxy_type is ProxyType.SOCKS5 else cp.ProxyType.HTTP
    # Neither user nor password here: the proxy's 407 asks, and the keyring answers with both
    # (app.question_router). A user without its password would be tried, fail, and make the
    # question look like a rejection.
    return cp.Proxy(kind, s.proxy_host, s.proxy_port)


def apply_proxy(s: Settings, m: NetworkManager) -> None:
    if s.proxy_mode is ProxyMode.NONE:
        m.set_proxy(cp.Proxy.none())
    elif s.proxy_mode is ProxyMode.SYSTEM:
        m.set_proxy(cp.Proxy.default())
    elif s.proxy_mode is ProxyMode.MANUAL:
        bypass = [p.strip() for p in s.no_proxy.replace(";", ",").split(",") if p.strip()]
        m.set_proxy_factory(cp.RuleProxyFactory(no_proxy=bypass, default=[manual_proxy(s)]))
    else:
        m.set_proxy_factory(UrlPacProxyFactory(m, s.pac_url))


def tls_signature(s: Settings) -> tuple[object, ...]:
    return (s.trust_store, tuple(s.extra_ca_files),
            tuple((c.host, c.cert_file, c.key_file) for c in s.client_certificates),
            s.tls_keylog_path if s.tls_keylog_enabled else None)


_applied_tls: weakref.WeakKeyDictionary[NetworkManager, tuple[object, ...]] = weakref.WeakKeyDictionary()


def _pkcs12_password(store: SecretStore, key: CredentialKey) -> str | None:
    """Called by the core when it builds the context for that host (only then, and rarely)."""
    try:
        cred = store.lookup(key)
    except KeyringUnavailable:
        return None
    return cred.password if cred is not None else None


def apply_tls(s: Settings, m: NetworkManager, store: SecretStore | None) -> None:
    """Trust store, extra CAs, client certificates (PKCS#12 passwords from the keyring), key log.

    Reconfiguring starts new TLS connections, so it happens only when these settings change."""
    signature = tls_signature(s)
    if _applied_tls.get(m, tls_signature(Settings())) == signature:
        return
    certs: dict[str, ct.ClientCertificate] = {}
    for c in s.client_certificates:
        password = None
        if store is not None and c.cert_file.lower().endswith((".p12", ".pfx")):
            password = functools.partial(_pkcs12_password, store,
                                         CredentialKey.for_client_certificate(c.host, c.cert_file))
        certs[c.host] = ct.ClientCertificate(c.cert_file, c.key_file or None, password)
    m.tls.configure(ct.TlsSettings(trust=s.trust_store, extra_ca_files=list(s.extra_ca_files),
                                   client_certificates=certs,
                                   keylog_file=s.tls_keylog_path if s.tls_keylog_enabled else None))
    _applied_tls[m] = signature


LOAD_CONTROL = {CacheLoad.ALWAYS_NETWORK: CacheLoadControl.ALWAYS_NETWORK,
                CacheLoad.PREFER_NETWORK: CacheLoadControl.PREFER_NETWORK,
                CacheLoad.PREFER_CACHE: CacheLoadControl.PREFER_CACHE,
                CacheLoad.ALWAYS_CACHE: CacheLoadControl.ALWAYS_CACHE}


def apply_cache(s: Settings, m: NetworkManager, cache_dir: Path | None) -> bool:
    """The HTTP disk cache on or off, with its size; False when there is nowhere to keep it."""
    if not s.cache_enabled:
        m.cache = None
        return True
    if cache_dir is None:
        return False
    limit = s.cache_size_mb * 1024 * 1024
    if m.cache is not None and m.cache.directory == cache_dir:
        m.cache.max_size = limit
    else:
        m.cache = DiskCache(cache_dir, max_size=limit)
    return True


def enable_hsts_store(m: NetworkManager, path: Path, out: ApplyResult) -> None:
    """Keep known HSTS hosts in ``path``; a damaged file is set aside and a new one started."""
    try:
        m.enable_strict_transport_security_store(True, str(path))
    except HstsStoreError as exc:
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(path, aside)
        except OSError:
            out.notes.append(f"{exc}. Known HSTS hosts are kept in memory only.")
            return
        m.enable_strict_transport_security_store(True, str(path))
        out.notes.append(f"The HSTS store {path} could not be read ({exc.__cause__ or exc}); it was kept as "
                         f"{aside.name} and a new one was started.")


def apply_cookies(s: Settings, m: NetworkManager, data_dir: Path | None, out: ApplyResult) -> bool:
    """Keep cookies across restarts in ``data_dir/cookies.sqlite``, or only in memory.

    Turning it on carries the cookies of this session over into the store; turning it off closes
    the store and deletes the file (what was kept is forgotten), the session's cookies stay in
    memory. A damaged store is set aside and a new one started; False when there is nowhere to keep it."""
    from core.cookie_store import CookieStoreError, SqliteCookieStore
    from core.cookies import CookieJar

    jar = m.cookie_jar
    if not s.keep_cookies:
        if jar.store is not None:
            path = jar.store.path
            jar.store.close()
            m.cookie_jar = CookieJar()
            m.cookie_jar.set_all_cookies(jar.all_cookies())
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path.with_name(path.name + suffix))
        return True
    if data_dir is None:
        return False
    if jar.store is not None and jar.store.path == data_dir / COOKIES_FILE:
        return True
    try:
        store, note = SqliteCookieStore.open_or_recreate(data_dir / COOKIES_FILE)
    except (CookieStoreError, OSError) as exc:
        out.notes.append(f"{exc} Cookies are kept in memory only.")
        return False
    if note:
        out.notes.append(note)
    kept = CookieJar(store)
    for cookie in jar.all_cookies():  # this session's cookies win over older stored ones
        kept.insert_cookie(cookie)
    if jar.store is not None:
        jar.store.close()
    m.cookie_jar = kept
    return True


def apply_settings(settings: Settings, manager: NetworkManager, data_dir: Path | None = None,
                   store: SecretStore | None = None, cache_dir: Path | None = None) -> ApplyResult:
    """Must run on the manager's loop thread (``QtNetworkManager.thread.run_sync``).

    ``data_dir``: where known HSTS hosts, cookies and remembered certificate exceptions are kept
    across restarts. ``store``: the keyring, for PKCS#12 passwords. ``cache_dir``: the HTTP cache.
    """
    s, m, out = settings, manager, ApplyResult()
    m.transfer_timeout = float(s.transfer_timeout)
    m.redirect_policy = s.redirect_policy
    defaults = request_defaults(m)
    defaults.http2_allowed = s.http2_allowed
    defaults.max_redirects = s.max_redirects
    defaults.cache_load_control = LOAD_CONTROL[s.cache_load_control]
    apply_proxy(s, m)
    m.strict_transport_security_enabled = s.hsts_enabled
    if s.hsts_enabled and data_dir is not None and m.hsts.store_path is None:
        enable_hsts_store(m, data_dir / HSTS_FILE, out)
    if data_dir is not None and m.tls.exceptions.path != data_dir / TLS_EXCEPTIONS_FILE:
        exceptions = m.tls.use_exception_store(data_dir)
        if exceptions.load_error:
            out.notes.append(exceptions.load_error)
    apply_tls(s, m, store)
    for name in ("transfer_timeout", "redirect_policy", "http2_allowed", "max_redirects", "proxy", "pac_url",
                 "hsts_enabled", "trust_store", "extra_ca_files", "client_certificates", "tls_keylog",
                 "cache_load_control"):
        out.mark(name, True)
    out.mark("cache", apply_cache(s, m, cache_dir))
    out.mark("keep_cookies", apply_cookies(s, m, data_dir, out))
    return out
