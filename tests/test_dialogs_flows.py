"""End to end: a real server makes the core ask, the app's dialog appears, the user answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog

from app.bridge import QtNetworkManager
from app.dialogs import AppContext, Dialogs
from app.secrets import Credential, CredentialKey
from app.settings import ProxyMode
from app.ui.auth_dialog import AuthDialog
from app.ui.cert_dialog import CertDialog
from app.ui.redirect_dialog import RedirectDialog
from core import RedirectPolicy
from core.tls import psk_supported
from tests.keyring_service import KeyringService
from tests.proxies import AuthServer, Tinyproxy
from tests.servers import HypercornServer
from tests.tls_servers import Pki, TlsServer, psk_server_context


@pytest.fixture
def app_parts(tmp_path: Path) -> Iterator[tuple[AppContext, QtNetworkManager]]:
    context = AppContext(tmp_path / "data")
    manager = QtNetworkManager()
    yield context, manager
    manager.close()
    context.close()


@pytest.mark.parametrize("follow", [True, False])
def test_ask_me_redirect_policy_shows_the_redirect_and_obeys(
        qtbot, app_parts: tuple[AppContext, QtNetworkManager], http_server: HypercornServer, follow: bool) -> None:
    context, manager = app_parts
    context.settings.redirect_policy = RedirectPolicy.USER_VERIFIED
    dialogs = Dialogs(context, manager)
    with qtbot.waitSignal(dialogs.router.dialog_opened, timeout=10000) as opened:
        reply = manager.get(http_server.url + "/redirect/1")
    dialog = opened.args[0]
    assert isinstance(dialog, RedirectDialog)
    assert dialog.prompt.source.endswith("/redirect/1") and dialog.prompt.target.endswith("/echo")
    assert dialog.prompt.status == 302
    with qtbot.waitSignal(reply.finished, timeout=10000):
        (dialog.follow_button if follow else dialog.stop_button).click()
    if follow:
        assert reply.core.status == 200 and reply.core.url.endswith("/echo")
    else:
        assert reply.core.status == 302
    dialogs.close()


def _session(data: Path, backend: object = None) -> tuple[AppContext, QtNetworkManager, Dialogs, list[QDialog]]:
    context = AppContext(data, backend)
    manager = QtNetworkManager()
    dialogs = Dialogs(context, manager)
    shown: list[QDialog] = []
    dialogs.router.dialog_opened.connect(shown.append)
    return context, manager, dialogs, shown


def _end(context: AppContext, manager: QtNetworkManager, dialogs: Dialogs) -> None:
    dialogs.close()
    manager.close()
    context.close()  # waits for pending keyring and file writes


def _plaintext_hits(root: Path, secret: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_socket() and secret in p.read_bytes()]


def test_auth_dialog_remember_then_the_keyring_answers_a_new_manager(
        qtbot, keyring_service: KeyringService, auth_server: AuthServer, tmp_path: Path) -> None:
    url = auth_server.url + "/basic/staff/report"
    context, manager, dialogs, shown = _session(tmp_path / "data", keyring_service.backend())
    with qtbot.waitSignal(dialogs.router.dialog_opened, timeout=10000):
        reply = manager.get(url)
    dialog = shown[0]
    assert isinstance(dialog, AuthDialog)
    assert dialog.prompt.realm == "staff" and dialog.prompt.scheme == "Basic"
    assert dialog.prompt.host == "127.0.0.1" and dialog.prompt.port == auth_server.port
    assert dialog.cleartext_banner.isVisibleTo(dialog) and not dialog.failed_banner.isVisibleTo(dialog)
    assert dialog.remember.isEnabled()
    qtbot.keyClicks(dialog.user, "user")
    qtbot.keyClicks(dialog.password, "passwd")
    dialog.remember.setChecked(True)
    with qtbot.waitSignal(reply.finished, timeout=10000):
        dialog.ok_button.click()
    assert reply.core.status == 200
    _end(context, manager, dialogs)

    # A new manager (no in-memory credential cache): the keyring fills the prompt, no dialog.
    context, manager, dialogs, shown = _session(tmp_path / "data", keyring_service.backend())
    with qtbot.waitSignal(manager.finished, timeout=10000):
        reply = manager.get(url)
    assert reply.core.status == 200 and shown == []
    assert auth_server.seen[-1]["authorization"] == "Basic dXNlcjpwYXNzd2Q="
    _end(context, manager, dialogs)
    assert _plaintext_hits(tmp_path, b"passwd") == []
    assert _plaintext_hits(keyring_service.home, b"passwd") == []


def test_rejected_remembered_password_brings_the_dialog_back(
        qtbot, keyring_service: KeyringService, auth_server: AuthServer, tmp_path: Path) -> None:
    context, manager, dialogs, shown = _session(tmp_path / "data", keyring_service.backend())
    key = CredentialKey("server", "http", "127.0.0.1", auth_server.port, "ops")
    context.store.remember(key, Credential("user", "outdated"))
    with qtbot.waitSignal(dialogs.router.dialog_opened, timeout=10000):
        reply = manager.get(auth_server.url + "/basic/ops/x")
    dialog = shown[0]
    assert isinstance(dialog, AuthDialog)
    assert dialog.failed_banner.isVisibleTo(dialog) and dialog.user.text() == "user"
    assert dialog.remember.isChecked()  # it was remembered: keep it, with the new password
    wrong = [s for s in auth_server.seen if s["path"] == "/basic/ops/x"]
    assert wrong[-1]["authorization"] == "Basic dXNlcjpvdXRkYXRlZA=="  # the keyring's try went out
    qtbot.keyClicks(dialog.password, "passwd")
    with qtbot.waitSignal(reply.finished, timeout=10000):
        dialog.ok_button.click()
    assert reply.core.status == 200
    _end(context, manager, dialogs)
    assert context.store.lookup(key) == Credential("user", "passwd")


def test_without_a_keyring_the_auth_dialog_says_so_and_nothing_is_stored(
        qtbot, no_keyring: object, auth_server: AuthServer, tmp_path: Path) -> None:
    context, manager, dialogs, shown = _session(tmp_path / "data")
    with qtbot.waitSignal(dialogs.router.dialog_opened, timeout=10000):
        reply = manager.get(auth_server.url + "/basic/nokeyring/x")
    dialog = shown[0]
    assert isinstance(dialog, AuthDialog)
    assert not dialog.remember.isEnabled() and "No system keyring" in dialog.keyring_note.text()
    qtbot.keyClicks(dialog.user, "user")
    qtbot.keyClicks(dialog.password, "passwd")
    with qtbot.waitSignal(reply.finished, timeout=10000):
        dialog.ok_button.click()
    assert reply.core.status == 200
    _end(context, manager, dialogs)
    assert _plaintext_hits(tmp_path, b"passwd") == []
    assert not (tmp_path / "data" / "credentials.json").exists()


def test_manual_proxy_password_from_settings_answers_the_proxy_without_a_dialog(
        qtbot, keyring_service: KeyringService, tinyproxy_auth: Tinyproxy, http_server: HypercornServer,
        tmp_path: Path) -> None:
    context, manager, dialogs, shown = _session(tmp_path / "data", keyring_service.backend())
    page = dialogs.open_settings()
    qtbot.waitUntil(lambda: page.lists_ready, timeout=5000)
    page.proxy_radio[ProxyMode.MANUAL].click()
    qtbot.keyClicks(page.proxy_host, "127.0.0.1")
    page.proxy_port.setValue(tinyproxy_auth.port)
    page.no_proxy.clear()
    qtbot.keyClicks(page.proxy_user, "puser")
    qtbot.keyClicks(page.proxy_password, "ppass")
    page.ok_button.click()
    qtbot.waitUntil(lambda: context.store.remembered() != [], timeout=5000)
    with qtbot.waitSignal(manager.finished, timeout=10000):
        reply = manager.get(http_server.url + "/echo")
    assert reply.core.status == 200 and shown == []
    assert any(f"127.0.0.1:{http_server.port}/echo" in line for line in tinyproxy_auth.wait_requests(1))
    _end(context, manager, dialogs)
    assert _plaintext_hits(tmp_path, b"ppass") == []


def test_pac_file_setting_routes_requests_through_the_proxy_it_names(
        qtbot, tinyproxy: Tinyproxy, http_server: HypercornServer, tmp_path: Path) -> None:
    pac = tmp_path / "proxy.pac"
    pac.write_text('function FindProxyForURL(url, host) { return "PROXY 127.0.0.1:' + str(tinyproxy.port) + '"; }')
    context = AppContext(tmp_path / "data")
    context.settings.proxy_mode = ProxyMode.PAC
    context.settings.pac_url = pac.as_uri()
    manager = QtNetworkManager()
    dialogs = Dialogs(context, manager)
    before = len(tinyproxy.requests())
    with qtbot.waitSignal(manager.finished, timeout=20000):
        reply = manager.get(http_server.url + "/echo?via-pac")
    assert reply.core.status == 200
    lines = tinyproxy.wait_requests(before + 1)
    assert any("/echo?via-pac" in line for line in lines[before:])
    _end(context, manager, dialogs)


def test_http2_and_redirect_limits_from_settings_reach_every_request(
        qtbot, app_parts: tuple[AppContext, QtNetworkManager], http_server: HypercornServer,
        https_server: HypercornServer, tls_files: dict[str, str]) -> None:
    import ssl

    context, manager = app_parts
    ctx = ssl.create_default_context(cafile=tls_files["ca"])
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    manager.thread.run_sync(lambda: manager.core.transport.set_default_ssl_context(ctx))
    dialogs = Dialogs(context, manager)
    with qtbot.waitSignal(manager.finished, timeout=10000):
        reply = manager.get(https_server.url + "/echo")
    assert reply.core.http_version == "HTTP/2"  # allowed by default
    context.settings.http2_allowed = False
    context.settings.max_redirects = 1
    dialogs.apply()
    with qtbot.waitSignal(manager.finished, timeout=10000):
        reply = manager.get(https_server.url + "/echo")
    assert reply.core.http_version == "HTTP/1.1"
    with qtbot.waitSignal(manager.finished, timeout=10000):
        reply = manager.get(http_server.url + "/redirect/3")
    assert reply.core.error.name == "TooManyRedirectsError"
    with qtbot.waitSignal(manager.finished, timeout=10000):
        reply = manager.get(http_server.url + "/redirect/1")
    assert reply.core.status == 200
    dialogs.close()


# -- certificates ------------------------------------------------------------------------------


def test_self_signed_server_raises_the_certificate_dialog_and_proceed_once_works(
        qtbot, tls_server, pki: Pki, tmp_path: Path) -> None:
    server: TlsServer = tls_server("self_signed")
    context, manager, dialogs, shown = _session(tmp_path / "data")
    with qtbot.waitSignal(dialogs.router.dialog_opened, timeout=10000):
        reply = manager.get(server.url + "/first")
    dialog = shown[0]
    assert isinstance(dialog, CertDialog)
    assert [e.name for e in dialog.prompt.errors] == ["SelfSignedCertificate"]
    assert "self-signed" in dialog.error_labels[0].text()
    f = dialog.details.fields
    assert f["SHA-256"].text().replace(":", "").replace("\n", "").lower() == pki.leaves["self_signed"].fingerprint()
    assert "IP:127.0.0.1" in f["Alternative names"].text()
    assert server.requests == []  # nothing was sent while the user decides
    with qtbot.waitSignal(reply.finished, timeout=10000):
        dialog.once_button.click()
    assert reply.core.status == 200 and [r["path"] for r in server.requests] == ["/first"]
    # The settings page lists the decision for this session and can revoke it.
    page = dialogs.open_settings()
    qtbot.waitUntil(lambda: page.lists_ready and page.cert_exceptions.topLevelItemCount() == 1, timeout=5000)
    row = page.cert_exceptions.topLevelItem(0)
    assert row is not None and row.text(0) == f"127.0.0.1:{server.port}" and row.text(1) == "this session"
    assert "SelfSignedCertificate" in row.text(2)
    row.setSelected(True)
    page.revoke_exception.click()
    qtbot.waitUntil(lambda: page.lists_ready and page.cert_exceptions.topLevelItemCount() == 0, timeout=5000)
    page.reject()
    manager.thread.submit(manager.core.clear_connection_cache()).result(10)
    with qtbot.waitSignal(dialogs.router.dialog_opened, timeout=10000):
        again = manager.get(server.url + "/after-revoke")  # revoked: asks again
    with qtbot.waitSignal(again.finished, timeout=10000):
        shown[-1].cancel_button.click()
    assert again.core.error.name == "SslHandshakeFailedError"
    _end(context, manager, dialogs)
    assert not (tmp_path / "data" / "tls-exceptions.json").exists() or \
        "127.0.0.1" not in (tmp_path / "data" / "tls-exceptions.json").read_text()


def test_always_trust_is_remembered_across_a_restart(qtbot, tls_server, tmp_path: Path) -> None:
    server: TlsServer = tls_server("self_signed")
    context, manager, dialogs, shown = _session(tmp_path / "data")
    with qtbot.waitSignal(dialogs.router.dialog_opened, timeout=10000):
        reply = manager.get(server.url + "/one")
    with qtbot.waitSignal(reply.finished, timeout=10000):
        shown[0].always_button.click()
    assert reply.core.status == 200
    _end(context, manager, dialogs)
    assert (tmp_path / "data" / "tls-exceptions.json").exists()

    context, manager, dialogs, shown = _session(tmp_path / "data")
    with qtbot.waitSignal(manager.finished, timeout=10000):
        reply = manager.get(server.url + "/two")
    assert reply.core.status == 200 and shown == []
    page = dialogs.open_settings()
    qtbot.waitUntil(lambda: page.lists_ready and page.cert_exceptions.topLevelItemCount() == 1, timeout=5000)
    assert page.cert_exceptions.topLevelItem(0).text(1) == "always"
    page.reject()
    _end(context, manager, dialogs)


def test_tls_settings_extra_ca_key_log_and_a_pkcs12_password_from_the_keyring(
        qtbot, tls_server, pki: Pki, keyring_service: KeyringService, tmp_path: Path) -> None:
    mtls: TlsServer = tls_server("good", client_ca_file=pki.client_ca_pem)
    p12 = pki.client.write_pkcs12(tmp_path / "client.p12", b"p12-secret-77")
    keylog = tmp_path / "keys.log"
    context, manager, dialogs, shown = _session(tmp_path / "data", keyring_service.backend())
    page = dialogs.open_settings()
    qtbot.waitUntil(lambda: page.lists_ready, timeout=5000)
    page.extra_cas.addItem(pki.root_pem)
    qtbot.keyClicks(page.cc_host, "127.0.0.1")
    page.cc_cert.setText(str(p12))
    qtbot.keyClicks(page.cc_password, "p12-secret-77")
    page.cc_add.click()
    page.keylog_enabled.setChecked(True)
    page.keylog_path.setText(str(keylog))
    page.ok_button.click()
    qtbot.waitUntil(lambda: context.settings.client_certificates != [] and dialogs.applied.applied != [], timeout=5000)
    # Applied once the password is in the keyring (the core reads it when it builds the context).
    qtbot.waitUntil(lambda: manager.thread.run_sync(lambda: bool(manager.core.tls.settings.client_certificates)),
                    timeout=5000)
    with qtbot.waitSignal(manager.finished, timeout=10000):
        reply = manager.get(mtls.url + "/mtls")
    assert reply.core.status == 200, reply.core.error_string
    assert json.loads(reply.core.content())["client_cert"]["commonName"] == "Courier Client"
    assert shown == []  # trusted through the extra CA: no certificate dialog
    assert "CLIENT_RANDOM" in keylog.read_text() or "CLIENT_TRAFFIC_SECRET" in keylog.read_text()
    _end(context, manager, dialogs)
    assert _plaintext_hits(tmp_path / "data", b"p12-secret-77") == []
    assert _plaintext_hits(keyring_service.home, b"p12-secret-77") == []


def test_cache_setting_serves_a_fresh_answer_from_disk(
        qtbot, app_parts: tuple[AppContext, QtNetworkManager], policy_server, tmp_path: Path) -> None:
    context, manager = app_parts
    context.settings.cache_enabled = True
    context.settings.cache_size_mb = 5
    dialogs = Dialogs(context, manager)
    url = policy_server.url + "/cache/dialogs-fresh?cc=max-age%3D60"
    replies = []
    for _ in range(2):
        with qtbot.waitSignal(manager.finished, timeout=10000):
            replies.append(manager.get(url))
    assert [r.core.content() for r in replies] == [b"dialogs-fresh v1"] * 2
    assert replies[1].core.from_cache is True
    assert manager.core.cache is not None and manager.core.cache.max_size == 5 * 1024 * 1024
    assert (tmp_path / "data" / "http-cache").is_dir()
    context.settings.cache_enabled = False
    dialogs.apply()
    with qtbot.waitSignal(manager.finished, timeout=10000):
        third = manager.get(url)
    assert third.core.content() == b"dialogs-fresh v2" and manager.core.cache is None
    dialogs.close()


def test_cookies_survive_a_restart_and_the_settings_page_forgets_them(qtbot, policy_server, tmp_path: Path) -> None:
    from urllib.parse import quote

    data = tmp_path / "data"
    set_both = (policy_server.url + "/echo?set=" + quote("kept=1; Max-Age=3600; Path=/")
                + "&set=" + quote("session=1; Path=/"))
    context, manager, dialogs, _shown = _session(data)
    with qtbot.waitSignal(manager.finished, timeout=10000):
        manager.get(set_both)
    _end(context, manager, dialogs)
    assert (data / "cookies.sqlite").exists()
    assert b"session" not in (data / "cookies.sqlite").read_bytes()  # session cookies are never written

    def sent_cookie(manager: QtNetworkManager) -> str | None:
        with qtbot.waitSignal(manager.finished, timeout=10000):
            reply = manager.get(policy_server.url + "/echo")
        return json.loads(reply.core.content())["cookie"]

    context, manager, dialogs, _shown = _session(data)  # the app started again
    assert sent_cookie(manager) == "kept=1"
    with qtbot.waitSignal(manager.finished, timeout=10000):
        manager.get(policy_server.url + "/echo?set=" + quote("other=2; Max-Age=60; Path=/; HttpOnly"))
    page = dialogs.open_settings()
    assert page.keep_cookies.isChecked()
    rows = [page.cookie_list.topLevelItem(i) for i in range(page.cookie_list.topLevelItemCount())]
    listed = sorted((r.text(1), r.text(2), r.text(5)) for r in rows)
    assert listed == [("kept", "1", ""), ("other", "2", "HttpOnly")]
    next(r for r in rows if r.text(1) == "kept").setSelected(True)
    page.delete_cookies.click()  # at once, without OK
    assert page.cookie_list.topLevelItemCount() == 1
    assert sent_cookie(manager) == "other=2"
    page.clear_cookies.click()
    assert page.cookie_list.topLevelItemCount() == 0
    page.accept()
    assert sent_cookie(manager) is None
    with qtbot.waitSignal(manager.finished, timeout=10000):
        manager.get(set_both)
    page = dialogs.open_settings()
    page.keep_cookies.setChecked(False)  # keep nothing on disk: the file goes, this session's cookies stay
    page.accept()
    qtbot.waitUntil(lambda: not (data / "cookies.sqlite").exists(), timeout=5000)
    assert sent_cookie(manager) == "kept=1; session=1"
    _end(context, manager, dialogs)
    assert json.loads((data / "settings.json").read_text())["keep_cookies"] is False

    context, manager, dialogs, _shown = _session(data)
    assert sent_cookie(manager) is None and not (data / "cookies.sqlite").exists()
    _end(context, manager, dialogs)


@pytest.mark.skipif(not psk_supported(), reason="TLS-PSK needs Python 3.13 (ssl.set_psk_client_callback)")
def test_a_psk_server_raises_the_key_dialog_a_wrong_key_asks_again(qtbot, tmp_path: Path) -> None:
    from app.ui.psk_dialog import PskDialog

    server = TlsServer(psk_server_context({"device-7": bytes.fromhex("00112233445566778899aabbccddeeff")},
                                          hint="courier-hint"))
    context, manager, dialogs, shown = _session(tmp_path / "data")
    try:
        with qtbot.waitSignal(dialogs.router.dialog_opened, timeout=10000):
            reply = manager.get(server.url + "/psk")
        first = shown[0]
        assert isinstance(first, PskDialog) and first.identity.text() == "courier-hint"
        assert not first.ok_button.isEnabled()  # no key yet
        first.identity.setText("device-7")
        first.key.setText("0011 2233 zz")
        assert "hexadecimal" in first.problem.text() and not first.ok_button.isEnabled()
        first.key.setText("ffffffffffffffffffffffffffffffff")  # well-formed, but not the key
        with qtbot.waitSignal(dialogs.router.dialog_opened, timeout=10000):
            first.ok_button.click()
        second = shown[1]
        assert isinstance(second, PskDialog) and second.prompt.attempt == 2
        second.identity.setText("device-7")
        second.key.setText("00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF")
        with qtbot.waitSignal(reply.finished, timeout=10000):
            second.ok_button.click()
        assert reply.core.status == 200 and reply.core.tls is not None and reply.core.tls.verification == "psk"
        assert json.loads(reply.core.content())["path"] == "/psk"
        with qtbot.waitSignal(manager.finished, timeout=10000):
            again = manager.get(server.url + "/again")  # kept for the session: no third dialog
        assert again.core.status == 200 and len(shown) == 2
    finally:
        _end(context, manager, dialogs)
        server.close()
    assert not _plaintext_hits(tmp_path, b"\x00\x11\x22\x33\x44\x55\x66\x77") and \
        not _plaintext_hits(tmp_path, b"00112233445566778899aabbccddeeff")


@pytest.mark.skipif(not psk_supported(), reason="TLS-PSK needs Python 3.13 (ssl.set_psk_client_callback)")
def test_cancelling_the_psk_dialog_fails_the_request_clearly(qtbot, tmp_path: Path) -> None:
    server = TlsServer(psk_server_context({"device-7": b"0123456789abcdef"}))
    context, manager, dialogs, shown = _session(tmp_path / "data")
    try:
        with qtbot.waitSignal(dialogs.router.dialog_opened, timeout=10000):
            reply = manager.get(server.url + "/psk")
        with qtbot.waitSignal(reply.finished, timeout=10000):
            shown[0].reject()
        assert reply.core.error.name == "SslHandshakeFailedError", reply.core.error_string
        assert server.requests == []
    finally:
        _end(context, manager, dialogs)
        server.close()
