"""The authentication dialog (server 401 and proxy 407): who asks, for what, and the credentials.

Shown with ``open()`` (window-modal, no nested event loop); ``accepted``/``rejected`` tell the
caller. "Remember in the system keyring" is off and disabled, with the reason, when no keyring
works.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.prompts import AuthPrompt
from app.secrets import Credential
from app.ui.dialog_look import banner, headline, muted


class AuthDialog(QDialog):
    def __init__(self, prompt: AuthPrompt, keyring_problem: str | None = None,
                 remembered: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prompt = prompt
        where = f"{prompt.host}:{prompt.port}"
        self.setWindowTitle("Proxy authentication required" if prompt.proxy else "Authentication required")
        self.setObjectName("authDialog")
        self.setMinimumWidth(480)

        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxQuestion).pixmap(40, 40))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        who = f"The proxy {where}" if prompt.proxy else where
        title = headline(f"{who} asks you to sign in")
        sub = muted(f"for {prompt.url}" if prompt.url else "")
        sub.setVisible(bool(prompt.url))
        top_text = QVBoxLayout()
        top_text.addWidget(title)
        top_text.addWidget(sub)
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addLayout(top_text, 1)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.realm_label = QLabel(f"“{prompt.realm}”" if prompt.realm else "(none given)")
        self.realm_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.scheme_label = QLabel(prompt.scheme)
        form.addRow("Realm:", self.realm_label)
        form.addRow("Scheme:", self.scheme_label)

        self.failed_banner = banner("The user name or password was rejected. Check them and try again.", "error")
        self.failed_banner.setVisible(prompt.previous_failed)
        self.cleartext_banner = banner(
            "Basic authentication over plain HTTP: the password travels unencrypted.", "warning")
        self.cleartext_banner.setVisible(prompt.cleartext_password)
        form.addRow(self.failed_banner)
        form.addRow(self.cleartext_banner)

        self.user = QLineEdit(prompt.previous_user)
        self.user.setPlaceholderText("user name")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("password")
        self.show_password = QAction(QIcon.fromTheme("view-reveal-symbolic"), "Show", self)
        self.show_password.setCheckable(True)
        self.show_password.toggled.connect(
            lambda on: self.password.setEchoMode(QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password))
        self.password.addAction(self.show_password, QLineEdit.ActionPosition.TrailingPosition)
        form.addRow("User name:", self.user)
        form.addRow("Password:", self.password)

        self.remember = QCheckBox("Remember in the system keyring")
        self.keyring_note = muted("")
        self.keyring_note.setWordWrap(True)
        self.set_keyring_problem(keyring_problem, remembered)

        self.buttons = QDialogButtonBox()
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.addButton("Sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        form.addRow("", self.remember)
        form.addRow("", self.keyring_note)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addSpacing(6)
        lay.addLayout(form)
        lay.addSpacing(6)
        lay.addWidget(self.buttons)
        (self.password if prompt.previous_user else self.user).setFocus()

    def set_keyring_problem(self, problem: str | None, remembered: bool = False) -> None:
        """``problem``: why no keyring works (remembering is then off); None when it works."""
        self.keyring_problem = problem
        self.remember.setEnabled(problem is None)
        self.remember.setChecked(problem is None and remembered)
        self.keyring_note.setText(problem or "")
        self.keyring_note.setVisible(problem is not None)
        if problem is not None:
            self.keyring_note.setProperty("tone", "warning")

    def credential(self) -> Credential:
        return Credential(self.user.text(), self.password.text())

    @property
    def remember_requested(self) -> bool:
        return self.keyring_problem is None and self.remember.isChecked()
