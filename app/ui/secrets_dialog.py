"""Enter the values of a collection's secret variables (they go to the keyring, never to a file).

One password field per secret variable of the collection and of the chosen environment; a field
left empty keeps the stored value; "Forget" deletes it. A keyring that does not work is said so.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.collections import Collection, Environment, SecretStore, SecretsUnavailable
from app.collections.secrets import COLLECTION_SCOPE, env_scope, secret_key


class SecretsDialog(QDialog):
    def __init__(self, collection: Collection, environment: Environment | None, secrets: SecretStore,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Secret values")
        self.collection, self.secrets = collection, secrets
        self.fields: dict[str, QLineEdit] = {}  # keyring key → field
        self.states: dict[str, QLabel] = {}
        self.message = QLabel("Values are kept in the system keyring; the collection's files hold only the names.")
        self.message.setWordWrap(True)
        form = QFormLayout()
        scopes = [(COLLECTION_SCOPE, "collection", collection.variables)]
        if environment is not None:
            scopes.append((env_scope(environment.name), environment.name, environment.variables))
        for scope, label, variables in scopes:
            for v in variables:
                if not v.secret:
                    continue
                key = secret_key(collection.id, scope, v.name)
                edit = QLineEdit()
                edit.setEchoMode(QLineEdit.EchoMode.Password)
                state = QLabel()
                forget = QPushButton("Forget")
                forget.clicked.connect(lambda _c=False, k=key: self.forget(k))
                row = QHBoxLayout()
                row.addWidget(edit, 1)
                row.addWidget(state)
                row.addWidget(forget)
                form.addRow(f"{v.name} ({label})", row)
                self.fields[key], self.states[key] = edit, state
        if not self.fields:
            form.addRow(QLabel("This collection has no secret variables. Mark a variable "
                               "{ name = \"token\", secret = true } in collection.toml or an environment."))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.message)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self.refresh()

    def refresh(self) -> None:
        for key, label in self.states.items():
            try:
                label.setText("set" if self.secrets.get(key) is not None else "not set")
            except SecretsUnavailable as exc:
                self.message.setText(str(exc))
                label.setText("?")

    def save(self) -> bool:
        try:
            for key, edit in self.fields.items():
                if edit.text():
                    self.secrets.set(key, edit.text())
                    edit.clear()
        except SecretsUnavailable as exc:
            self.message.setText(str(exc))
            return False
        self.refresh()
        self.accept()
        return True

    def forget(self, key: str) -> None:
        try:
            self.secrets.delete(key)
        except SecretsUnavailable as exc:
            self.message.setText(str(exc))
        self.refresh()
