"""The request composer: method, URL (with a query table kept in step both ways), headers, body
editors, auth, options; Send and Cancel with upload/download progress. Pasting a curl command
into the URL field turns it into a request.

Signals: ``sendRequested()``, ``cancelRequested()``, ``changed()`` (any edit; the tab title follows),
``curlImported(list)`` (warnings from the parsed command, possibly empty).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QGuiApplication, QKeySequence, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.curl_import import CurlParseError, looks_like_curl, parse_curl
from app.request_spec import (
    AuthKind,
    BodyKind,
    KeyValue,
    MultipartField,
    RequestSpec,
    join_url,
    json_error,
    json_error_position,
    spec_from_curl,
    split_url,
)
from app.ui.kv_table import KeyValueModel, KeyValueTable

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
RAW_TYPES = ["text/plain", "application/json", "application/xml", "text/html", "text/csv",
             "application/x-ndjson", "application/graphql"]
BODY_KINDS = [(BodyKind.NONE, "None"), (BodyKind.RAW, "Raw text"), (BodyKind.JSON, "JSON"),
              (BodyKind.FORM, "Form (urlencoded)"), (BodyKind.MULTIPART, "Multipart"),
              (BodyKind.BINARY, "Binary file")]
AUTH_KINDS = [(AuthKind.NONE, "None"), (AuthKind.BASIC, "Basic"), (AuthKind.DIGEST, "Digest"),
              (AuthKind.BEARER, "Bearer token")]
BIG_JSON = 200_000  # characters: validate after a pause instead of on every key


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


class JsonEditor(QPlainTextEdit):
    """A JSON body editor that marks the first syntax error (red wavy underline + message)."""

    validityChanged = Signal(str)  # "" when valid, else "line L, column C: reason"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText('{"name": "value"}')
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.error = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self.validate)
        self.textChanged.connect(self._changed)

    def _changed(self) -> None:
        if self.document().characterCount() > BIG_JSON:
            self._timer.start()
        else:
            self.validate()

    def validate(self) -> None:
        text = self.toPlainText()
        err = json_error(text) or ""
        sels: list[QTextEdit.ExtraSelection] = []
        if err:
            pos = json_error_position(text) or 0
            sel = QTextEdit.ExtraSelection()
            fmt = QTextCharFormat()
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            fmt.setUnderlineColor(QColor(220, 30, 30))
            fmt.setBackground(QColor(255, 80, 80, 70))
            sel.format = fmt  # type: ignore[attr-defined]
            cur = QTextCursor(self.document())
            cur.setPosition(min(pos, max(0, len(text) - 1)))
            cur.movePosition(QTextCursor.MoveOperation.NextCharacter, QTextCursor.MoveMode.KeepAnchor)
            sel.cursor = cur  # type: ignore[attr-defined]
            sels.append(sel)
        self.setExtraSelections(sels)
        if err != self.error:
            self.error = err
            self.validityChanged.emit(err)


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
        self.tabs.addTab(self._body_page(), "Body")
        self.tabs.addTab(self._auth_page(), "Auth")
        self.tabs.addTab(self._options_page(), "Options")

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
        for sig in (self.headers.edited, self.form.edited, self.multipart.edited,
                    self.method.currentTextChanged, self.raw_edit.textChanged, self.json_edit.textChanged):
            sig.connect(self.changed)

    # -- pages ---------------------------------------------------------------------------------
    def _body_page(self) -> QWidget:
        page = QWidget()
        self.body_kind = QComboBox()
        for kind, label in BODY_KINDS:
            self.body_kind.addItem(label, kind.value)
        self.body_stack = QStackedWidget()
        self.body_stack.addWidget(QLabel("This request has no body."))
        raw = QWidget()
        self.raw_type = QComboBox()
        self.raw_type.setEditable(True)
        self.raw_type.addItems(RAW_TYPES)
        self.raw_edit = QPlainTextEdit()
        rl = QVBoxLayout(raw)
        rl.setContentsMargins(0, 0, 0, 0)
        rh = QHBoxLayout()
        rh.addWidget(QLabel("Content-Type:"))
        rh.addWidget(self.raw_type, 1)
        rl.addLayout(rh)
        rl.addWidget(self.raw_edit, 1)
        self.body_stack.addWidget(raw)
        js = QWidget()
        self.json_edit = JsonEditor()
        self.json_status = QLabel("Valid JSON")
        jl = QVBoxLayout(js)
        jl.setContentsMargins(0, 0, 0, 0)
        jl.addWidget(self.json_edit, 1)
        jl.addWidget(self.json_status)
        self.json_edit.validityChanged.connect(self._json_validity)
        self.body_stack.addWidget(js)
        self.form = KeyValueModel(("Field", "Value"))
        self.body_stack.addWidget(KeyValueTable(self.form))
        mp = QWidget()
        self.multipart = KeyValueModel(("Field", "Value", "File", "Content-Type"))
        add_file = QPushButton("Add file…")
        add_file.clicked.connect(self._add_multipart_file)
        ml = QVBoxLayout(mp)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.addWidget(KeyValueTable(self.multipart), 1)
        ml.addWidget(add_file, 0, Qt.AlignmentFlag.AlignLeft)
        self.body_stack.addWidget(mp)
        binw = QWidget()
        self.binary_path = QLineEdit()
        self.binary_path.setPlaceholderText("File sent as the body (streamed from disk)")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_binary)
        bl = QHBoxLayout(binw)
        bl.addWidget(self.binary_path, 1)
        bl.addWidget(browse)
        bwrap = QWidget()
        bwl = QVBoxLayout(bwrap)
        bwl.addWidget(binw)
        bwl.addStretch(1)
        self.body_stack.addWidget(bwrap)
        self.body_kind.currentIndexChanged.connect(self.body_stack.setCurrentIndex)
        self.body_kind.currentIndexChanged.connect(lambda _i: self.changed.emit())
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 4, 0, 0)
        lay.addWidget(self.body_kind, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.body_stack, 1)
        return page

    def _auth_page(self) -> QWidget:
        page = QWidget()
        self.auth_kind = QComboBox()
        for kind, label in AUTH_KINDS:
            self.auth_kind.addItem(label, kind.value)
        self.auth_user = QLineEdit()
        self.auth_password = QLineEdit()
        self.auth_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.bearer_token = QLineEdit()
        self.bearer_token.setEchoMode(QLineEdit.EchoMode.Password)
        self.auth_note = QLabel()
        self.auth_note.setWordWrap(True)
        form = QFormLayout(page)
        form.addRow("Type", self.auth_kind)
        form.addRow("User name", self.auth_user)
        form.addRow("Password", self.auth_password)
        form.addRow("Token", self.bearer_token)
        form.addRow(self.auth_note)
        self.auth_kind.currentIndexChanged.connect(self._auth_kind_changed)
        self._auth_kind_changed()
        return page

    def _options_page(self) -> QWidget:
        page = QWidget()
        self.follow_redirects = QCheckBox("Follow redirects")
        self.follow_redirects.setChecked(True)
        lay = QVBoxLayout(page)
        lay.addWidget(self.follow_redirects)
        lay.addStretch(1)
        return page

    def _auth_kind_changed(self, *_: Any) -> None:
        kind = AuthKind(self.auth_kind.currentData())
        user = kind in (AuthKind.BASIC, AuthKind.DIGEST)
        self.auth_user.setEnabled(user)
        self.auth_password.setEnabled(user)
        self.bearer_token.setEnabled(kind is AuthKind.BEARER)
        self.auth_note.setText({
            AuthKind.NONE: "No credentials are sent. A server that asks will raise the login dialog.",
            AuthKind.BASIC: "Sent with the first request as an Authorization header.",
            AuthKind.DIGEST: "Given to the server when it asks (Digest challenge).",
            AuthKind.BEARER: "Sent as “Authorization: Bearer …”.",
        }[kind] + " Secrets are never saved with the window state.")
        self.changed.emit()

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

    # -- body helpers --------------------------------------------------------------------------
    def _json_validity(self, err: str) -> None:
        self.json_status.setText(f"✗ {err}" if err else "Valid JSON")
        self.json_status.setStyleSheet("color: #d22;" if err else "")

    def _choose_binary(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "File to send as the body")
        if path:
            self.binary_path.setText(path)

    def _add_multipart_file(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Files to attach")
        for p in paths:
            self.multipart.append_row("file", "", p, "")

    # -- curl --------------------------------------------------------------------------------------
    def import_curl(self, text: str) -> bool:
        """Load a curl command; on a parse error keep everything and say why."""
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
        s.body_kind = BodyKind(self.body_kind.currentData())
        s.raw_text = self.raw_edit.toPlainText()
        s.raw_content_type = self.raw_type.currentText().strip()
        s.json_text = self.json_edit.toPlainText()
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
        self.body_kind.setCurrentIndex([k for k, _ in BODY_KINDS].index(s.body_kind))
        self.raw_edit.setPlainText(s.raw_text)
        self.raw_type.setCurrentText(s.raw_content_type)
        self.json_edit.setPlainText(s.json_text)
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
            self.upload_bar.setVisible(self.spec().body_kind is not BodyKind.NONE)
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
