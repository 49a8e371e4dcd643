"""The composer's Body, Auth and Options pages and the JSON editor, built when first needed.

Kept apart from ``composer.py`` so the window's start does not pay for widgets nobody has looked
at yet (each Qt class touched from Python costs its enum set at first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.request_spec import AuthKind, json_error, json_error_position
from app.ui.kv_table import KeyValueModel, KeyValueTable

if TYPE_CHECKING:
    from app.ui.composer import Composer

from app.ui.composer import AUTH_KINDS, BODY_KINDS

RAW_TYPES = ["text/plain", "application/json", "application/xml", "text/html", "text/csv",
             "application/x-ndjson", "application/graphql"]
BIG_JSON = 200_000  # characters: validate after a pause instead of on every key
BIG_EDIT = 256 * 1024  # characters: a longer body is not laid out in an editor (5 MiB on one line: 2+ s)
PREVIEW = 64 * 1024  # characters of a big body shown, read-only


class BigBodyBanner(QWidget):
    """Above a body editor: says that the body is too big to edit comfortably and that the editor
    shows only its beginning; "Edit here anyway" loads it whole. The body itself is kept aside whole
    (``full_text``) and sent whole."""

    def __init__(self, edit: QPlainTextEdit) -> None:
        super().__init__()
        self.edit = edit
        self.full_text: str | None = None
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.button = QPushButton("Edit here anyway")
        self.button.setToolTip("Loads the whole body into the editor: the window may stop for a few seconds")
        self.button.clicked.connect(self.edit_anyway)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.button)
        self.hide()

    def set_text(self, text: str) -> None:
        if len(text) <= BIG_EDIT:
            self._show_whole(text)
            return
        self.full_text = text
        if isinstance(self.edit, JsonEditor):
            self.edit.full_text = text
        self.edit.setReadOnly(True)
        self.edit.setPlainText(text[:PREVIEW])
        size = len(text.encode("utf-8", "surrogatepass"))
        self.label.setText(f"This body is {size / 2**20:.1f} MiB: the editor shows its first {PREVIEW // 1024} KiB, "
                           "read-only, so that the window stays responsive. It is sent and saved whole.")
        self.show()

    def text(self) -> str:
        return self.full_text if self.full_text is not None else self.edit.toPlainText()

    def edit_anyway(self) -> None:
        if self.full_text is not None:
            self._show_whole(self.full_text)

    def _show_whole(self, text: str) -> None:
        self.full_text = None
        if isinstance(self.edit, JsonEditor):
            self.edit.full_text = None
        self.edit.setReadOnly(False)
        self.hide()
        self.edit.setPlainText(text)


class JsonEditor(QPlainTextEdit):
    """A JSON body editor that marks the first syntax error (red wavy underline + message)."""

    validityChanged = Signal(str)  # "" when valid, else "line L, column C: reason"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText('{"name": "value"}')
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.error = ""
        self.full_text: str | None = None  # a body too big to edit: the editor shows its beginning
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
        text = self.full_text if self.full_text is not None else self.toPlainText()
        err = json_error(text) or ""
        sels: list[QTextEdit.ExtraSelection] = []
        if err and self.full_text is None:
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


def body_page(c: Composer) -> QWidget:
    page = QWidget()
    c.body_kind = QComboBox()
    for kind, label in BODY_KINDS:
        c.body_kind.addItem(label, kind.value)
    c.body_stack = QStackedWidget()
    c.body_stack.addWidget(QLabel("This request has no body."))
    raw = QWidget()
    c.raw_type = QComboBox()
    c.raw_type.setEditable(True)
    c.raw_type.addItems(RAW_TYPES)
    c.raw_edit = QPlainTextEdit()
    c.raw_big = BigBodyBanner(c.raw_edit)
    rl = QVBoxLayout(raw)
    rl.setContentsMargins(0, 0, 0, 0)
    rh = QHBoxLayout()
    rh.addWidget(QLabel("Content-Type:"))
    rh.addWidget(c.raw_type, 1)
    rl.addLayout(rh)
    rl.addWidget(c.raw_big)
    rl.addWidget(c.raw_edit, 1)
    c.body_stack.addWidget(raw)
    js = QWidget()
    c.json_edit = JsonEditor()
    c.json_big = BigBodyBanner(c.json_edit)
    c.json_status = QLabel("Valid JSON")
    jl = QVBoxLayout(js)
    jl.setContentsMargins(0, 0, 0, 0)
    jl.addWidget(c.json_big)
    jl.addWidget(c.json_edit, 1)
    jl.addWidget(c.json_status)
    c.json_edit.validityChanged.connect(lambda err: json_validity(c, err))
    c.body_stack.addWidget(js)
    c.form = KeyValueModel(("Field", "Value"))
    c.body_stack.addWidget(KeyValueTable(c.form))
    mp = QWidget()
    c.multipart = KeyValueModel(("Field", "Value", "File", "Content-Type"))
    add_file = QPushButton("Add file…")
    add_file.clicked.connect(lambda: add_multipart_file(c))
    ml = QVBoxLayout(mp)
    ml.setContentsMargins(0, 0, 0, 0)
    ml.addWidget(KeyValueTable(c.multipart), 1)
    ml.addWidget(add_file, 0, Qt.AlignmentFlag.AlignLeft)
    c.body_stack.addWidget(mp)
    binw = QWidget()
    c.binary_path = QLineEdit()
    c.binary_path.setPlaceholderText("File sent as the body (streamed from disk)")
    browse = QPushButton("Choose…")
    browse.clicked.connect(lambda: choose_binary(c))
    bl = QHBoxLayout(binw)
    bl.addWidget(c.binary_path, 1)
    bl.addWidget(browse)
    bwrap = QWidget()
    bwl = QVBoxLayout(bwrap)
    bwl.addWidget(binw)
    bwl.addStretch(1)
    c.body_stack.addWidget(bwrap)
    c.body_kind.currentIndexChanged.connect(c.body_stack.setCurrentIndex)
    c.body_kind.currentIndexChanged.connect(lambda _i: c.changed.emit())
    lay = QVBoxLayout(page)
    lay.setContentsMargins(0, 4, 0, 0)
    lay.addWidget(c.body_kind, 0, Qt.AlignmentFlag.AlignLeft)
    lay.addWidget(c.body_stack, 1)
    return page

def auth_page(c: Composer) -> QWidget:
    page = QWidget()
    c.auth_kind = QComboBox()
    for kind, label in AUTH_KINDS:
        c.auth_kind.addItem(label, kind.value)
    c.auth_user = QLineEdit()
    c.auth_password = QLineEdit()
    c.auth_password.setEchoMode(QLineEdit.EchoMode.Password)
    c.bearer_token = QLineEdit()
    c.bearer_token.setEchoMode(QLineEdit.EchoMode.Password)
    c.auth_note = QLabel()
    c.auth_note.setWordWrap(True)
    form = QFormLayout(page)
    form.addRow("Type", c.auth_kind)
    form.addRow("User name", c.auth_user)
    form.addRow("Password", c.auth_password)
    form.addRow("Token", c.bearer_token)
    form.addRow(c.auth_note)
    c.auth_kind.currentIndexChanged.connect(lambda _i: auth_kind_changed(c))
    auth_kind_changed(c)
    return page

def options_page(c: Composer) -> QWidget:
    page = QWidget()
    c.follow_redirects = QCheckBox("Follow redirects")
    c.follow_redirects.setChecked(True)
    lay = QVBoxLayout(page)
    lay.addWidget(c.follow_redirects)
    lay.addStretch(1)
    return page

def auth_kind_changed(c: Composer) -> None:
    kind = AuthKind(c.auth_kind.currentData())
    user = kind in (AuthKind.BASIC, AuthKind.DIGEST)
    c.auth_user.setEnabled(user)
    c.auth_password.setEnabled(user)
    c.bearer_token.setEnabled(kind is AuthKind.BEARER)
    c.auth_note.setText({
        AuthKind.NONE: "No credentials are sent. A server that asks will raise the login dialog.",
        AuthKind.BASIC: "Sent with the first request as an Authorization header.",
        AuthKind.DIGEST: "Given to the server when it asks (Digest challenge).",
        AuthKind.BEARER: "Sent as “Authorization: Bearer …”.",
    }[kind] + " Secrets are never saved with the window state.")
    c.changed.emit()


def json_validity(c: Composer, err: str) -> None:
    c.json_status.setText(f"✗ {err}" if err else "Valid JSON")
    c.json_status.setStyleSheet("color: #d22;" if err else "")

def choose_binary(c: Composer) -> None:
    path, _ = QFileDialog.getOpenFileName(c, "File to send as the body")
    if path:
        c.binary_path.setText(path)

def add_multipart_file(c: Composer) -> None:
    paths, _ = QFileDialog.getOpenFileNames(c, "Files to attach")
    for p in paths:
        c.multipart.append_row("file", "", p, "")
