"""The certificate-error dialog: what is wrong in plain words, the chain, and the user's decision.

Buttons: Cancel (the default: Enter or Esc never trusts by accident), Proceed once, Always trust
this certificate for this host. ``decision`` holds the choice after the dialog closes. Shown with
``open()``: no nested event loop.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.prompts import CertDecision, CertificateView, CertPrompt
from app.ui.dialog_look import TONES, headline, monospace, muted


def _date(d: dt.datetime) -> str:
    return d.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


class CertDialog(QDialog):
    def __init__(self, prompt: CertPrompt, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prompt = prompt
        self.decision = CertDecision.CANCEL
        where = f"{prompt.host}:{prompt.port}"
        self.setWindowTitle(f"Certificate problem — {where}")
        self.setObjectName("certDialog")
        self.resize(820, 520)

        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(44, 44))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        text.addWidget(headline(f"Courier could not verify the identity of {where}"))
        text.addWidget(muted("Someone could be impersonating the server, or the server is misconfigured. "
                             "Look at the certificate before you continue."))
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addLayout(text, 1)

        self.error_labels: list[QLabel] = []
        problems = QFrame()
        problems.setObjectName("problems")
        background, border = TONES["error"]
        problems.setStyleSheet(f"QFrame#problems {{ background: {background}; border: 1px solid {border};"
                               " border-radius: 5px; }")
        rows = QVBoxLayout(problems)
        rows.setContentsMargins(10, 8, 10, 8)
        rows.setSpacing(6)
        faint = self.palette().color(QPalette.ColorRole.PlaceholderText).name()
        for error in prompt.errors:
            label = QLabel(f"• <b>{_esc(prompt.explain(error))}</b>&nbsp;&nbsp;<span style='font-family: monospace;"
                           f" color: {faint}'>{_esc(error.name)}</span>")
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            if error.detail and error.detail != error.text:
                label.setToolTip(error.detail)
            self.error_labels.append(label)
            rows.addWidget(label)

        # The chain as a hierarchy, root at the top and the server's certificate selected.
        self.chain = QTreeWidget()
        self.chain.setObjectName("chain")
        self.chain.setHeaderHidden(True)
        self.chain.setColumnCount(2)
        self.chain_items: list[QTreeWidgetItem] = []  # leaf first, like prompt.chain
        parent_item: QTreeWidgetItem | None = None
        last = len(prompt.chain) - 1
        for depth in range(last, -1, -1):
            cert = prompt.chain[depth]
            role = "server" if depth == 0 else ("root CA" if cert.self_signed else "intermediate CA")
            item = QTreeWidgetItem([cert.short_name, role])
            item.setToolTip(0, cert.subject)
            item.setData(0, Qt.ItemDataRole.UserRole, depth)
            if cert.validity_problem() is not None or (depth == 0 and prompt.errors):
                item.setIcon(0, self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
            if parent_item is None:
                self.chain.addTopLevelItem(item)
            else:
                parent_item.addChild(item)
            parent_item = item
            self.chain_items.insert(0, item)
        self.chain.expandAll()
        self.chain.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.chain.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.chain.header().setStretchLastSection(False)
        self.chain.setMinimumWidth(240)
        self.details = _CertDetails()
        self.chain.currentItemChanged.connect(
            lambda item, _old: self._show_certificate(item.data(0, Qt.ItemDataRole.UserRole) if item else -1))
        split = QSplitter()
        split.addWidget(self.chain)
        split.addWidget(self.details)
        split.setStretchFactor(1, 1)
        split.setSizes([300, 500])
        chain_box = QGroupBox("Certificate chain")
        chain_lay = QVBoxLayout(chain_box)
        chain_lay.addWidget(split)

        self.buttons = QDialogButtonBox()
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.once_button = QPushButton("Proceed once")
        self.once_button.setToolTip("Accept this certificate, with these problems, until Courier closes; "
                                    "it asks again after a restart.")
        self.always_button = QPushButton("Always trust this certificate for this host")
        self.always_button.setToolTip(f"Remember this exact certificate (SHA-256 fingerprint) for {where}. "
                                      "A different certificate asks again. Revoke it in Settings.")
        for b in (self.once_button, self.always_button):
            b.setAutoDefault(False)
            self.buttons.addButton(b, QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_button.setDefault(True)
        self.cancel_button.setFocus()
        self.once_button.clicked.connect(lambda: self._decide(CertDecision.ONCE))
        self.always_button.clicked.connect(lambda: self._decide(CertDecision.ALWAYS))
        self.buttons.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(problems)
        lay.addWidget(chain_box, 1)
        lay.addWidget(self.buttons)
        if self.chain_items:
            self.chain.setCurrentItem(self.chain_items[0])

    def _decide(self, decision: CertDecision) -> None:
        self.decision = decision
        self.accept()

    def reject(self) -> None:
        self.decision = CertDecision.CANCEL
        super().reject()

    def _show_certificate(self, row: int) -> None:
        if 0 <= row < len(self.prompt.chain):
            self.details.show_certificate(self.prompt.chain[row])


class _CertDetails(QWidget):
    """Subject, issuer, validity, SANs, key and SHA-256 fingerprint of one certificate."""

    def __init__(self) -> None:
        super().__init__()
        form = QFormLayout(self)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.fields: dict[str, QLabel] = {}
        for name in ("Subject", "Issuer", "Valid from", "Valid until", "Alternative names", "Public key",
                     "Serial number", "SHA-256"):
            label = QLabel()
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[name] = label
            form.addRow(f"{name}:", label)
        self.fields["SHA-256"].setFont(monospace())
        self.fields["Serial number"].setFont(monospace())

    def show_certificate(self, cert: CertificateView) -> None:
        f = self.fields
        f["Subject"].setText(cert.subject)
        f["Issuer"].setText(cert.issuer + ("  (self-signed)" if cert.self_signed else ""))
        f["Valid from"].setText(_date(cert.not_before))
        problem = cert.validity_problem()
        until = _date(cert.not_after)
        f["Valid until"].setText(f"{until} — <b style='color:#d9534f'>{problem}</b>" if problem else until)
        f["Alternative names"].setText(", ".join(cert.sans) or "(none)")
        f["Public key"].setText(cert.key or "—")
        f["Serial number"].setText(cert.serial or "—")
        # Two lines of 16 bytes read better than one 95-character line.
        parts = cert.sha256.split(":")
        f["SHA-256"].setText(":".join(parts[:16]) + ("\n" + ":".join(parts[16:]) if len(parts) > 16 else ""))


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
