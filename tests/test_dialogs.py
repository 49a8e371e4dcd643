"""The certificate dialog, the auth dialog and the settings page, driven as a user would."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from PySide6.QtCore import Qt

from app.bridge import QtNetworkManager
from app.dialogs import AppContext, Dialogs
from app.prompts import AuthPrompt, CertDecision, CertError, CertPrompt, certificate_view
from app.secrets import Credential, CredentialKey
from app.settings import ProxyMode, ProxyType, Settings, SettingsFile
from app.ui.auth_dialog import AuthDialog
from app.ui.cert_dialog import CertDialog
from tests.keyring_service import KeyringService


def chain_of(cert: trustme.LeafCert) -> list[x509.Certificate]:
    return [x509.load_pem_x509_certificate(b.bytes()) for b in cert.cert_chain_pems]


@pytest.fixture
def expired_prompt(ca: trustme.CA) -> tuple[CertPrompt, list[x509.Certificate]]:
    leaf = ca.issue_cert("localhost", "127.0.0.1", not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
                         not_after=dt.datetime(2021, 1, 1, tzinfo=dt.UTC))
    certs = [*chain_of(leaf), x509.load_pem_x509_certificate(ca.cert_pem.bytes())]
    prompt = CertPrompt(host="127.0.0.1", port=8443, url="https://127.0.0.1:8443/",
                        errors=[CertError("CertificateExpired", certificate=0),
                                CertError("UnableToGetLocalIssuerCertificate", "unable to get local issuer")],
                        chain=[certificate_view(c) for c in certs])
    return prompt, certs


def test_certificate_dialog_explains_errors_and_shows_the_chain(qtbot, expired_prompt) -> None:
    prompt, certs = expired_prompt
    dialog = CertDialog(prompt)
    qtbot.addWidget(dialog)
    dialog.show()
    texts = [label.text() for label in dialog.error_labels]
    assert "The certificate has expired." in texts[0] and "CertificateExpired" in texts[0]
    assert "authority your trust store does not know" in texts[1]
    rows = [(i.text(0), i.text(1)) for i in dialog.chain_items]
    assert rows == [("localhost", "server"), (certificate_view(certs[1]).short_name, "root CA")]
    assert dialog.chain.topLevelItem(0) is dialog.chain_items[1]  # root at the top, server below it
    f = dialog.details.fields
    assert "DNS:localhost" in f["Alternative names"].text() and "IP:127.0.0.1" in f["Alternative names"].text()
    assert "expired" in f["Valid until"].text() and "2021-01-01" in f["Valid until"].text()
    expected = hashlib.sha256(certs[0].public_bytes(_der())).hexdigest().upper()
    assert f["SHA-256"].text().replace(":", "").replace("\n", "") == expected
    dialog.chain.setCurrentItem(dialog.chain_items[1])
    assert "self-signed" in f["Issuer"].text()
    assert f["Subject"].text() == certs[1].subject.rfc4514_string()


def _der():  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


@pytest.mark.parametrize(("press", "decision"), [
    ("enter", CertDecision.CANCEL), ("escape", CertDecision.CANCEL), ("once", CertDecision.ONCE),
    ("always", CertDecision.ALWAYS)])
def test_certificate_dialog_buttons_and_keys(qtbot, expired_prompt, press: str, decision: CertDecision) -> None:
    dialog = CertDialog(expired_prompt[0])
    qtbot.addWidget(dialog)
    dialog.open()
    with qtbot.waitSignal(dialog.finished, timeout=3000):
        if press == "enter":
            qtbot.keyClick(dialog, Qt.Key.Key_Return)  # Enter must never trust by accident
        elif press == "escape":
            qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        else:
            (dialog.once_button if press == "once" else dialog.always_button).click()
    assert dialog.decision is decision


def test_auth_dialog_shows_who_asks_and_warns_about_cleartext(qtbot) -> None:
    prompt = AuthPrompt(proxy=True, scheme="Basic", realm="corp", host="10.0.0.1", port=3128, url_scheme="http",
                        previous_user="carol", previous_failed=True, url="https://api.example.org/v1")
    dialog = AuthDialog(prompt, keyring_problem=None, remembered=True)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.windowTitle() == "Proxy authentication required"
    assert dialog.realm_label.text() == "“corp”" and dialog.scheme_label.text() == "Basic"
    assert dialog.failed_banner.isVisible() and dialog.cleartext_banner.isVisible()
    assert dialog.user.text() == "carol" and dialog.password.echoMode() is dialog.password.EchoMode.Password
    assert dialog.remember.isChecked() and dialog.remember.isEnabled()
    dialog.show_password.setChecked(True)
    assert dialog.password.echoMode() is dialog.password.EchoMode.Normal
    qtbot.keyClicks(dialog.password, "pw")
    assert dialog.credential() == Credential("carol", "pw") and dialog.remember_requested


# -- settings ----------------------------------------------------------------------------------

@pytest.fixture
def app_parts(tmp_path: Path, keyring_service: KeyringService) -> Iterator[tuple[AppContext, Dialogs]]:
    context = AppContext(tmp_path / "data", keyring_service.backend())
    manager = QtNetworkManager()
    dialogs = Dialogs(context, manager)
    yield context, dialogs
    dialogs.close()
    manager.close()
    context.close()


def test_settings_page_saves_applies_and_sends_the_proxy_password_to_the_keyring(
        qtbot, app_parts: tuple[AppContext, Dialogs], tmp_path: Path) -> None:
    context, dialogs = app_parts
    core = dialogs.manager.core
    assert core.transfer_timeout == 30.0  # the app's default, applied at start
    assert core.strict_transport_security_enabled and core.hsts.store_path == tmp_path / "data" / "hsts.json"
    dialog = dialogs.open_settings()
    qtbot.waitUntil(lambda: dialog.lists_ready, timeout=5000)
    assert dialog.keyring_problem is None and dialog.keyring_banner.isHidden()
    dialog.proxy_radio[ProxyMode.MANUAL].click()
    assert dialog.manual_box.isEnabled() and not dialog.pac_url.isEnabled()
    dialog.proxy_type.setCurrentIndex(dialog.proxy_type.findData(ProxyType.SOCKS5))
    qtbot.keyClicks(dialog.proxy_host, "127.0.0.1")
    dialog.proxy_port.setValue(1080)
    qtbot.keyClicks(dialog.proxy_user, "dave")
    qtbot.keyClicks(dialog.proxy_password, "proxy-secret-42")
    dialog.transfer_timeout.setValue(12.5)
    dialog.hsts_enabled.setChecked(False)
    with qtbot.waitSignal(dialog.finished, timeout=3000):
        dialog.ok_button.click()
    assert core.transfer_timeout == 12.5 and not core.strict_transport_security_enabled
    context.worker.shutdown()  # the file and the keyring writes are done
    saved = json.loads((tmp_path / "data" / "settings.json").read_text())
    assert saved["proxy_mode"] == "manual" and saved["proxy_host"] == "127.0.0.1" and saved["proxy_user"] == "dave"
    assert saved["transfer_timeout"] == 12.5
    key = CredentialKey.for_configured_proxy("socks5", "127.0.0.1", 1080)
    assert context.store.lookup(key) == Credential("dave", "proxy-secret-42")
    for path in tmp_path.rglob("*"):
        assert not (path.is_file() and b"proxy-secret-42" in path.read_bytes()), path
    assert SettingsFile.in_data_dir(tmp_path / "data").load() == context.settings


def test_settings_page_lists_and_deletes_remembered_passwords(qtbot, app_parts: tuple[AppContext, Dialogs]) -> None:
    context, dialogs = app_parts
    key = CredentialKey("server", "https", "api.example.org", 443, "staff")
    context.store.remember(key, Credential("erin", "pw-to-delete"))
    dialog = dialogs.open_settings()
    dialog.nav.setCurrentRow(4)
    qtbot.waitUntil(lambda: dialog.passwords.topLevelItemCount() == 1, timeout=5000)
    item = dialog.passwords.topLevelItem(0)
    assert item is not None and item.text(3) == "erin" and item.text(1) == "https://api.example.org:443"
    assert item.text(0) == "Server" and item.text(2) == "staff"
    item.setSelected(True)
    dialog.delete_password.click()
    qtbot.waitUntil(lambda: dialog.passwords.topLevelItemCount() == 0, timeout=5000)
    assert context.store.lookup(key) is None
    dialog.reject()


def test_settings_page_refuses_an_incomplete_proxy_and_names_what_is_stored_only(
        qtbot, app_parts: tuple[AppContext, Dialogs]) -> None:
    context, dialogs = app_parts
    dialog = dialogs.open_settings()
    assert dialog.settings() == context.settings  # the widgets round-trip every setting unchanged
    dialog.proxy_radio[ProxyMode.MANUAL].click()
    dialog.ok_button.click()
    assert dialog.isVisible() and dialog.problems.isVisible()
    assert "host name" in dialog.problems.text()
    notes = [w.text() for w in dialog.findChildren(type(dialog.problems), "storedOnlyNote")]
    for name in dialogs.applied.stored_only:
        from app.apply_settings import SETTING_LABELS

        assert any(SETTING_LABELS[name] in n for n in notes), name
    dialog.reject()


def test_a_broken_settings_file_is_kept_aside_and_defaults_are_used(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{ not json")
    file = SettingsFile(path)
    assert file.load() == Settings()
    kept = list(tmp_path.glob("settings.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text() == "{ not json"
    assert "kept" in file.notes[0]
    path.write_text(json.dumps({"version": 1, "transfer_timeout": "soon", "max_redirects": 7}))
    loaded = file.load()
    assert loaded.max_redirects == 7 and loaded.transfer_timeout == 30.0
    assert file.notes and "transfer_timeout" in file.notes[0]


def test_settings_page_without_a_keyring_disables_the_proxy_password(qtbot, no_keyring: object, tmp_path: Path) -> None:
    context = AppContext(tmp_path / "data")
    manager = QtNetworkManager()
    dialogs = Dialogs(context, manager)
    dialog = dialogs.open_settings()
    qtbot.waitUntil(lambda: dialog.lists_ready, timeout=5000)
    assert not dialog.proxy_password.isEnabled() and "No system keyring" in dialog.proxy_keyring_note.text()
    assert not dialog.keyring_banner.isHidden() and not dialog.delete_password.isEnabled()
    dialog.reject()
    dialogs.close()
    manager.close()
    context.close()
    assert not (tmp_path / "data" / "credentials.json").exists()
