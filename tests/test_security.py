"""Security: no secret in a file, a log or the history; exports leave credentials out by default;
certificate exceptions are scoped; credentials stay on their origin; ``file:`` only when the user asks.

The main test stores secrets through every path the app has (the auth dialog's "remember", a
bearer token, a secret collection variable, the manual proxy's password, a PKCS#12 password, a
literal ``Authorization`` header) with a real Secret Service (gnome-keyring on a private bus), real
servers and every logger at DEBUG, records the replies in the history, exports HAR, curl and
Postman, and then scans every file written under the test's data, collection, export and temp
folders, the keyring's own folder and every log line for each secret, its base64 forms and its
percent-encoded form.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from app.collections import (
    Body,
    CollectionStore,
    Header,
    KeyringSecrets,
    RequestItem,
    Variable,
    build_resolver,
    prepare,
)
from app.collections.model import Auth
from app.collections.secrets import COLLECTION_SCOPE, secret_key
from app.exporters import curl as curl_export
from app.exporters import har as har_export
from app.exporters import postman as postman_export
from app.history import History
from core import NetworkError, NetworkManager, Request
from tests.keyring_service import KeyringService
from tests.policy_helpers import run, to
from tests.proxies import Tinyproxy
from tests.robust_results import record
from tests.servers import HypercornServer
from tests.tls_servers import Pki, TlsServer

AUTH_USER, AUTH_PW = "vault-user", "Dlg-Remember-Pw-4f1c"
BEARER = "bearer-tok-91c2e7aa"
VAR_SECRET = "var-secret-5a1b3377"
PROXY_USER, PROXY_PW = "proxy-user-x", "Pr0xy-Pa55-e41d"
P12_PW = "p12-secret-2b9d"
HDR_USER, HDR_PW = "hdr-user", "literal-hdr-pw-77aa"
URL_PW = "url-userinfo-pw-c0de"
SECRETS = {"auth dialog password": (AUTH_USER, AUTH_PW), "bearer token": (None, BEARER),
           "secret variable": (None, VAR_SECRET), "proxy password": (PROXY_USER, PROXY_PW),
           "PKCS#12 password": (None, P12_PW), "literal Authorization header": (HDR_USER, HDR_PW),
           "password in a URL": ("url-user", URL_PW)}


def _forms(user: str | None, secret: str) -> list[bytes]:
    """The secret as it could end up on disk: plain, base64 (alone or as Basic ``user:secret``, with
    the three alignments of base64), percent-encoded, JSON-escaped."""
    out = {secret.encode(), quote(secret, safe="").encode(), json.dumps(secret)[1:-1].encode()}
    for raw in ([f"{user}:{secret}".encode()] if user else []) + [secret.encode()]:
        for shift in range(3):
            enc = base64.b64encode(b"\0" * shift + raw)[4 if shift else 0:]  # skip the shifted prefix
            out.add(enc[: max(8, len(enc) - 4)])  # the stable middle, whatever follows
    return sorted(out)


def _auth_app(expected: str, seen: list[dict[str, str]] | None = None) -> Callable[..., Any]:
    """/vault/...: Basic ``expected`` ("user:password") or a 401 challenge; /to?url=U: a 302 to U;
    anything else echoes the headers. ``seen``: the headers of every request, in order."""
    good = "Basic " + base64.b64encode(expected.encode()).decode()

    async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if seen is not None:
            seen.append({"path": scope["path"], **headers})
        if scope["path"] == "/to":
            from urllib.parse import parse_qs

            target = parse_qs(scope["query_string"].decode())["url"][0]
            await send({"type": "http.response.start", "status": 302,
                        "headers": [(b"location", target.encode()), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["path"].startswith("/vault") and headers.get("authorization") != good:
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"www-authenticate", b'Basic realm="vault"'), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        body = json.dumps({"path": scope["path"], "headers": headers}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted still counts with its raw parts
            self.lines.append(f"{record.msg!r} {record.args!r}")


@pytest.fixture
def every_log(tmp_path: Path) -> Iterator[_Lines]:
    """Every logger at DEBUG, into a list and into a file under the scanned folder."""
    root = logging.getLogger()
    old_level = root.level
    lines = _Lines()
    (tmp_path / "logs").mkdir()
    to_file = logging.FileHandler(tmp_path / "logs" / "courier-debug.log", encoding="utf-8")
    for h in (lines, to_file):
        h.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        root.addHandler(h)
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.setLevel(old_level)
        for h in (lines, to_file):
            root.removeHandler(h)
        to_file.close()


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The process's temp folder for this test (spooled bodies and the like land here)."""
    d = tmp_path / "tmp"
    d.mkdir()
    monkeypatch.setenv("TMPDIR", str(d))
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


def _wait(qtbot: Any, manager: Any, request: Any) -> Any:
    with qtbot.waitSignal(manager.finished, timeout=20000):
        reply = manager.get(request)
    return reply.core


def test_no_secret_reaches_a_file_a_log_or_the_history(
        qtbot, keyring_service: KeyringService, every_log: _Lines, private_tmp: Path, tls_server,
        pki: Pki, https_server: HypercornServer, tls_files: dict[str, str], tmp_path: Path) -> None:
    from app.bridge import QtNetworkManager
    from app.dialogs import AppContext, Dialogs
    from app.settings import ProxyMode
    from app.ui.auth_dialog import AuthDialog

    data, exports = tmp_path / "data", tmp_path / "exports"
    exports.mkdir()
    server = HypercornServer(app=_auth_app(f"{AUTH_USER}:{AUTH_PW}")).start()
    proxy = Tinyproxy(auth=(PROXY_USER, PROXY_PW)).start()
    mtls: TlsServer = tls_server("good", client_ca_file=pki.client_ca_pem)
    context = AppContext(data, keyring_service.backend())
    manager = QtNetworkManager()
    dialogs = Dialogs(context, manager)
    shown: list[Any] = []
    dialogs.router.dialog_opened.connect(shown.append)
    history = History(data / "history.db")
    replies: list[Any] = []
    try:
        # 1. the auth dialog, "remember" ticked: the password goes to the keyring
        with qtbot.waitSignal(dialogs.router.dialog_opened, timeout=20000):
            qreply = manager.get(server.url + "/vault/report")
        dialog = shown[-1]
        assert isinstance(dialog, AuthDialog)
        qtbot.keyClicks(dialog.user, AUTH_USER)
        qtbot.keyClicks(dialog.password, AUTH_PW)
        dialog.remember.setChecked(True)
        with qtbot.waitSignal(qreply.finished, timeout=20000):
            dialog.ok_button.click()
        assert qreply.core.status == 200
        replies.append(qreply.core)

        # 2. a bearer token, over HTTP/1.1 and over HTTP/2 (hpack logs headers at DEBUG)
        replies.append(_wait(qtbot, manager, Request(server.url + "/echo/bearer", bearer_token=BEARER)))
        manager.thread.run_sync(lambda: manager.core.tls.configure(
            __import__("core").tls.TlsSettings(extra_ca_files=[tls_files["ca"]])))
        h2 = _wait(qtbot, manager, Request(https_server.url + "/echo", bearer_token=BEARER))
        assert h2.http_version == "HTTP/2", h2.error_string
        replies.append(h2)

        # 3. a secret variable of a collection, used in the URL, a header and the body
        store = CollectionStore.create(tmp_path / "collections" / "api", "API")
        col = store.collection
        col.variables = [Variable("base", server.url), Variable("token", secret=True)]
        store.save_collection(col)
        secrets = KeyringSecrets(backend=keyring_service.backend())
        secrets.set(secret_key(col.id, COLLECTION_SCOPE, "token"), VAR_SECRET)
        item = RequestItem("Use token", "POST", "{{base}}/echo/var?key={{token}}",
                           headers=[Header("X-Api-Key", "{{token}}")], body=Body("json", '{"t": "{{token}}"}'))
        store.new_request("", item)
        col = store.reload()
        # typed into a request but not saved (saving a request is the collections' business): exported only
        literal = RequestItem("Literal credentials", "GET", f"http://url-user:{URL_PW}@127.0.0.1:{server.port}/echo/lit",
                              headers=[Header("Authorization", "Basic " + base64.b64encode(
                                  f"{HDR_USER}:{HDR_PW}".encode()).decode())],
                              auth=Auth("basic", {"username": HDR_USER, "password": HDR_PW}))
        literal.path = "literal-credentials.toml"
        col.root.children.append(literal)
        resolver = build_resolver(col, None, secrets)
        prepared = prepare(col, next(r for r in col.requests() if r.name == "Use token"), resolver)
        req, body = prepared.to_core()
        with qtbot.waitSignal(manager.finished, timeout=20000):
            var_reply = manager.send(prepared.method, req, body)
        assert json.loads(var_reply.core.content())["headers"]["x-api-key"] == VAR_SECRET
        history.record(var_reply.core, prepared.body_preview, redact=resolver.redact)

        # 4. a literal Authorization header and a password in the URL, as typed into the composer
        lit = _wait(qtbot, manager, Request(f"http://url-user:{URL_PW}@127.0.0.1:{server.port}/echo/literal",
                                            headers=[("Authorization", "Basic " + base64.b64encode(
                                                f"{HDR_USER}:{HDR_PW}".encode()).decode())]))
        replies.append(lit)

        # 5. a PKCS#12 client certificate whose password is typed on the settings page
        p12 = pki.client.write_pkcs12(tmp_path / "client.p12", P12_PW.encode())
        page = dialogs.open_settings()
        qtbot.waitUntil(lambda: page.lists_ready, timeout=10000)
        page.extra_cas.addItem(pki.root_pem)
        qtbot.keyClicks(page.cc_host, "127.0.0.1")
        page.cc_cert.setText(str(p12))
        qtbot.keyClicks(page.cc_password, P12_PW)
        page.cc_add.click()
        page.ok_button.click()
        qtbot.waitUntil(lambda: manager.thread.run_sync(
            lambda: bool(manager.core.tls.settings.client_certificates)), timeout=10000)
        mt = _wait(qtbot, manager, mtls.url + "/mtls")
        assert mt.status == 200, mt.error_string
        replies.append(mt)

        # 6. the manual proxy's password, typed on the settings page
        page = dialogs.open_settings()
        qtbot.waitUntil(lambda: page.lists_ready, timeout=10000)
        page.proxy_radio[ProxyMode.MANUAL].click()
        page.proxy_host.clear()
        qtbot.keyClicks(page.proxy_host, "127.0.0.1")
        page.proxy_port.setValue(proxy.port)
        page.no_proxy.clear()
        page.proxy_user.clear()
        qtbot.keyClicks(page.proxy_user, PROXY_USER)
        qtbot.keyClicks(page.proxy_password, PROXY_PW)
        page.ok_button.click()
        qtbot.waitUntil(lambda: any(e.key.kind == "proxy" for e in context.store.remembered()), timeout=10000)
        proxied = _wait(qtbot, manager, server.url + "/echo/proxied")
        assert proxied.status == 200, proxied.error_string
        replies.append(proxied)

        for r in replies:
            history.record(r)
        entries = history.search(limit=100)
        (exports / "history.har").write_text(har_export.dumps(har_export.export_history(entries)))
        (exports / "collection.har").write_text(har_export.dumps(har_export.export_collection(col, secrets=secrets)))
        doc, _warnings = postman_export.export_collection(col, secrets=secrets)
        (exports / "collection.postman.json").write_text(postman_export.dumps(doc))
        (exports / "requests.sh").write_text("\n".join(curl_export.export_curl(col, r, secrets=secrets)
                                                       for r in col.requests()))
        reopened = [e.to_request_item() for e in entries]  # what "open from history" puts in the composer
    finally:
        history.close()
        dialogs.close()
        manager.close()
        context.close()  # waits for the keyring and settings writes
        proxy.stop()
        server.stop()
    for h in logging.getLogger().handlers:
        h.flush()

    assert len(entries) == len(replies) + 1 and all(e.status == 200 for e in entries), [
        (e.url, e.status, e.error) for e in entries]
    assert len(every_log.lines) > 20  # the loggers really were on (asyncio, hpack, keyring, ...)
    scanned = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_socket()]
    keyring_files = [p for p in keyring_service.root.rglob("*") if p.is_file() and not p.is_socket()]
    assert any(p.name == "history.db" for p in scanned) and any(p.suffix == ".har" for p in scanned)
    assert keyring_files, "the keyring kept nothing on disk?"
    leaks: list[str] = []
    for what, (user, secret) in SECRETS.items():
        forms = _forms(user, secret)
        files = sorted({str(p.relative_to(tmp_path)) for p in scanned for f in forms if f in p.read_bytes()})
        in_keyring = sorted({p.name for p in keyring_files for f in forms if f in p.read_bytes()})
        logs = sum(1 for line in every_log.lines for f in forms if f.decode() in line)
        in_history = [e.url for e in entries if any(f.decode() in json.dumps(e.request_headers) + e.url
                                                    + (e.request_body or b"").decode(errors="replace")
                                                    for f in forms)]
        in_reopened = [r.name for r in reopened if any(f.decode() in repr(r) for f in forms)]
        found = files + in_keyring + [f"{logs} log lines"] * bool(logs) + in_history + in_reopened
        record("Security", f"{what}: stored, sent and recorded, then every file and log line scanned",
               "nowhere in plaintext or base64: not in any file written (data dir, collections, exports, temp "
               "dir), a log line, the history, the keyring's own files",
               f"{len(forms)} forms searched in {len(scanned)} files, {len(keyring_files)} keyring files, "
               f"{len(every_log.lines)} log lines: " + (f"FOUND in {found}" if found else "found nowhere"))
        leaks += [f"{what} in {x}" for x in found]
    assert leaks == [], leaks
    assert shown and all(isinstance(d, AuthDialog) for d in shown[:1])


# -- exports ------------------------------------------------------------------------------------
def test_exports_leave_credentials_out_by_default(tmp_path: Path) -> None:
    from app.collections import MemorySecrets

    store = CollectionStore.create(tmp_path / "api", "Exports")
    col = store.collection
    col.variables = [Variable("tok", secret=True)]
    store.save_collection(col)
    item = RequestItem("All kinds", "POST", f"http://u:{URL_PW}@127.0.0.1:9/x?q=1",
                       headers=[Header("Authorization", "Bearer LITERAL-TOKEN-1"), Header("X-Api-Key", "{{tok}}"),
                                Header("Cookie", "sid=COOKIE-VALUE-2"), Header("Proxy-Authorization", "Basic UFJPWFk=")],
                       auth=Auth("basic", {"username": "bob", "password": "AUTH-PARAM-PW-3"}),
                       body=Body("text", "hello"))
    store.new_request("", item)
    col = store.reload()
    secrets = MemorySecrets({secret_key(col.id, COLLECTION_SCOPE, "tok"): "VAR-SECRET-4"})
    needles = ["LITERAL-TOKEN-1", "VAR-SECRET-4", "COOKIE-VALUE-2", "AUTH-PARAM-PW-3", URL_PW, "UFJPWFk",
               base64.b64encode(b"bob:AUTH-PARAM-PW-3").decode()[:12]]
    outputs = {
        "HAR": har_export.dumps(har_export.export_collection(col, secrets=secrets)),
        "curl": curl_export.export_curl(col, col.requests()[0], secrets=secrets),
        "Postman": postman_export.dumps(postman_export.export_collection(col, secrets=secrets)[0]),
    }
    asked = {
        "HAR": har_export.dumps(har_export.export_collection(col, secrets=secrets, include_sensitive=True,
                                                             include_secrets=True)),
        "curl": curl_export.export_curl(col, col.requests()[0], secrets=secrets, include_sensitive=True,
                                        include_secrets=True),
        "Postman": postman_export.dumps(postman_export.export_collection(col, include_secrets=True,
                                                                         secrets=secrets)[0]),
    }
    for fmt, text in outputs.items():
        found = [n for n in needles if n in text]
        record("Security", f"{fmt} export of a request with every kind of credential (default options)",
               "Authorization, Proxy-Authorization, Cookie, auth passwords, URL passwords and secret "
               "variables left out", "left out" if not found else f"FOUND {found}")
        assert found == [], (fmt, found)
    for fmt, text in asked.items():  # asked for: they are there (the export is still complete)
        assert "VAR-SECRET-4" in text and "LITERAL-TOKEN-1" in text, fmt


# -- certificate exceptions -----------------------------------------------------------------------
def test_a_certificate_exception_covers_that_host_port_and_certificate_only(loop, pki: Pki, tls_server) -> None:
    from core.tls.questions import SslErrorsQuestion

    first: TlsServer = tls_server("self_signed")
    second: TlsServer = tls_server("self_signed")  # the same certificate on another port
    other: TlsServer = tls_server("expired")  # another bad certificate

    async def story(m: NetworkManager) -> list[tuple[str, NetworkError, int]]:
        asked: list[str] = []

        def answer(q: Any) -> None:
            if isinstance(q, SslErrorsQuestion):
                asked.append(q.reply.url if q.reply is not None else "?")
                if len(asked) == 1:
                    q.accept()  # the user accepts the first one only (for the session)
                else:
                    q.refuse()

        m.questions.subscribe(answer)
        out = []
        for url in (first.url + "/a", first.url + "/again", second.url + "/other-port", other.url + "/other-cert",
                    first.url.replace("127.0.0.1", "localhost") + "/other-name"):
            before = len(asked)
            r = await m.get(url).wait()
            out.append((url, r.error, len(asked) - before))
        return out

    results = run(loop, story)
    summary = "; ".join(f"{u.split('/')[-1]}: {e.name}, asked {n}×" for u, e, n in results)
    record("Security", "a certificate accepted for 127.0.0.1:A, then the same certificate on port B, another "
           "certificate, another host name", "only host A, port A, that certificate is covered; every other "
           "case asks again (and fails when refused)", summary)
    (_, e1, n1), (_, e2, n2), (_, e3, n3), (_, e4, n4), (_, e5, n5) = results
    assert (e1, n1) == (NetworkError.NoError, 1)
    assert (e2, n2) == (NetworkError.NoError, 0)  # the decision holds for that host, port and certificate
    assert n3 == 1 and e3 is NetworkError.SslHandshakeFailedError  # same certificate, another port: asked
    assert n4 == 1 and e4 is NetworkError.SslHandshakeFailedError
    assert n5 == 1 and e5 is NetworkError.SslHandshakeFailedError


# -- credentials and redirects --------------------------------------------------------------------
def test_a_password_in_the_url_never_follows_a_cross_origin_redirect(loop) -> None:
    """Headers and bearer tokens on a cross-origin hop: tests/test_redirects.py. Here: the password
    of the URL's userinfo, which answers its own origin's challenge and no other."""
    seen: list[dict[str, str]] = []
    server = HypercornServer(app=_auth_app(f"url-user:{URL_PW}", seen)).start()
    with_password = server.url.replace("http://", f"http://url-user:{URL_PW}@")
    other = server.url.replace("127.0.0.1", "localhost")

    async def story(m: NetworkManager) -> tuple[Any, Any]:
        own = await m.get(with_password + "/vault/own").wait()
        cross = await m.get(with_password + "/to?url=" + quote(other + "/vault/cross", safe="")).wait()
        return own, cross

    try:
        own, cross = run(loop, story)
    finally:
        server.stop()
    to_other = [h for h in seen if h["path"] == "/vault/cross"]
    leaked = [h for h in to_other if "authorization" in h]
    record("Security", "a password in the URL: its own origin challenges, then a redirect to another origin "
           "that challenges too", "answers its own origin only; the other origin's challenge is not answered",
           f"own origin: {own.status} {own.error.name}; other origin: {cross.status} {cross.error.name}, "
           f"{len(to_other)} requests reached it, {len(leaked)} with an Authorization header")
    assert own.status == 200
    assert to_other and leaked == []
    assert cross.status == 401 and cross.error is NetworkError.AuthenticationRequiredError


# -- file: ----------------------------------------------------------------------------------------
def test_file_urls_only_when_the_user_sends_them(loop, policy_server: HypercornServer, tmp_path: Path) -> None:
    from app.collections import MemorySecrets
    from app.importers import parse, save_import

    sentinel = tmp_path / "private.txt"
    sentinel.write_text("PRIVATE-FILE-CONTENT-55")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it for reading would block: an importer that reads it hangs here

    async def story(m: NetworkManager) -> tuple[Any, Any]:
        own = await m.get(sentinel.as_uri()).wait()
        redirected = await m.get(to(policy_server, sentinel.as_uri())).wait()
        return own, redirected

    own, redirected = run(loop, story)
    doc = {"info": {"name": "Files", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
           "item": [{"name": "read a file", "request": {"method": "GET", "url": sentinel.as_uri()}},
                    {"name": "upload", "request": {"method": "POST", "url": "http://127.0.0.1:9/up",
                                                   "body": {"mode": "formdata", "formdata": [
                                                       {"key": "f", "type": "file", "src": str(fifo)},
                                                       {"key": "g", "type": "file", "src": str(sentinel)}]}}},
                    {"name": "raw file", "request": {"method": "POST", "url": "http://127.0.0.1:9/raw",
                                                     "body": {"mode": "file", "file": {"src": str(sentinel)}}}}]}
    done = threading.Event()
    result: dict[str, Any] = {}

    def do_import() -> None:
        try:
            result["store"] = save_import(parse(json.dumps(doc), "postman"), tmp_path / "imported", MemorySecrets())
        except BaseException as exc:  # reported below
            result["error"] = exc
        finally:
            done.set()

    threading.Thread(target=do_import, daemon=True).start()
    finished = done.wait(30)
    if not finished:  # unblock the importer that opened the FIFO, so the thread can end
        with open(fifo, "wb", buffering=0):
            pass
    written = b"".join(p.read_bytes() for p in (tmp_path / "imported").rglob("*") if p.is_file()) \
        if (tmp_path / "imported").exists() else b""
    record("Security", "file: URLs", "sent when the user sends one; a remote redirect to file: refused; an "
           "import neither reads nor fetches the files it names",
           f"user's file: request {own.error.name} ({len(own.content())} bytes); redirect to file: "
           f"{redirected.error.name}; import finished without touching the FIFO: {finished}; file content in "
           f"the imported collection: {b'PRIVATE-FILE-CONTENT-55' in written}")
    assert own.error is NetworkError.NoError and own.content() == b"PRIVATE-FILE-CONTENT-55"
    assert redirected.error is NetworkError.InsecureRedirectError
    assert finished and "error" not in result, result.get("error")
    assert b"PRIVATE-FILE-CONTENT-55" not in written
