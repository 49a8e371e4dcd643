"""Wires the dialogs into the running app: questions → dialogs, the settings page, applying settings.

``Dialogs`` owns the question bridge and router for one manager, applies the user's settings to the
core at start and after every change, and opens the settings page. Everything slow (keyring,
files) runs on the context's worker; the core's knobs are set on the network thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QWidget

from app.apply_settings import ApplyResult, apply_settings
from app.bridge import QtNetworkManager
from app.prompts import CertExceptionSource
from app.question_adapters import cert_exception_source, register_core_questions
from app.question_router import QuestionRouter
from app.questions_bridge import QuestionsBridge
from app.secrets import INDEX_FILE, Credential, CredentialKey, SecretStore
from app.settings import Settings, SettingsFile, data_dir, http_cache_dir, remove_stale_temp_files
from app.worker import Worker

if TYPE_CHECKING:  # the settings page is imported when first opened (~1.3 MB at idle otherwise)
    from app.ui.settings_dialog import SettingsDialog


class AppContext:
    """What the app's parts share, passed explicitly: data directory, settings, keyring, worker."""

    def __init__(self, directory: Path | None = None, keyring_backend: Any = None) -> None:
        self.data_dir = directory or data_dir()
        remove_stale_temp_files(self.data_dir)  # left by a save that a crash interrupted
        self.cache_dir = directory / "http-cache" if directory is not None else http_cache_dir()
        self.settings_file = SettingsFile.in_data_dir(self.data_dir)
        self.settings: Settings = self.settings_file.load()  # one small file, read once at start
        self.store = SecretStore(self.data_dir / INDEX_FILE, keyring_backend)
        self.worker = Worker()

    def close(self) -> None:
        self.worker.shutdown()


class Dialogs(QObject):
    """Signals: ``notice(str)`` — a message for the status bar; ``settings_applied(ApplyResult)``."""

    notice = Signal(str)
    settings_applied = Signal(object)

    def __init__(self, context: AppContext, manager: QtNetworkManager, window: QWidget | None = None) -> None:
        super().__init__(window)
        self.context, self.manager, self.window = context, manager, window
        self.bridge = QuestionsBridge(manager)
        self.router = QuestionRouter(self.bridge, context.worker, context.store, window)
        register_core_questions(self.router)
        self.exceptions: CertExceptionSource | None = cert_exception_source(manager)
        self.router.notice.connect(self.notice)
        context.worker.failed.connect(self.notice)
        self.applied = ApplyResult()
        self.settings_dialog: SettingsDialog | None = None
        for note in context.settings_file.notes:
            self.notice.emit(note)
        self.apply()

    def apply(self) -> ApplyResult:
        ctx, core = self.context, self.manager.core
        settings, where, store, cache = ctx.settings, ctx.data_dir, ctx.store, ctx.cache_dir
        self.applied = self.manager.thread.run_sync(lambda: apply_settings(settings, core, where, store, cache))
        for note in self.applied.notes:
            self.notice.emit(note)
        self.settings_applied.emit(self.applied)
        return self.applied

    def open_settings(self) -> SettingsDialog:
        if self.settings_dialog is not None:
            self.settings_dialog.raise_()
            return self.settings_dialog
        from app.ui.settings_dialog import SettingsDialog

        ctx = self.context
        dialog = SettingsDialog(ctx.settings, ctx.worker, ctx.store, self.exceptions,
                                stored_only=self.applied.stored_only, parent=self.window,
                                cookies=CoreCookies(self.manager))
        dialog.finished.connect(lambda result: self._settings_done(dialog, result))
        self.settings_dialog = dialog
        dialog.open()
        return dialog

    def _settings_done(self, dialog: SettingsDialog, result: int) -> None:
        self.settings_dialog = None
        dialog.deleteLater()
        if result != QDialog.DialogCode.Accepted:
            return
        ctx = self.context
        before = ctx.settings
        ctx.settings = dialog.settings()
        ctx.worker.run(ctx.settings_file.save, ctx.settings)
        password = dialog.typed_proxy_password()
        if password is not None:
            key = dialog.proxy_key()
            if password:
                ctx.worker.run(ctx.store.remember, key, Credential(ctx.settings.proxy_user, password))
            else:
                ctx.worker.run(ctx.store.forget, key)
        for (host, path), secret in dialog.client_cert_passwords.items():
            ctx.worker.run(ctx.store.remember, CredentialKey.for_client_certificate(host, path), Credential("", secret))
        kept = {(c.host, c.cert_file) for c in ctx.settings.client_certificates}
        for c in before.client_certificates:
            if (c.host, c.cert_file) not in kept and c.cert_file.lower().endswith((".p12", ".pfx")):
                ctx.worker.run(ctx.store.forget, CredentialKey.for_client_certificate(c.host, c.cert_file))
        if dialog.client_cert_passwords:
            # The core reads a PKCS#12 password when it builds a context: apply once it is stored.
            ctx.worker.run(lambda: None, on_done=lambda _f: self.apply())
        else:
            self.apply()

    def close(self) -> None:
        self.bridge.close()


class CoreCookies:
    """The core's cookie jar for the settings page; each call runs on the network thread (sub-ms)."""

    def __init__(self, manager: QtNetworkManager) -> None:
        self.manager = manager

    def list_cookies(self) -> list[Any]:
        core = self.manager.core
        return self.manager.thread.run_sync(lambda: core.cookie_jar.all_cookies())

    def delete(self, cookies: list[Any]) -> None:
        core = self.manager.core
        self.manager.thread.run_sync(lambda: [core.cookie_jar.delete_cookie(c) for c in cookies])

    def clear(self) -> None:
        core = self.manager.core
        self.manager.thread.run_sync(lambda: core.cookie_jar.clear())


def install_dialogs(context: AppContext, manager: QtNetworkManager, window: QWidget) -> Dialogs:
    """Answer the core's questions with dialogs over ``window`` and add Settings… (Ctrl+,) to it."""
    from PySide6.QtGui import QAction, QKeySequence
    from PySide6.QtWidgets import QMainWindow, QMenu

    dialogs = Dialogs(context, manager, window)
    action = QAction("Settings…", window)
    action.setObjectName("openSettings")
    preferences = QKeySequence(QKeySequence.StandardKey.Preferences)
    action.setShortcut(QKeySequence("Ctrl+,") if preferences.isEmpty() else preferences)
    action.setMenuRole(QAction.MenuRole.PreferencesRole)
    action.triggered.connect(dialogs.open_settings)
    window.addAction(action)
    if isinstance(window, QMainWindow):
        bar = window.menuBar()
        tools = next((a.menu() for a in bar.actions() if a.text().replace("&", "") == "Tools"), None)
        if not isinstance(tools, QMenu):
            tools = bar.addMenu("&Tools")
        tools.addAction(action)
        dialogs.notice.connect(lambda text: window.statusBar().showMessage(text, 15000))
    return dialogs
