"""``courier --self-test``: checks an install end to end, one report line per check.

It opens the main window offscreen, starts its own servers on 127.0.0.1 (plain HTTP, and TLS with a
CA made for this run and trusted by the self-test's requests only), sends requests through the real
manager bridge, and stores, reads back and deletes a secret when a keyring is available. Exit status
0 when nothing failed: an unavailable keyring is reported, not a failure (many servers have none).
Works the same from a venv and from the frozen bundle, on a user's machine to diagnose an install.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import secrets
import shutil
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

OK, FAIL, UNAVAILABLE, WARN = "ok", "FAIL", "unavailable", "warn"
WAIT = 15.0  # seconds any single step may take before it counts as failed


class CheckFailed(Exception):
    """A check found a problem; the message says which."""


@dataclass
class Context:
    """What checks share: the QApplication, the managers and windows to close at the end."""

    app: Any = None
    closers: list[Callable[[], None]] = field(default_factory=list)


def _frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


# -- checks ---------------------------------------------------------------------------------------
# When courier's metadata is not installed (a bare checkout on PYTHONPATH): the basics.
FALLBACK_MODULES = ("httpx", "httpcore", "h11", "h2", "keyring", "certifi")
OWN_CHECKS = ("pyside6", "shiboken6", "pyqtgraph")  # distributions with checks of their own


def _requirement(text: str) -> tuple[str, set[str], str]:
    """'httpx[http2,socks]==0.28.1; sys_platform != "win32"' -> ('httpx', {'http2', 'socks'}, marker)."""
    req, _, marker = text.partition(";")
    m = re.match(r"\s*([A-Za-z0-9._-]+)\s*(?:\[([^\]]*)\])?", req)
    name = m.group(1) if m else req.strip()
    extras = {e.strip() for e in ((m.group(2) if m else None) or "").split(",") if e.strip()}
    return name, extras, marker.strip()


def _applies(marker: str, extras: set[str]) -> bool:
    """Enough of PEP 508 for our requirements: ``extra == ...`` and ``sys_platform ==/!= ...``."""
    wanted_extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
    if wanted_extra and wanted_extra.group(1) not in extras:
        return False
    return all((sys.platform == value) == (op == "==")
               for op, value in re.findall(r"sys_platform\s*(==|!=)\s*['\"]([^'\"]+)['\"]", marker))


def runtime_distributions() -> list[str] | None:
    """courier's runtime requirements from its installed metadata, with the extras they ask for
    (httpx[socks] -> socksio); None when courier's metadata is not installed."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        declared = requires("courier") or []
    except PackageNotFoundError:
        return None
    names: list[str] = []
    for text in declared:
        name, extras, marker = _requirement(text)
        if marker and not _applies(marker, set()):
            continue  # test/dev/package extras, other platforms
        names.append(name)
        try:
            subs = (requires(name) or []) if extras else []
        except PackageNotFoundError:
            continue  # reported as missing by the import below
        names += [sub for sub, _, m in map(_requirement, subs) if "extra" in m and _applies(m, extras)]
    return names


def runtime_modules() -> list[str]:
    """Import names of the runtime dependencies (PySide6 and pyqtgraph have checks of their own)."""
    from importlib.metadata import packages_distributions

    dists = runtime_distributions()
    if dists is None:
        return list(FALLBACK_MODULES)
    canon = {re.sub(r"[-_.]+", "-", d).lower() for d in dists}
    canon = {d for d in canon if not d.startswith(OWN_CHECKS)}
    by_dist: dict[str, list[str]] = {}
    for module, owners in packages_distributions().items():
        if module.isidentifier() and not module.startswith("_"):
            for owner in owners:
                by_dist.setdefault(re.sub(r"[-_.]+", "-", owner).lower(), []).append(module)
    # A distribution without installed metadata: try its name as the module name (reported if absent).
    return sorted({m for d in canon for m in by_dist.get(d, [d.replace("-", "_")])})


def check_modules(ctx: Context) -> tuple[str, str]:
    """Every runtime dependency of this install imports (from its metadata, extras included)."""
    found, missing = [], []
    for name in runtime_modules():
        try:
            mod = importlib.import_module(name)
        except ImportError as exc:
            missing.append(f"{name} ({exc})")
            continue
        ver = getattr(mod, "__version__", None)
        found.append(f"{name} {ver}" if isinstance(ver, str) else name)
    if missing:
        raise CheckFailed("missing: " + ", ".join(missing))
    return OK, ", ".join(found)


def check_pac(ctx: Context) -> tuple[str, str]:
    """Proxy auto-config: a PAC script evaluated by pypac's JavaScript engine (dukpy)."""
    from pypac.parser import PACFile

    script = 'function FindProxyForURL(url, host) { return isPlainHostName(host) ? "DIRECT" : "PROXY 127.0.0.1:3128"; }'
    pac = PACFile(script)
    got = (pac.find_proxy_for_url("http://intranet/", "intranet"),
           pac.find_proxy_for_url("https://example.org/", "example.org"))
    if got != ("DIRECT", "PROXY 127.0.0.1:3128"):
        raise CheckFailed(f"a PAC script gave {got}")
    return OK, "a FindProxyForURL script evaluated by pypac with dukpy"


def check_public_suffixes(ctx: Context) -> tuple[str, str]:
    """The public suffix list cookie domains are checked against (a data file of publicsuffixlist)."""
    from publicsuffixlist import PublicSuffixList

    psl = PublicSuffixList(accept_unknown=False)
    got = psl.publicsuffix("www.example.co.uk"), psl.publicsuffix("a.b.github.io")
    if got != ("co.uk", "github.io"):
        raise CheckFailed(f"the list gave {got} for co.uk and github.io")
    return OK, "co.uk and github.io recognised: no cookies for whole registries"


def check_ca_bundle(ctx: Context) -> tuple[str, str]:
    """Certificate authorities for real sites: certifi's bundle (httpx's default) and the system store."""
    parts: list[str] = []
    total = 0
    try:
        import certifi

        where = certifi.where()
        c = ssl.create_default_context(cafile=where).cert_store_stats()["x509_ca"]
        total += c
        parts.append(f"certifi {c} CAs")
        if c == 0:
            parts[-1] += f" (empty: {where})"
    except (ImportError, OSError, ssl.SSLError) as exc:
        parts.append(f"certifi unusable ({type(exc).__name__}: {exc})")
    paths = ssl.get_default_verify_paths()
    sys_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        sys_ctx.load_default_certs()
        n = sys_ctx.cert_store_stats()["x509_ca"]
        if n == 0 and paths.capath:  # a hashed directory loads lazily; count its files instead
            n = sum(1 for e in os.scandir(paths.capath) if e.name.endswith((".0", ".1")))
        parts.append(f"system {n} CAs ({paths.cafile or paths.capath or 'no store'})")
        total += n
    except (OSError, ssl.SSLError) as exc:
        parts.append(f"system store unusable ({exc})")
    if total == 0:
        raise CheckFailed("no certificate authorities found: " + "; ".join(parts))
    return OK, "; ".join(parts)


def check_qt(ctx: Context) -> tuple[str, str]:
    """The QApplication (offscreen), the platform plugins a desktop needs, fonts."""
    import PySide6
    from PySide6.QtCore import QCoreApplication, QPluginLoader
    from PySide6.QtGui import QFontDatabase
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["courier"])
    ctx.app = app
    found: dict[str, str] = {}
    for lib_dir in QCoreApplication.libraryPaths():
        plat = os.path.join(lib_dir, "platforms")
        if os.path.isdir(plat):
            for entry in sorted(os.listdir(plat)):
                key = entry.removeprefix("libq").removeprefix("q").split(".")[0]
                found.setdefault(key, os.path.join(plat, entry))
    missing = [p for p in ("offscreen", "xcb") if p not in found and sys.platform == "linux"]
    if missing:
        raise CheckFailed(f"platform plugins missing: {', '.join(missing)} (searched "
                          f"{', '.join(QCoreApplication.libraryPaths()) or 'nothing'})")
    detail = (f"PySide6 {PySide6.__version__}, platform {QApplication.platformName()}, "
              f"plugins {', '.join(sorted(found))}")
    families = len(QFontDatabase.families())
    detail += f", {families} font families"
    status = OK
    if "xcb" in found:
        loader = QPluginLoader(found["xcb"])
        if loader.load():
            detail += ", xcb loads"
        else:  # the plugin is there but a system library it links against is not
            status = WARN
            detail += f"; the xcb plugin does not load, a desktop session will fail: {loader.errorString()}"
    if families == 0:
        status = WARN
        detail += " (no fonts: text will be invisible; install fontconfig fonts)"
    return status, detail


def _process_until(ctx: Context, done: Callable[[], bool], timeout: float = WAIT) -> bool:
    from PySide6.QtCore import QEventLoop

    end = time.monotonic() + timeout
    while not done():
        if time.monotonic() > end:
            return False
        ctx.app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.005)
    return True


def check_window(ctx: Context) -> tuple[str, str]:
    """The real main window with its manager bridge, shown offscreen and painted."""
    from app.bridge import QtNetworkManager
    from app.resources import set_app_icon
    from app.ui.main_window import MainWindow

    t0 = time.perf_counter()
    set_app_icon(ctx.app)
    manager = QtNetworkManager()
    ctx.closers.append(manager.close)
    window = MainWindow(manager, restore=False)
    ctx.closers.append(window.close)
    window.show()
    if not _process_until(ctx, lambda: window.windowHandle() is not None and window.windowHandle().isExposed()):
        raise CheckFailed("the window was never exposed")
    shown_ms = (time.perf_counter() - t0) * 1000
    pixmap = window.grab()
    if pixmap.isNull():
        raise CheckFailed("the window could not be painted")
    return OK, (f"{type(window).__name__} shown offscreen, {window.width()}x{window.height()}, "
                f"title {window.windowTitle()!r}, in {shown_ms:.0f} ms")


def check_resources(ctx: Context) -> tuple[str, str]:
    """Icon (SVG through Qt's SVG plugins, and PNG) and the desktop file."""
    from PySide6.QtGui import QIcon, QPixmap

    from app.resources import ICON_PNG, ICON_SVG, missing_resources, resource_dir, resource_path

    missing = missing_resources()
    if missing:
        raise CheckFailed(f"missing {', '.join(missing)} in {resource_dir()}")
    svg = QIcon(str(resource_path(ICON_SVG))).pixmap(64, 64)
    png = QPixmap(str(resource_path(ICON_PNG)))
    if svg.isNull():
        raise CheckFailed(f"{ICON_SVG} does not render (Qt's svg icon engine missing?)")
    if png.isNull():
        raise CheckFailed(f"{ICON_PNG} does not load")
    return OK, f"icon svg+png, desktop file, in {resource_dir()}"


def check_pyqtgraph(ctx: Context) -> tuple[str, str]:
    """pyqtgraph draws a plot; the Qt modules it imports at run time are present."""
    import numpy as np
    import pyqtgraph as pg

    for mod in ("PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets", "PySide6.QtSvg", "PySide6.QtTest"):
        importlib.import_module(mod)
    plot = pg.PlotWidget()
    plot.plot(np.arange(20), np.arange(20) ** 2)
    plot.resize(240, 160)
    pixmap = plot.grab()
    plot.deleteLater()
    if pixmap.isNull():
        raise CheckFailed("the plot could not be painted")
    return OK, f"pyqtgraph {pg.__version__}, numpy {np.__version__}, plot painted {pixmap.width()}x{pixmap.height()}"


def _fetch(ctx: Context, manager: Any, method: str, url: str, body: bytes | None = None) -> Any:
    reply = manager.send(method, url, body)
    if not _process_until(ctx, lambda: reply.core.is_finished):
        reply.abort()
        raise CheckFailed(f"{method} {url}: no reply within {WAIT:.0f} s")
    return reply.core


def _expect_ok(reply: Any, what: str) -> None:
    from core.errors import NetworkError

    if reply.error is not NetworkError.NoError or reply.status != 200:
        raise CheckFailed(f"{what}: status {reply.status}, {reply.error.name}: {reply.error_string}")


def check_http(ctx: Context) -> tuple[str, str]:
    """GET and POST through the bridge to a server on 127.0.0.1; gzip, br and zstd bodies decoded."""
    from app.bridge import QtNetworkManager
    from app.selftest_server import ENCODINGS, PAYLOAD, LoopbackServer

    manager = QtNetworkManager()
    ctx.closers.append(manager.close)
    nonce = secrets.token_hex(8)
    t0 = time.perf_counter()
    with LoopbackServer() as server:
        got = _fetch(ctx, manager, "GET", f"{server.url}/echo?n={nonce}")
        _expect_ok(got, "GET")
        echo = json.loads(got.content())
        if echo["method"] != "GET" or echo["query"] != f"n={nonce}":
            raise CheckFailed(f"GET: the server saw {echo['method']} ?{echo['query']}")
        posted = _fetch(ctx, manager, "POST", f"{server.url}/echo", f"body {nonce}".encode())
        _expect_ok(posted, "POST")
        if json.loads(posted.content())["body"] != f"body {nonce}":
            raise CheckFailed("POST: the server received another body")
        for coding in ENCODINGS:
            r = _fetch(ctx, manager, "GET", f"{server.url}/encoded/{coding}")
            _expect_ok(r, coding)
            if r.content() != PAYLOAD:
                raise CheckFailed(f"{coding}: the body was not decoded ({len(r.content())} bytes)")
    ms = (time.perf_counter() - t0) * 1000
    return OK, f"GET and POST 200, {'/'.join(ENCODINGS)} decoded, {got.http_version}, 5 requests in {ms:.0f} ms"


def check_tls(ctx: Context) -> tuple[str, str]:
    """HTTPS to 127.0.0.1 with a CA made now and trusted by this request only; an unknown CA refused."""
    from app.bridge import QtNetworkManager
    from app.selftest_server import LoopbackServer, make_pki
    from core.errors import NetworkError

    pki = make_pki()
    trusting = QtNetworkManager()
    ctx.closers.append(trusting.close)
    trusting.thread.run_sync(lambda: trusting.core.transport.set_default_ssl_context(pki.client_context()))
    default = QtNetworkManager()  # the trust every other request gets: this CA is not in it
    ctx.closers.append(default.close)
    with LoopbackServer(tls=pki.server_context()) as server:
        reply = _fetch(ctx, trusting, "GET", f"{server.url}/echo")
        _expect_ok(reply, "HTTPS GET")
        refused = _fetch(ctx, default, "GET", f"{server.url}/echo")
        if refused.error is not NetworkError.SslHandshakeFailedError:
            raise CheckFailed(f"a certificate from an unknown CA was not refused: status {refused.status}, "
                              f"{refused.error.name}")
    tls = reply.tls
    version = f"{tls.version} {tls.cipher}" if tls is not None else "TLS"
    return OK, f"{version} with a throwaway CA; an unknown CA is refused ({refused.error.name})"


def _keyring_probe() -> tuple[str, str]:
    import keyring
    import keyring.errors
    from keyring.backends import fail

    backend = keyring.get_keyring()
    name = f"{type(backend).__module__.removeprefix('keyring.backends.')}.{type(backend).__name__}"
    if isinstance(backend, fail.Keyring):
        reason = "no keyring backend is usable"
        if sys.platform.startswith("linux"):
            try:
                from keyring.backends import SecretService

                SecretService.Keyring.priority  # noqa: B018 - raises with the reason it is unusable
            except ImportError as exc:
                raise CheckFailed(f"keyring's SecretService backend is missing from this install: {exc}") from exc
            except Exception as exc:
                if "SecretStorage required" in str(exc):
                    raise CheckFailed("secretstorage is missing from this install") from exc
                reason = str(exc)
        return UNAVAILABLE, reason
    service, user = "courier-self-test", f"probe-{os.getpid()}-{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(24)
    try:
        keyring.set_password(service, user, secret)
        try:
            back = keyring.get_password(service, user)
        finally:
            keyring.delete_password(service, user)
        gone = keyring.get_password(service, user) is None
    except keyring.errors.KeyringError as exc:
        return UNAVAILABLE, f"{name}: {type(exc).__name__}: {exc}"
    if back != secret:
        raise CheckFailed(f"{name} returned a different secret than was stored")
    if not gone:
        raise CheckFailed(f"{name} still holds the probe secret after deleting it")
    return OK, f"{name}: stored, read back and deleted a secret"


def check_keyring(ctx: Context) -> tuple[str, str]:
    """Store, read back and delete a random secret, when a keyring is available."""
    result: list[tuple[str, str] | BaseException] = []

    def probe() -> None:
        try:
            result.append(_keyring_probe())
        except BaseException as exc:
            result.append(exc)

    worker = threading.Thread(target=probe, name="courier-self-test-keyring", daemon=True)
    worker.start()  # a thread: a keyring that prompts or hangs must not hang the self-test
    worker.join(WAIT)
    if not result:
        return UNAVAILABLE, f"the keyring did not answer within {WAIT:.0f} s"
    outcome = result[0]
    if isinstance(outcome, BaseException):
        if isinstance(outcome, CheckFailed):
            raise outcome
        return UNAVAILABLE, f"{type(outcome).__name__}: {outcome}"
    return outcome


CHECKS: list[tuple[str, Callable[[Context], tuple[str, str]]]] = [
    ("modules", check_modules),
    ("ca-bundle", check_ca_bundle),
    ("pac", check_pac),
    ("public-suffixes", check_public_suffixes),
    ("qt", check_qt),
    ("window", check_window),
    ("resources", check_resources),
    ("pyqtgraph", check_pyqtgraph),
    ("http", check_http),
    ("tls", check_tls),
    ("keyring", check_keyring),
]


def run_self_test(out: TextIO | None = None) -> int:
    """Run every check, print one line each, return 0 when none failed.

    App state (window state, history, settings) goes to a temporary data directory for the run,
    so the self-test never changes the user's own; the keyring probe deletes what it stored.
    """
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    previous = os.environ.get("COURIER_DATA_DIR")
    data_dir = tempfile.mkdtemp(prefix="courier-self-test-")
    os.environ["COURIER_DATA_DIR"] = data_dir
    try:
        return _run(out or sys.stdout)
    finally:
        if previous is None:
            os.environ.pop("COURIER_DATA_DIR", None)
        else:
            os.environ["COURIER_DATA_DIR"] = previous
        shutil.rmtree(data_dir, ignore_errors=True)


def _run(out: TextIO) -> int:
    from app.version import version

    t0 = time.perf_counter()
    kind = "frozen bundle" if _frozen() else "Python"
    print(f"courier {version()} self-test ({kind}, Python {sys.version.split()[0]}, {sys.executable})",
          file=out, flush=True)
    ctx = Context()
    failed: list[str] = []
    for name, check in CHECKS:
        try:
            status, detail = check(ctx)
        except CheckFailed as exc:
            status, detail = FAIL, str(exc)
        except Exception as exc:  # an unexpected error is a finding too, never a traceback dump
            status, detail = FAIL, f"{type(exc).__name__}: {exc}"
        if status == FAIL:
            failed.append(name)
        print(f"{name}: {status} ({detail})", file=out, flush=True)
    for close in reversed(ctx.closers):
        try:
            close()
        except Exception as exc:
            failed.append("shutdown")
            print(f"shutdown: {FAIL} ({type(exc).__name__}: {exc})", file=out, flush=True)
    if ctx.app is not None:
        ctx.app.processEvents()
    took = time.perf_counter() - t0
    if failed:
        print(f"self-test: FAILED ({', '.join(failed)}) in {took:.1f} s", file=out, flush=True)
        return 1
    print(f"self-test: passed ({len(CHECKS)} checks) in {took:.1f} s", file=out, flush=True)
    return 0
