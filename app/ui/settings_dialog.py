"""The settings page: proxy, requests, cache and HSTS, TLS, remembered passwords, certificate exceptions.

The dialog edits a copy of ``Settings``; the caller saves and applies it when the user presses OK.
Passwords typed here (the manual proxy's) are handed back separately and go to the keyring, never
into the settings. Lists of remembered passwords and certificate exceptions are loaded and
deleted on the worker thread. Settings the network engine does not apply yet are named on their
page ("stored only").
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import time
from typing import Any

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.apply_settings import SETTING_LABELS
from app.prompts import CertException, CertExceptionSource, CookieSource
from app.secrets import CredentialKey, RememberedEntry, SecretStore
from app.settings import (
    CacheLoad,
    ClientCertificate,
    ProxyMode,
    ProxyType,
    Settings,
)
from app.ui.dialog_look import banner, headline, muted
from app.worker import Worker
from core.request import RedirectPolicy
from core.tls.trust import TrustSource

REDIRECT_TEXT = {
    RedirectPolicy.NO_LESS_SAFE: "Follow, except from https to http (recommended)",
    RedirectPolicy.SAME_ORIGIN: "Follow only within the same scheme, host and port",
    RedirectPolicy.USER_VERIFIED: "Ask me before following each redirect",
    RedirectPolicy.MANUAL: "Never follow: show the 3xx reply",
}
LOAD_TEXT = {
    CacheLoad.PREFER_NETWORK: "Prefer the network (revalidate)",
    CacheLoad.PREFER_CACHE: "Prefer the cache",
    CacheLoad.ALWAYS_NETWORK: "Always the network",
    CacheLoad.ALWAYS_CACHE: "Only the cache (offline)",
}
PAGES = ["Proxy", "Requests", "Cache and HSTS", "TLS", "Passwords", "Certificate exceptions", "Cookies"]
PAGE_SETTINGS = {
    "Proxy": ["proxy", "pac_url"],
    "Requests": ["redirect_policy", "max_redirects", "transfer_timeout", "http2_allowed"],
    "Cache and HSTS": ["hsts_enabled", "cache", "cache_load_control"],
    "Cookies": ["keep_cookies"],
    "TLS": ["trust_store", "extra_ca_files", "client_certificates", "tls_keylog"],
}


def _form() -> tuple[QWidget, QFormLayout]:
    w = QWidget()
    form = QFormLayout(w)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return w, form


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, worker: Worker, store: SecretStore,
                 exceptions: CertExceptionSource | None = None, stored_only: list[str] | None = None,
                 parent: QWidget | None = None, cookies: CookieSource | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings — Courier")
        self.setObjectName("settingsDialog")
        self.resize(820, 560)
        self.original = settings
        self.worker, self.store, self.exceptions, self.cookie_source = worker, store, exceptions, cookies
        self.stored_only = set(stored_only or [])
        self.proxy_password_changed = False
        self.client_cert_passwords: dict[tuple[str, str], str] = {}  # (host, file) → PKCS#12 password
        self.keyring_problem: str | None = None
        self.lists_ready = False  # the keyring state and both lists have arrived from the worker

        self.nav = QListWidget()
        self.nav.addItems(PAGES)
        self.nav.setFixedWidth(190)
        self.nav.setStyleSheet("QListWidget::item { padding: 7px 8px; }")
        self.pages = QStackedWidget()
        for name, build in zip(PAGES, (self._proxy_page, self._requests_page, self._cache_page,
                                       self._tls_page, self._passwords_page, self._exceptions_page,
                                       self._cookies_page),
                               strict=True):
            self.pages.addWidget(self._page(name, build()))
        self.nav.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.nav.setCurrentRow(0)

        self.problems = banner("", "error")
        self.problems.setVisible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        body = QHBoxLayout()
        body.addWidget(self.nav)
        body.addWidget(self.pages, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(body, 1)
        lay.addWidget(self.problems)
        lay.addWidget(buttons)
        self.load(settings)
        self.refresh_lists()

    def _page(self, name: str, content: QWidget) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addWidget(headline(name))
        lay.addWidget(content, 1)
        pending = [SETTING_LABELS[s] for s in PAGE_SETTINGS.get(name, []) if s in self.stored_only]
        if pending:
            note = muted("Saved, and applied once the network engine supports them: " + ", ".join(pending) + ".")
            note.setObjectName("storedOnlyNote")
            lay.addWidget(note)
        return page

    # -- pages -----------------------------------------------------------------------------
    def _proxy_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        self.proxy_modes = QButtonGroup(self)
        self.proxy_radio: dict[ProxyMode, QRadioButton] = {}
        for mode, text in ((ProxyMode.NONE, "No proxy"),
                           (ProxyMode.SYSTEM, "Use the system's proxy settings (http_proxy, https_proxy, no_proxy)"),
                           (ProxyMode.MANUAL, "Manual proxy configuration"),
                           (ProxyMode.PAC, "Automatic proxy configuration URL (PAC)")):
            radio = QRadioButton(text)
            self.proxy_modes.addButton(radio)
            self.proxy_radio[mode] = radio
            lay.addWidget(radio)
            if mode is ProxyMode.MANUAL:
                self.manual_box = self._manual_proxy_box()
                lay.addWidget(self.manual_box)
            if mode is ProxyMode.PAC:
                self.pac_url = QLineEdit()
                self.pac_url.setPlaceholderText("http://wpad.example.org/proxy.pac")
                lay.addWidget(self.pac_url)
        self.proxy_modes.buttonToggled.connect(lambda *_: self._sync_proxy())
        lay.addStretch(1)
        return page

    def _manual_proxy_box(self) -> QGroupBox:
        box = QGroupBox()
        form = QFormLayout(box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.proxy_type = QComboBox()
        self.proxy_type.addItem("HTTP (CONNECT for https)", ProxyType.HTTP)
        self.proxy_type.addItem("SOCKS5 (host names resolved by the proxy)", ProxyType.SOCKS5)
        self.proxy_host = QLineEdit()
        self.proxy_host.setPlaceholderText("proxy.example.org")
        self.proxy_port = QSpinBox()
        self.proxy_port.setRange(1, 65535)
        hostport = QHBoxLayout()
        hostport.addWidget(self.proxy_host, 1)
        hostport.addWidget(QLabel("Port:"))
        hostport.addWidget(self.proxy_port)
        self.proxy_user = QLineEdit()
        self.proxy_user.setPlaceholderText("optional")
        self.proxy_password = QLineEdit()
        self.proxy_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.proxy_password.setPlaceholderText("kept in the system keyring")
        self.proxy_password.textEdited.connect(lambda _t: setattr(self, "proxy_password_changed", True))
        self.proxy_keyring_note = muted("")
        self.proxy_keyring_note.setVisible(False)
        self.no_proxy = QLineEdit()
        self.no_proxy.setPlaceholderText("localhost, 127.0.0.1, .internal.example.org")
        form.addRow("Type:", self.proxy_type)
        form.addRow("Host:", hostport)
        form.addRow("User name:", self.proxy_user)
        form.addRow("Password:", self.proxy_password)
        form.addRow("", self.proxy_keyring_note)
        form.addRow("No proxy for:", self.no_proxy)
        return box

    def _requests_page(self) -> QWidget:
        w, form = _form()
        self.redirect_policy = QComboBox()
        for choice, text in REDIRECT_TEXT.items():
            self.redirect_policy.addItem(text, choice.value)
        self.max_redirects = QSpinBox()
        self.max_redirects.setRange(0, 1000)
        self.transfer_timeout = QDoubleSpinBox()
        self.transfer_timeout.setRange(0, 3600)
        self.transfer_timeout.setDecimals(1)
        self.transfer_timeout.setSuffix(" s")
        self.transfer_timeout.setSpecialValueText("no timeout")
        self.http2_allowed = QCheckBox("Allow HTTP/2 (negotiated with ALPN over TLS)")
        form.addRow("Redirects:", self.redirect_policy)
        form.addRow("Maximum redirects:", self.max_redirects)
        form.addRow("Transfer timeout:", self.transfer_timeout)
        form.addRow("", muted("A transfer that receives nothing for this long fails with a timeout."))
        form.addRow("HTTP/2:", self.http2_allowed)
        return w

    def _cache_page(self) -> QWidget:
        w, form = _form()
        self.hsts_enabled = QCheckBox("Honour Strict-Transport-Security (upgrade known hosts to https)")
        self.cache_enabled = QCheckBox("Keep an HTTP cache on disk")
        self.cache_size = QSpinBox()
        self.cache_size.setRange(1, 100_000)
        self.cache_size.setSuffix(" MB")
        self.cache_load = QComboBox()
        for choice, text in LOAD_TEXT.items():
            self.cache_load.addItem(text, choice)
        self.cache_enabled.toggled.connect(self._sync_cache)
        form.addRow("HSTS:", self.hsts_enabled)
        form.addRow("Cache:", self.cache_enabled)
        form.addRow("Cache size:", self.cache_size)
        form.addRow("Default load control:", self.cache_load)
        return w

    def _tls_page(self) -> QWidget:
        w, form = _form()
        self.trust_system = QRadioButton("The system's trust store")
        self.trust_certifi = QRadioButton("Mozilla's CA bundle (certifi)")
        trust = QVBoxLayout()
        trust.addWidget(self.trust_system)
        trust.addWidget(self.trust_certifi)
        self.extra_cas = QListWidget()
        self.extra_cas.setMaximumHeight(90)
        add_ca, remove_ca = QPushButton("Add…"), QPushButton("Remove")
        add_ca.clicked.connect(self._add_ca)
        remove_ca.clicked.connect(lambda: self.extra_cas.takeItem(self.extra_cas.currentRow()))
        self.client_certs = QTreeWidget()
        self.client_certs.setHeaderLabels(["Host", "Certificate", "Key"])
        self.client_certs.setRootIsDecorated(False)
        self.client_certs.setMaximumHeight(110)
        remove_cc = QPushButton("Remove")
        remove_cc.clicked.connect(self._remove_client_cert)
        self.client_cert_form = self._client_cert_form()
        self.keylog_enabled = QCheckBox("Write TLS session keys (SSLKEYLOGFILE format, for Wireshark)")
        self.keylog_path = QLineEdit()
        self.keylog_path.setPlaceholderText("/path/to/sslkeys.log")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._choose_keylog)
        keylog = QHBoxLayout()
        keylog.addWidget(self.keylog_path, 1)
        keylog.addWidget(browse)
        form.addRow("Trust:", trust)
        form.addRow("Extra CA files:", _with_buttons(self.extra_cas, add_ca, remove_ca))
        form.addRow("Client certificates:", _with_buttons(self.client_certs, remove_cc))
        form.addRow("", self.client_cert_form)
        form.addRow("Key log:", self.keylog_enabled)
        form.addRow("", keylog)
        form.addRow("", muted("Anyone with this file can decrypt captured traffic: switch it off when done."))
        return w

    def _passwords_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addWidget(muted("Passwords you chose to remember. They live in the system keyring; "
                            "deleting one here removes it from the keyring."))
        self.passwords = QTreeWidget()
        self.passwords.setObjectName("passwords")
        self.passwords.setHeaderLabels(["Kind", "Address", "Realm", "User name"])
        self.passwords.setRootIsDecorated(False)
        self.passwords.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.passwords.setAlternatingRowColors(True)
        for column in range(4):
            self.passwords.header().setSectionResizeMode(
                column, QHeaderView.ResizeMode.Stretch if column == 1 else QHeaderView.ResizeMode.ResizeToContents)
        self.keyring_banner = banner("", "warning")
        self.keyring_banner.setVisible(False)
        self.delete_password = QPushButton("Delete")
        self.delete_password.clicked.connect(self._delete_passwords)
        lay.addWidget(self.keyring_banner)
        lay.addWidget(self.passwords, 1)
        lay.addWidget(self.delete_password, 0, Qt.AlignmentFlag.AlignRight)
        return page

    def _exceptions_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addWidget(muted("Certificates you chose to trust for one host. A different certificate for "
                            "the same host asks again."))
        self.cert_exceptions = QTreeWidget()
        self.cert_exceptions.setObjectName("certExceptions")
        self.cert_exceptions.setHeaderLabels(["Host", "Kept", "Errors accepted", "SHA-256 fingerprint"])
        self.cert_exceptions.setRootIsDecorated(False)
        self.cert_exceptions.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.revoke_exception = QPushButton("Revoke")
        self.revoke_exception.clicked.connect(self._revoke_exceptions)
        self.exceptions_note = muted("")
        self.exceptions_note.setVisible(self.exceptions is None)
        if self.exceptions is None:
            self.exceptions_note.setText("This version of the network engine keeps no certificate exceptions.")
            self.revoke_exception.setEnabled(False)
        lay.addWidget(self.exceptions_note)
        lay.addWidget(self.cert_exceptions, 1)
        lay.addWidget(self.revoke_exception, 0, Qt.AlignmentFlag.AlignRight)
        return page

    def _cookies_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        self.keep_cookies = QCheckBox("Keep cookies between sessions (session cookies always end with the app)")
        lay.addWidget(self.keep_cookies)
        lay.addWidget(muted("The cookies the servers set, as they are sent now. Deleting takes effect at once."))
        self.cookie_list = QTreeWidget()
        self.cookie_list.setObjectName("cookieList")
        self.cookie_list.setHeaderLabels(["Domain", "Name", "Value", "Path", "Expires", "Flags"])
        self.cookie_list.setRootIsDecorated(False)
        self.cookie_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.cookie_list.setSortingEnabled(True)
        self.delete_cookies = QPushButton("Delete")
        self.delete_cookies.clicked.connect(self._delete_cookies)
        self.clear_cookies = QPushButton("Delete all")
        self.clear_cookies.clicked.connect(self._clear_cookies)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.delete_cookies)
        buttons.addWidget(self.clear_cookies)
        lay.addWidget(self.cookie_list, 1)
        lay.addLayout(buttons)
        if self.cookie_source is None:
            self.delete_cookies.setEnabled(False)
            self.clear_cookies.setEnabled(False)
        self.refresh_cookies()
        return page

    def refresh_cookies(self) -> None:
        self.cookie_list.clear()
        if self.cookie_source is None:
            return
        for cookie in self.cookie_source.list_cookies():
            expires = ("when the app ends" if cookie.expires is None
                       else time.strftime("%Y-%m-%d %H:%M", time.localtime(cookie.expires)))
            flags = ", ".join(f for f, on in (("Secure", cookie.secure), ("HttpOnly", cookie.http_only),
                                               (f"SameSite={cookie.same_site.value}", bool(cookie.same_site.value))) if on)
            value = cookie.value if len(cookie.value) <= 200 else cookie.value[:200] + "…"
            item = QTreeWidgetItem([cookie.domain, cookie.name, value, cookie.path, expires, flags])
            item.setData(0, Qt.ItemDataRole.UserRole, cookie)
            self.cookie_list.addTopLevelItem(item)

    def _delete_cookies(self) -> None:
        chosen = [item.data(0, Qt.ItemDataRole.UserRole) for item in self.cookie_list.selectedItems()]
        if chosen and self.cookie_source is not None:
            self.cookie_source.delete(chosen)
            self.refresh_cookies()

    def _clear_cookies(self) -> None:
        if self.cookie_source is not None:
            self.cookie_source.clear()
            self.refresh_cookies()

    # -- settings <-> widgets ----------------------------------------------------------------
    def load(self, s: Settings) -> None:
        self.proxy_radio[s.proxy_mode].setChecked(True)
        self.proxy_type.setCurrentIndex(self.proxy_type.findData(s.proxy_type))
        self.proxy_host.setText(s.proxy_host)
        self.proxy_port.setValue(s.proxy_port)
        self.proxy_user.setText(s.proxy_user)
        self.no_proxy.setText(s.no_proxy)
        self.pac_url.setText(s.pac_url)
        self.redirect_policy.setCurrentIndex(self.redirect_policy.findData(s.redirect_policy.value))
        self.max_redirects.setValue(s.max_redirects)
        self.transfer_timeout.setValue(s.transfer_timeout)
        self.http2_allowed.setChecked(s.http2_allowed)
        self.hsts_enabled.setChecked(s.hsts_enabled)
        self.keep_cookies.setChecked(s.keep_cookies)
        self.cache_enabled.setChecked(s.cache_enabled)
        self.cache_size.setValue(s.cache_size_mb)
        self.cache_load.setCurrentIndex(self.cache_load.findData(s.cache_load_control))
        self._sync_cache(s.cache_enabled)
        (self.trust_system if s.trust_store is TrustSource.SYSTEM else self.trust_certifi).setChecked(True)
        self.extra_cas.clear()
        self.extra_cas.addItems(s.extra_ca_files)
        self.client_certs.clear()
        for c in s.client_certificates:
            self.client_certs.addTopLevelItem(QTreeWidgetItem([c.host, c.cert_file, c.key_file]))
        self.keylog_enabled.setChecked(s.tls_keylog_enabled)
        self.keylog_path.setText(s.tls_keylog_path)
        self._sync_proxy()

    def settings(self) -> Settings:
        """The edited settings (a new object; the original is untouched)."""
        mode = next(m for m, r in self.proxy_radio.items() if r.isChecked())
        rows = (self.client_certs.topLevelItem(i) for i in range(self.client_certs.topLevelItemCount()))
        certs = [ClientCertificate(r.text(0), r.text(1), r.text(2)) for r in rows if r is not None]
        return dataclasses.replace(
            self.original, proxy_mode=mode, proxy_type=ProxyType(self.proxy_type.currentData()),
            proxy_host=self.proxy_host.text().strip(), proxy_port=self.proxy_port.value(), proxy_user=self.proxy_user.text(),
            no_proxy=self.no_proxy.text(), pac_url=self.pac_url.text().strip(),
            redirect_policy=RedirectPolicy(self.redirect_policy.currentData()), max_redirects=self.max_redirects.value(),
            transfer_timeout=self.transfer_timeout.value(), http2_allowed=self.http2_allowed.isChecked(),
            hsts_enabled=self.hsts_enabled.isChecked(), keep_cookies=self.keep_cookies.isChecked(),
            cache_enabled=self.cache_enabled.isChecked(),
            cache_size_mb=self.cache_size.value(), cache_load_control=CacheLoad(self.cache_load.currentData()),
            trust_store=TrustSource.SYSTEM if self.trust_system.isChecked() else TrustSource.CERTIFI,
            extra_ca_files=[self.extra_cas.item(i).text() for i in range(self.extra_cas.count())],
            client_certificates=certs, tls_keylog_enabled=self.keylog_enabled.isChecked(),
            tls_keylog_path=self.keylog_path.text().strip())

    def typed_proxy_password(self) -> str | None:
        """The manual proxy's password if the user typed one (it goes to the keyring)."""
        return self.proxy_password.text() if self.proxy_password_changed else None

    def proxy_key(self) -> CredentialKey:
        s = self.settings()
        return CredentialKey.for_configured_proxy(s.proxy_type.value, s.proxy_host, s.proxy_port)

    def _sync_cache(self, on: bool) -> None:
        self.cache_size.setEnabled(on)
        self.cache_load.setEnabled(on)

    def _sync_proxy(self) -> None:
        self.manual_box.setEnabled(self.proxy_radio[ProxyMode.MANUAL].isChecked())
        self.pac_url.setEnabled(self.proxy_radio[ProxyMode.PAC].isChecked())

    def accept(self) -> None:
        problems = self.settings().validate()
        if problems:
            self.problems.setText("\n".join(problems))
            self.problems.setVisible(True)
            return
        super().accept()

    # -- lists on the worker ---------------------------------------------------------------
    def refresh_lists(self) -> None:
        self.lists_ready = False
        self.worker.run(_load_lists, self.store, self.exceptions, on_done=self._lists_loaded)

    def _lists_loaded(self, future: concurrent.futures.Future[Any]) -> None:
        if not shiboken6.isValid(self.keyring_banner):
            return  # the dialog was closed (and deleted) before its lists arrived
        problem, entries, exceptions = future.result()
        self.lists_ready = True
        self.keyring_problem = problem
        self.keyring_banner.setText(problem or "")
        self.keyring_banner.setVisible(problem is not None)
        self.delete_password.setEnabled(problem is None)
        self.proxy_password.setEnabled(problem is None)
        self.proxy_keyring_note.setText(problem or "")
        self.proxy_keyring_note.setVisible(problem is not None)
        self.passwords.clear()
        for e in entries:
            kind = {"server": "Server", "proxy": "Proxy", "client-cert": "Client certificate"}.get(e.key.kind, e.key.kind)
            item = QTreeWidgetItem([kind, f"{e.key.scheme}://{e.key.host}:{e.key.port}", e.key.realm, e.user])
            item.setData(0, Qt.ItemDataRole.UserRole, e.key)
            self.passwords.addTopLevelItem(item)
            if e.key == self.proxy_key():
                self.proxy_password.setPlaceholderText("stored in the system keyring (type to replace)")
        self.cert_exceptions.clear()
        for x in exceptions:
            item = QTreeWidgetItem([f"{x.host}:{x.port}", "always" if x.remembered else "this session",
                                    ", ".join(x.errors), x.sha256])
            item.setToolTip(0, x.subject)
            item.setData(0, Qt.ItemDataRole.UserRole, x)
            self.cert_exceptions.addTopLevelItem(item)

    def _delete_passwords(self) -> None:
        keys = [i.data(0, Qt.ItemDataRole.UserRole) for i in self.passwords.selectedItems()]
        if keys:
            self.worker.run(_forget_all, self.store, keys, on_done=lambda _f: self.refresh_lists())

    def _revoke_exceptions(self) -> None:
        items = [i.data(0, Qt.ItemDataRole.UserRole) for i in self.cert_exceptions.selectedItems()]
        if items and self.exceptions is not None:
            self.worker.run(_revoke_all, self.exceptions, items, on_done=lambda _f: self.refresh_lists())

    # -- file choosers ---------------------------------------------------------------------
    def _add_ca(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add CA certificates", "", "PEM files (*.pem *.crt);;All files (*)")
        if path:
            self.extra_cas.addItem(path)

    def _client_cert_form(self) -> QGroupBox:
        """Host, certificate, key and (for PKCS#12) password, added in one go: no nested dialogs."""
        box = QGroupBox("Add a client certificate")
        grid = QFormLayout(box)
        self.cc_host = QLineEdit()
        self.cc_host.setPlaceholderText("api.example.org or api.example.org:8443")
        self.cc_cert = QLineEdit()
        self.cc_cert.setPlaceholderText("certificate: .pem/.crt, or .p12/.pfx with its key")
        self.cc_key = QLineEdit()
        self.cc_key.setPlaceholderText("private key (.pem), unless it is in the certificate file")
        self.cc_password = QLineEdit()
        self.cc_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.cc_password.setPlaceholderText("PKCS#12 password, kept in the system keyring")
        browse_cert, browse_key = QPushButton("Browse…"), QPushButton("Browse…")
        browse_cert.clicked.connect(lambda: self._browse(self.cc_cert, "Certificates (*.pem *.crt *.p12 *.pfx)"))
        browse_key.clicked.connect(lambda: self._browse(self.cc_key, "Keys (*.pem *.key)"))
        self.cc_add = QPushButton("Add")
        self.cc_add.clicked.connect(self.add_client_certificate)
        grid.addRow("Host:", self.cc_host)
        grid.addRow("Certificate:", _row(self.cc_cert, browse_cert))
        grid.addRow("Key:", _row(self.cc_key, browse_key))
        grid.addRow("Password:", _row(self.cc_password, self.cc_add))
        return box

    def add_client_certificate(self) -> None:
        host, cert = self.cc_host.text().strip().lower(), self.cc_cert.text().strip()
        if not host or not cert:
            self.problems.setText("A client certificate needs a host and a certificate file.")
            self.problems.setVisible(True)
            return
        self.client_certs.addTopLevelItem(QTreeWidgetItem([host, cert, self.cc_key.text().strip()]))
        if self.cc_password.text() and cert.lower().endswith((".p12", ".pfx")):
            self.client_cert_passwords[(host, cert)] = self.cc_password.text()
        for field in (self.cc_host, self.cc_cert, self.cc_key, self.cc_password):
            field.clear()
        self.problems.setVisible(False)

    def _browse(self, target: QLineEdit, kinds: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a file", target.text(), f"{kinds};;All files (*)")
        if path:
            target.setText(path)

    def _remove_client_cert(self) -> None:
        item = self.client_certs.currentItem()
        if item is not None:
            self.client_certs.takeTopLevelItem(self.client_certs.indexOfTopLevelItem(item))

    def _choose_keylog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "TLS key log file", self.keylog_path.text())
        if path:
            self.keylog_path.setText(path)


def _row(*widgets: QWidget) -> QWidget:
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    for i, widget in enumerate(widgets):
        lay.addWidget(widget, 1 if i == 0 else 0)
    return w


def _with_buttons(view: QWidget, *buttons: QPushButton) -> QWidget:
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(view, 1)
    col = QVBoxLayout()
    for b in buttons:
        col.addWidget(b)
    col.addStretch(1)
    lay.addLayout(col)
    return w


def _load_lists(store: SecretStore, exceptions: CertExceptionSource | None
                ) -> tuple[str | None, list[RememberedEntry], list[CertException]]:
    """Worker thread: the keyring's state, the remembered passwords and the certificate exceptions."""
    problem = store.problem()
    entries = store.remembered()
    try:
        found = exceptions.list_exceptions() if exceptions is not None else []
    except OSError:
        found = []
    return problem, entries, found


def _forget_all(store: SecretStore, keys: list[CredentialKey]) -> None:
    for key in keys:
        store.forget(key)


def _revoke_all(source: CertExceptionSource, items: list[CertException]) -> None:
    for item in items:
        source.revoke(item)
