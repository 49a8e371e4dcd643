"""Asks for a TLS pre-shared key (QNAM's ``preSharedKeyAuthenticationRequired``): the server's
identity hint, an identity and the key in hexadecimal. The key is never shown in clear nor kept on
disk; the core keeps it for the rest of the session for that host and port.

``answer`` is ``(identity, key bytes)`` after OK, else ``None``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.prompts import PskPrompt, parse_psk_key
from app.ui.dialog_look import banner, headline, muted


class PskDialog(QDialog):
    def __init__(self, prompt: PskPrompt, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prompt = prompt
        self.answer: tuple[str, bytes] | None = None
        self.setWindowTitle("Pre-shared key — Courier")
        self.setObjectName("pskDialog")
        self.setMinimumWidth(480)
        lay = QVBoxLayout(self)
        lay.addWidget(headline(f"{prompt.host}:{prompt.port} asks for a pre-shared key"))
        lay.addWidget(muted("TLS with a pre-shared key (PSK) instead of a certificate. Courier keeps the key "
                            "in memory until it closes; it is not saved."))
        if prompt.attempt > 1:
            lay.addWidget(banner("The server did not accept the previous identity or key.", "error"))
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        hint = QLabel(prompt.identity_hint if prompt.identity_hint else "(none offered)")
        hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.identity = QLineEdit(prompt.identity_hint or "")
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("hexadecimal, e.g. 00112233445566778899aabbccddeeff")
        self.problem = QLabel("")
        self.problem.setStyleSheet("color: #d22;")
        form.addRow("Server's identity hint:", hint)
        form.addRow("Identity:", self.identity)
        form.addRow("Key:", self.key)
        form.addRow("", self.problem)
        lay.addLayout(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.key.textChanged.connect(self._check)
        self.identity.textChanged.connect(self._check)
        self._check()
        (self.key if self.identity.text() else self.identity).setFocus()

    def _check(self) -> None:
        problem = ""
        if not self.identity.text().strip():
            problem = "Type the identity the server knows you by."
        elif self.key.text():
            try:
                parse_psk_key(self.key.text())
            except ValueError as exc:
                problem = str(exc)
        self.problem.setText(problem)
        self.ok_button.setEnabled(not problem and bool(self.key.text()))

    def accept(self) -> None:
        try:
            key = parse_psk_key(self.key.text())
        except ValueError as exc:
            self.problem.setText(str(exc))
            return
        self.answer = (self.identity.text().strip(), key)
        self.key.clear()
        super().accept()
