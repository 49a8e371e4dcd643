"""The first window: method, URL, Send; the reply's status, headers and body."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.bridge import QtNetworkManager, QtReply
from core.errors import NetworkError

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
PREVIEW_LIMIT = 2 * 1024 * 1024


class MainWindow(QMainWindow):
    def __init__(self, manager: QtNetworkManager) -> None:
        super().__init__()
        self.manager = manager
        self.setWindowTitle("Courier")
        self.resize(1100, 720)
        self.method = QComboBox()
        self.method.setEditable(True)
        self.method.addItems(METHODS)
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://example.org/api  (Ctrl+L)")
        self.send_button = QPushButton("Send")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.body_edit = QPlainTextEdit()
        self.body_edit.setPlaceholderText("Request body")
        self.status = QLabel("Ready")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.headers_view = QPlainTextEdit()
        self.headers_view.setReadOnly(True)
        self.body_view = QPlainTextEdit()
        self.body_view.setReadOnly(True)

        top = QHBoxLayout()
        top.addWidget(self.method)
        top.addWidget(self.url, 1)
        top.addWidget(self.send_button)
        top.addWidget(self.cancel_button)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.body_edit)
        split.addWidget(self.headers_view)
        split.addWidget(self.body_view)
        lay = QVBoxLayout()
        lay.addLayout(top)
        lay.addWidget(self.status)
        lay.addWidget(split, 1)
        central = QWidget()
        central.setLayout(lay)
        self.setCentralWidget(central)

        self.send_button.clicked.connect(self.send)
        self.cancel_button.clicked.connect(self.cancel)
        self.url.returnPressed.connect(self.send)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.send)
        QShortcut(QKeySequence("Escape"), self, self.cancel)
        QShortcut(QKeySequence("Ctrl+L"), self, self.url.setFocus)
        self.current: QtReply | None = None

    def send(self) -> None:
        url = self.url.text().strip()
        if not url:
            self.status.setText("Enter a URL")
            return
        if "://" not in url and not url.startswith(("data:", "file:")):
            url = "http://" + url
        method = self.method.currentText().strip().upper() or "GET"
        body = self.body_edit.toPlainText().encode() if method not in ("GET", "HEAD") else None
        self.status.setText(f"{method} {url} …")
        self.headers_view.clear()
        self.body_view.clear()
        reply = self.manager.send(method, url, body or None)
        self.current = reply
        self.cancel_button.setEnabled(True)
        reply.finished.connect(lambda r=reply: self._show(r))

    def cancel(self) -> None:
        if self.current is not None:
            self.current.abort()

    def _show(self, reply: QtReply) -> None:
        if reply is not self.current:
            return  # a stale reply: the user sent another request since
        self.cancel_button.setEnabled(False)
        r = reply.core
        total = r.timings.total or 0.0
        if r.error is NetworkError.NoError or r.status is not None:
            line = f"{r.http_version or ''} {r.status} {r.reason}  ·  {r.bytes_received} bytes  ·  {total * 1000:.1f} ms"
            if r.error is not NetworkError.NoError:
                line += f"  ·  {r.error.name}"
        else:
            line = f"{r.error.name}: {r.error_string}"
        self.status.setText(line)
        self.headers_view.setPlainText("\n".join(f"{k}: {v}" for k, v in r.headers))
        data = r.body.read_at(0, PREVIEW_LIMIT)
        text = data.decode("utf-8", errors="replace")
        if r.body.size > PREVIEW_LIMIT:
            text += f"\n… ({r.body.size - PREVIEW_LIMIT} more bytes)"
        self.body_view.setPlainText(text)

    def closeEvent(self, event: object) -> None:
        self.manager.close()
        super().closeEvent(event)  # type: ignore[arg-type]
