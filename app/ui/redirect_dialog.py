"""Asks before following a redirect (the "ask me" redirect policy): where from, where to, and why care.

"Stop here" is the default: Enter or Esc never follows by accident. ``follow`` holds the choice.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from app.prompts import RedirectPrompt
from app.ui.dialog_look import banner, headline, muted


class RedirectDialog(QDialog):
    def __init__(self, prompt: RedirectPrompt, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prompt = prompt
        self.follow = False
        self.setWindowTitle("Follow the redirect?")
        self.setObjectName("redirectDialog")
        self.setMinimumWidth(520)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        for label, text in (("From:", prompt.source), ("To:", prompt.target),
                            ("Status:", f"{prompt.status} — {prompt.method} request")):
            value = QLabel(text)
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(label, value)
        lay = QVBoxLayout(self)
        lay.addWidget(headline("The server redirects this request"))
        lay.addWidget(muted("Your redirect policy asks before following. Stopping shows the 3xx reply."))
        lay.addLayout(form)
        if prompt.cross_origin:
            lay.addWidget(banner("The target is on another origin: Authorization and Cookie headers set on "
                                 "the request are not sent there.", "info"))
        if prompt.downgrade:
            lay.addWidget(banner("The target is plain http: the rest of the exchange is not encrypted.", "warning"))
        self.buttons = QDialogButtonBox()
        self.stop_button = self.buttons.addButton("Stop here", QDialogButtonBox.ButtonRole.RejectRole)
        self.follow_button = self.buttons.addButton("Follow", QDialogButtonBox.ButtonRole.AcceptRole)
        self.follow_button.setAutoDefault(False)
        self.stop_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

    def accept(self) -> None:
        self.follow = True
        super().accept()
