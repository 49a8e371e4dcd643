"""Routes each question from the core to its answer: remembered credentials, or a dialog.

Credentials: a remembered password (system keyring, looked up on the worker thread) answers the
question without any dialog. The dialog comes back only when those credentials were rejected —
the question says the previous attempt failed, or we already filled this protection space for
this request once. Parallel requests that ask for the same protection space share one dialog.
Certificate errors and redirects to confirm always ask. A question of a type nobody handles is refused at once, so no
request ever waits for an answer that cannot come.

Signals: ``notice(str)`` — something the user should know (e.g. the keyring refused a password);
``dialog_opened(QDialog)`` — a dialog was shown (tests and the main window use it).
"""

from __future__ import annotations

import concurrent.futures
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QWidget

from app.prompts import AuthPrompt, CertDecision, CertPrompt, PskPrompt, RedirectPrompt
from app.questions_bridge import QuestionsBridge
from app.secrets import Credential, CredentialKey, KeyringUnavailable, SecretStore
from app.ui.auth_dialog import AuthDialog
from app.ui.cert_dialog import CertDialog
from app.ui.psk_dialog import PskDialog
from app.ui.redirect_dialog import RedirectDialog
from app.worker import Worker
from core.questions import Question

AuthAdapter = tuple[Callable[[Any], AuthPrompt], Callable[[Credential | None], Any]]
CertAdapter = tuple[Callable[[Any], CertPrompt], Callable[[CertDecision], Any]]


@dataclass
class _AuthAsk:
    question: Question[Any]
    prompt: AuthPrompt
    encode: Callable[[Credential | None], Any]
    found: tuple[CredentialKey, Credential] | None = None
    waiting: list[_AuthAsk] = field(default_factory=list)  # same protection space, parked


def lookup_for_prompt(store: SecretStore, keys: list[CredentialKey]) -> tuple[str | None, Any]:
    """Worker thread: (keyring problem or None, (key, credential) or None)."""
    try:
        return None, store.lookup_first(keys)
    except KeyringUnavailable as exc:
        return str(exc), None


class QuestionRouter(QObject):
    notice = Signal(str)
    dialog_opened = Signal(object)

    def __init__(self, bridge: QuestionsBridge, worker: Worker, store: SecretStore,
                 parent_widget: QWidget | None = None) -> None:
        super().__init__(bridge)
        self.bridge, self.worker, self.store = bridge, worker, store
        self.parent_widget = parent_widget
        self._auth_types: dict[type, AuthAdapter] = {}
        self._cert_types: dict[type, CertAdapter] = {}
        self._redirect_types: dict[type, Callable[[Any], RedirectPrompt]] = {}
        self._psk_types: dict[type, tuple[Callable[[Any], PskPrompt], Callable[[tuple[str, bytes]], Any]]] = {}
        self.dialogs: dict[Question[Any], QDialog] = {}
        self._open_auth: dict[CredentialKey, _AuthAsk] = {}
        self._filled: weakref.WeakKeyDictionary[Any, set[CredentialKey]] = weakref.WeakKeyDictionary()
        self._closed: weakref.WeakSet[Question[Any]] = weakref.WeakSet()
        bridge.asked.connect(self._on_asked)
        bridge.closed.connect(self._on_closed)

    # -- registration ----------------------------------------------------------------------
    def register_auth(self, cls: type, to_prompt: Callable[[Any], AuthPrompt],
                      to_answer: Callable[[Credential | None], Any]) -> None:
        self._auth_types[cls] = (to_prompt, to_answer)

    def register_cert(self, cls: type, to_prompt: Callable[[Any], CertPrompt],
                      to_answer: Callable[[CertDecision], Any]) -> None:
        self._cert_types[cls] = (to_prompt, to_answer)

    def register_redirect(self, cls: type, to_prompt: Callable[[Any], RedirectPrompt]) -> None:
        """A redirect to confirm; the answer is ``True`` (follow) or ``False``."""
        self._redirect_types[cls] = to_prompt

    def register_psk(self, cls: type, to_prompt: Callable[[Any], PskPrompt],
                     to_answer: Callable[[tuple[str, bytes]], Any]) -> None:
        """A pre-shared key to ask for; the answer encodes ``(identity, key)``, or is None (cancelled)."""
        self._psk_types[cls] = (to_prompt, to_answer)

    def _find[T](self, table: dict[type, T], question: Question[Any]) -> T | None:
        for cls, adapter in table.items():
            if isinstance(question, cls):
                return adapter
        return None

    # -- dispatch --------------------------------------------------------------------------
    def _on_asked(self, question: Question[Any]) -> None:
        try:
            self._dispatch(question)
        except Exception as exc:  # a question we cannot show must not leave its request waiting
            self.notice.emit(f"Could not show the {type(question).__name__}: {type(exc).__name__}: {exc}")
            self.bridge.answer(question, None)

    def _dispatch(self, question: Question[Any]) -> None:
        auth = self._find(self._auth_types, question)
        if auth is not None:
            self._ask_auth(_AuthAsk(question, auth[0](question), auth[1]))
            return
        cert = self._find(self._cert_types, question)
        if cert is not None:
            self._ask_cert(question, cert[0](question), cert[1])
            return
        redirect = self._find(self._redirect_types, question)
        if redirect is not None:
            self._ask_redirect(question, redirect(question))
            return
        psk = self._find(self._psk_types, question)
        if psk is not None:
            self._ask_psk(question, psk[0](question), psk[1])
            return
        self.notice.emit(f"Courier cannot answer a question of type {type(question).__name__}; refused.")
        self.bridge.answer(question, None)

    def _on_closed(self, question: Question[Any]) -> None:
        """Answered or cancelled elsewhere (an aborted request): close its dialog, quietly."""
        self._closed.add(question)
        dialog = self.dialogs.pop(question, None)
        if dialog is not None:
            dialog.setProperty("courier_closed", True)
            dialog.reject()

    # -- credentials -----------------------------------------------------------------------
    def _ask_auth(self, ask: _AuthAsk) -> None:
        key = ask.prompt.key
        current = self._open_auth.get(key)
        if current is not None and current is not ask and not ask.prompt.previous_failed:
            current.waiting.append(ask)  # one lookup and one dialog per protection space
            return
        self._open_auth.setdefault(key, ask)
        self.worker.run(lookup_for_prompt, self.store, ask.prompt.lookup_keys,
                        on_done=lambda f: self._after_lookup(ask, f))

    def _already_filled(self, ask: _AuthAsk) -> bool:
        reply = ask.question.reply
        filled = self._filled.get(reply, set()) if reply is not None else set()
        return any(k in filled for k in ask.prompt.lookup_keys)

    def _note_filled(self, ask: _AuthAsk, key: CredentialKey) -> None:
        reply = ask.question.reply
        if reply is not None:
            self._filled.setdefault(reply, set()).add(key)

    def _after_lookup(self, ask: _AuthAsk, future: concurrent.futures.Future[Any]) -> None:
        if ask.question in self._closed:
            self._hand_over(ask)
            return
        problem, found = future.result()
        ask.found = found
        rejected = ask.prompt.previous_failed or self._already_filled(ask)
        if found is not None and not rejected:
            self._settle(ask, found[1], found[0])
            return
        dialog = AuthDialog(ask.prompt, keyring_problem=problem, remembered=found is not None,
                            parent=self.parent_widget)
        if found is not None and not ask.prompt.previous_user:
            dialog.user.setText(found[1].user)
        dialog.finished.connect(lambda result: self._auth_done(ask, dialog, result))
        self._show(ask.question, dialog)

    def _auth_done(self, ask: _AuthAsk, dialog: AuthDialog, result: int) -> None:
        self.dialogs.pop(ask.question, None)
        dialog.deleteLater()
        if dialog.property("courier_closed"):  # the request went away: the next in line asks
            self._hand_over(ask)
            return
        cred = dialog.credential() if result == QDialog.DialogCode.Accepted else None
        self._settle(ask, cred, ask.prompt.key)
        if cred is not None and dialog.remember_requested:
            self.worker.run(self.store.remember, ask.prompt.key, cred, on_done=self._report)
        elif cred is not None and ask.found is not None and dialog.keyring_problem is None:
            # The remembered credentials were rejected and the user no longer wants them kept.
            self.worker.run(self.store.forget, ask.found[0], on_done=self._report)

    def _settle(self, ask: _AuthAsk, cred: Credential | None, key: CredentialKey) -> None:
        """Answer ``ask`` and every request parked behind it with the same credentials."""
        if self._open_auth.get(ask.prompt.key) is ask:
            del self._open_auth[ask.prompt.key]
        for each in [ask, *ask.waiting]:
            if each.question in self._closed:
                continue
            if cred is not None:
                self._note_filled(each, key)
            self.bridge.answer(each.question, each.encode(cred))

    def _hand_over(self, ask: _AuthAsk) -> None:
        if self._open_auth.get(ask.prompt.key) is ask:
            del self._open_auth[ask.prompt.key]
        waiting = [w for w in ask.waiting if w.question not in self._closed]
        if waiting:
            nxt = waiting[0]
            nxt.waiting = waiting[1:]
            self._ask_auth(nxt)

    def _report(self, future: concurrent.futures.Future[Any]) -> None:
        exc = future.exception()
        if exc is not None:
            self.notice.emit(str(exc))

    # -- certificates ----------------------------------------------------------------------
    def _ask_cert(self, question: Question[Any], prompt: CertPrompt,
                  encode: Callable[[CertDecision], Any]) -> None:
        dialog = CertDialog(prompt, parent=self.parent_widget)

        def done(_result: int) -> None:
            self.dialogs.pop(question, None)
            dialog.deleteLater()
            if not dialog.property("courier_closed"):
                self.bridge.answer(question, encode(dialog.decision))

        dialog.finished.connect(done)
        self._show(question, dialog)

    # -- redirects -------------------------------------------------------------------------
    def _ask_redirect(self, question: Question[Any], prompt: RedirectPrompt) -> None:
        dialog = RedirectDialog(prompt, parent=self.parent_widget)

        def done(_result: int) -> None:
            self.dialogs.pop(question, None)
            dialog.deleteLater()
            if not dialog.property("courier_closed"):
                self.bridge.answer(question, dialog.follow)

        dialog.finished.connect(done)
        self._show(question, dialog)

    # -- pre-shared keys -------------------------------------------------------------------
    def _ask_psk(self, question: Question[Any], prompt: PskPrompt,
                 encode: Callable[[tuple[str, bytes]], Any]) -> None:
        dialog = PskDialog(prompt, parent=self.parent_widget)

        def done(_result: int) -> None:
            self.dialogs.pop(question, None)
            dialog.deleteLater()
            if not dialog.property("courier_closed"):
                self.bridge.answer(question, None if dialog.answer is None else encode(dialog.answer))

        dialog.finished.connect(done)
        self._show(question, dialog)

    def _show(self, question: Question[Any], dialog: QDialog) -> None:
        self.dialogs[question] = dialog
        dialog.open()
        self.dialog_opened.emit(dialog)
