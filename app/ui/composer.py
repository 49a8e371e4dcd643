"""The request composer: method, URL (with a query table kept in step both ways), headers, body
editors, auth, options; Send and Cancel with upload/download progress. Pasting a curl command
into the URL field turns it into a request.

Signals: ``sendRequested()``, ``cancelRequested()``, ``changed()`` (any edit; the tab title follows),
``curlImported(list)`` (warnings from the parsed command, possibly empty).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.request_spec import (
    AuthKind,
    BodyKind,
    KeyValue,
    MultipartField,
    RequestSpec,
    join_url,
    split_url,
)
from app.ui.kv_table import KeyValueModel, KeyValueTable

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
BODY_KINDS = [(BodyKind.NONE, "None"), (BodyKind.RAW, "Raw text"), (BodyKind.JSON, "JSON"),
              (BodyKind.FORM, "Form (urlencoded)"), (BodyKind.MULTIPART, "Multipart"),
              (BodyKind.BINARY, "Binary file")]
AUTH_KINDS = [(AuthKind.NONE, "None"), (AuthKind.BASIC, "Basic"), (AuthKind.DIGEST, "Digest"),
              (AuthKind.BEARER, "Bearer token")]


def looks_like_curl(text: str) -> bool:
    """Cheap check before the curl parser is imported (see ``app.curl_import.looks_like_curl``)."""
    t = text.lstrip()
    return t == "curl" or t.startswith(("curl ", "curl\t", "curl\n", "curl.exe "))


class UrlEdit(QLineEdit):
    """The URL field: a pasted curl command (even multi-line) is handed over whole."""

    curlPasted = Signal(str)

    def keyPressEvent(self, event: Any) -> None:
        if event.matches(QKeySequence.StandardKey.Paste):
            text = QGuiApplication.clipboard().text()
            if looks_like_curl(text):
                self.curlPasted.emit(text)
                return
        super().keyPressEvent(event)

    def insertFromMimeData(self, source: QMimeData) -> None:  # drops
        text = source.text()
        if looks_like_curl(text):
            self.curlPasted.emit(text)


class Composer(QWidget):
    sendRequested = Signal()
    cancelRequested = Signal()
    changed = Signal()
    curlImported = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._syncing = False
        self.method = QComboBox()
        self.method.setEditable(True)  # custom verbs: type any token
        self.method.addItems(METHODS)
        self.method.setMinimumContentsLength(7)
        self.url = UrlEdit()
        self.url.setPlaceholderText("https://example.org/api — or paste a curl command  (Ctrl+L)")
        self.send_button = QPushButton("Send")
        self.send_button.setToolTip("Send (Ctrl+Enter)")
        self.send_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Cancel (Esc)")
        self.cancel_button.setEnabled(False)
        self.upload_bar = QProgressBar()
        self.upload_bar.setFormat("↑ %p%")
        self.download_bar = QProgressBar()
        self.download_bar.setFormat("↓ %p%")
        for bar in (self.upload_bar, self.download_bar):
            bar.setMaximumHeight(14)
            bar.setTextVisible(True)
            bar.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        top = QHBoxLayout()
        top.addWidget(self.method)
        top.addWidget(self.url, 1)
        top.addWidget(self.send_button)
        top.addWidget(self.cancel_button)
        bars = QHBoxLayout()
        bars.addWidget(self.upload_bar)
        bars.addWidget(self.download_bar)

        self.params = KeyValueModel(("Parameter", "Value"))
        self.headers = KeyValueModel(("Header", "Value"))
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(KeyValueTable(self.params), "Params")
        self.tabs.addTab(KeyValueTable(self.headers), "Headers")
        for name in ("Body", "Auth", "Options"):  # built when first needed (start-up time)
            self.tabs.addTab(QWidget(), name)
        self._pages_built = False
        self.tabs.currentChanged.connect(lambda i: self._ensure_pages() if i >= 2 else None)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 0)
        lay.addLayout(top)
        lay.addLayout(bars)
        lay.addWidget(self.message)
        lay.addWidget(self.tabs, 1)
        self.message.hide()

        self.send_button.clicked.connect(self.sendRequested)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.url.returnPressed.connect(self.sendRequested)
        self.url.textChanged.connect(self._url_changed)
        self.url.curlPasted.connect(self.import_curl)
        self.params.edited.connect(self._params_edited)
        for sig in (self.headers.edited, self.method.currentTextChanged):
            sig.connect(self.changed)

    # -- pages ---------------------------------------------------------------------------------
    _LAZY = frozenset({"body_kind", "body_stack", "raw_type", "raw_edit", "raw_big", "json_edit", "json_big",
                       "json_status", "form",
                       "multipart", "binary_path", "auth_kind", "auth_user", "auth_password", "bearer_token",
                       "auth_note", "follow_redirects"})

    def __getattr__(self, name: str) -> Any:
        """The Body, Auth and Options pages' widgets: building them on first use."""
        if name in Composer._LAZY and not self.__dict__.get("_pages_built", True):
            self._ensure_pages()
            return getattr(self, name)
        raise AttributeError(name)

    def _ensure_pages(self) -> None:
        if self._pages_built:
            return
        from app.ui import composer_pages as pages

        self._pages_built = True
        current = self.tabs.currentIndex()
        self.tabs.blockSignals(True)
        try:
            for i, (name, build) in enumerate((("Body", pages.body_page), ("Auth", pages.auth_page),
                                              ("Options", pages.options_page)), start=2):
                old = self.tabs.widget(i)
                self.tabs.removeTab(i)
                self.tabs.insertTab(i, build(self), name)
                if old is not None:
                    old.deleteLater()
            self.tabs.setCurrentIndex(current)
        finally:
            self.tabs.blockSignals(False)
        for sig in (self.form.edited, self.multipart.edited, self.raw_edit.textChanged, self.json_edit.textChanged):
            sig.connect(self.changed)

    # -- URL ⇄ params --------------------------------------------------------------------------
    def _url_changed(self, text: str) -> None:
        if self._syncing:
            return
        if looks_like_curl(text):
            self.import_curl(text)
            return
        _, pairs, _ = split_url(text)
        disabled = [r for r in self.params.rows() if not r[-1]]
        self._syncing = True
        try:
            self.params.set_rows([(k, v, True) for k, v in pairs] + disabled)
        finally:
            self._syncing = False
        self.changed.emit()

    def _params_edited(self) -> None:
        if self._syncing:
            return
        base, _, frag = split_url(self.url.text())
        self._syncing = True
        try:
            pos = self.url.cursorPosition()
            self.url.setText(join_url(base, self.params.enabled_pairs(), frag))
            self.url.setCursorPosition(min(pos, len(self.url.text())))
        finally:
            self._syncing = False
        self.changed.emit()

    # -- curl --------------------------------------------------------------------------------------
    def import_curl(self, text: str) -> bool:
        """Load a curl command; on a parse error keep everything and say why."""
        from app.curl_import import CurlParseError, parse_curl
        from app.request_spec import spec_from_curl

        try:
            parsed = parse_curl(text)
        except CurlParseError as exc:
            self.show_message(f"Could not read the curl command: {exc}", error=True)
            self._syncing = True
            try:
                if looks_like_curl(self.url.text()):
                    self.url.undo()
            finally:
                self._syncing = False
            return False
        self.load(spec_from_curl(parsed))
        if parsed.warnings:
            self.show_message("Imported from curl. " + "; ".join(parsed.warnings))
        else:
            self.show_message("Imported from curl.")
        self.curlImported.emit(parsed.warnings)
        return True

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #d22;" if error else "")
        self.message.setVisible(bool(text))

    # -- spec in and out -----------------------------------------------------------------------
    def spec(self) -> RequestSpec:
        s = RequestSpec(method=self.method.currentText().strip() or "GET", url=self.url.text().strip())
        s.headers = [KeyValue(str(r[0]), str(r[1]), bool(r[-1])) for r in self.headers.rows()]
        if not self._pages_built:
            return s  # body, auth and options were never touched: the defaults
        s.body_kind = BodyKind(self.body_kind.currentData())
        s.raw_text = self.raw_big.text()
        s.raw_content_type = self.raw_type.currentText().strip()
        s.json_text = self.json_big.text()
        s.form = [KeyValue(str(r[0]), str(r[1]), bool(r[-1])) for r in self.form.rows()]
        s.multipart = [MultipartField(str(r[0]), str(r[1]), str(r[2]) or None, str(r[3]), bool(r[-1]))
                       for r in self.multipart.rows()]
        s.binary_path = self.binary_path.text().strip()
        s.auth_kind = AuthKind(self.auth_kind.currentData())
        s.auth_user = self.auth_user.text()
        s.auth_password = self.auth_password.text()
        s.bearer_token = self.bearer_token.text()
        s.follow_redirects = self.follow_redirects.isChecked()
        return s

    def load(self, s: RequestSpec) -> None:
        self._syncing = True
        try:
            self.method.setCurrentText(s.method)
            self.url.setText(s.url)
            _, pairs, _ = split_url(s.url)
            self.params.set_rows([(k, v, True) for k, v in pairs])
        finally:
            self._syncing = False
        self.headers.set_rows([(h.name, h.value, h.enabled) for h in s.headers])
        defaults = RequestSpec()
        if not self._pages_built and (s.body_kind, s.auth_kind, s.follow_redirects) == (
                defaults.body_kind, defaults.auth_kind, defaults.follow_redirects):
            self.changed.emit()
            return  # nothing for the unbuilt pages to show
        self.body_kind.setCurrentIndex([k for k, _ in BODY_KINDS].index(s.body_kind))
        self.raw_big.set_text(s.raw_text)  # a big body: a read-only preview, kept whole
        self.raw_type.setCurrentText(s.raw_content_type)
        self.json_big.set_text(s.json_text)
        self.form.set_rows([(f.name, f.value, f.enabled) for f in s.form])
        self.multipart.set_rows([(m.name, m.value, m.path or "", m.content_type, m.enabled) for m in s.multipart])
        self.binary_path.setText(s.binary_path)
        self.auth_kind.setCurrentIndex([k for k, _ in AUTH_KINDS].index(s.auth_kind))
        self.auth_user.setText(s.auth_user)
        self.auth_password.setText(s.auth_password)
        self.bearer_token.setText(s.bearer_token)
        self.follow_redirects.setChecked(s.follow_redirects)
        if s.body_kind is not BodyKind.NONE:
            self.tabs.setCurrentIndex(2)
        self.changed.emit()

    def title(self) -> str:
        """A short tab title: method and the URL's path."""
        url = self.url.text().strip()
        if not url:
            return "New request"
        rest = url.split("://", 1)[-1]
        path = rest[rest.find("/"):] if "/" in rest else rest
        path = path.split("?", 1)[0] or "/"
        if len(path) > 24:
            path = "…" + path[-23:]
        return f"{self.method.currentText().strip().upper() or 'GET'} {path}"

    # -- transfer state ------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
        if running:
            for bar in (self.upload_bar, self.download_bar):
                bar.setRange(0, 0)
                bar.setValue(0)
            has_body = self._pages_built and BodyKind(self.body_kind.currentData()) is not BodyKind.NONE
            self.upload_bar.setVisible(has_body)
            self.download_bar.show()
        else:
            self.upload_bar.hide()
            self.download_bar.hide()

    def set_progress(self, bar: QProgressBar, done: int, total: int) -> None:
        if total > 0:
            scale = 1 if total < 2**31 else 1024
            bar.setRange(0, total // scale)
            bar.setValue(done // scale)
        else:
            bar.setRange(0, 0)
