"""Questions travel from the network thread to a dialog and back, without nested event loops.

A probe question (a real ``core.questions.Question`` asked on the real network thread) stands for
any question type; the router's credential flow runs against a real Secret Service.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from app.bridge import QtNetworkManager
from app.prompts import AuthPrompt
from app.question_router import QuestionRouter
from app.questions_bridge import QuestionsBridge
from app.secrets import Credential, SecretStore
from app.ui.auth_dialog import AuthDialog
from app.worker import Worker
from core.questions import Question
from tests.keyring_service import KeyringService
from tests.servers import HypercornServer


@dataclass(eq=False)
class ProbeQuestion(Question[Any]):
    text: str = ""


@dataclass(eq=False)
class ProbeAuthQuestion(Question[tuple[str, str]]):
    """Stands in for the core's credential question (server or proxy) in the router tests."""

    prompt: AuthPrompt | None = None


def _probe_prompt(q: ProbeAuthQuestion) -> AuthPrompt:
    assert q.prompt is not None
    return q.prompt


def _pair(cred: Credential | None) -> tuple[str, str] | None:
    return None if cred is None else (cred.user, cred.password)


PROMPT = AuthPrompt(proxy=False, scheme="Basic", realm="Fake Realm", host="127.0.0.1", port=8080,
                    url_scheme="http", url="http://127.0.0.1:8080/basic-auth/alice/wonderland")


@pytest.fixture
def manager() -> Iterator[QtNetworkManager]:
    m = QtNetworkManager()
    yield m
    m.close()


def ask(manager: QtNetworkManager, question: Question[Any]) -> concurrent.futures.Future[Any]:
    """Ask on the network thread, exactly as the core does."""
    return manager.thread.submit(manager.core.questions.ask(question))


def test_question_reaches_the_gui_thread_and_the_answer_resolves_the_core(qtbot, manager: QtNetworkManager) -> None:
    bridge = QuestionsBridge(manager)
    seen: list[tuple[Question[Any], bool]] = []
    app = QApplication.instance()
    assert app is not None
    bridge.asked.connect(lambda q: seen.append((q, QThread.currentThread() is app.thread())))
    q = ProbeQuestion(reply=None, text="proceed?")
    with qtbot.waitSignal(bridge.asked, timeout=5000):
        future = ask(manager, q)
    assert seen == [(q, True)]
    assert not future.done()  # the core is waiting; the GUI is not blocked
    with qtbot.waitSignal(bridge.closed, timeout=5000):
        bridge.answer(q, "yes")
    assert future.result(5) == "yes"
    assert bridge.open_questions == []
    bridge.close()


def test_an_aborted_request_closes_its_dialog(qtbot, manager: QtNetworkManager, http_server: HypercornServer,
                                              tmp_path: Path) -> None:
    bridge = QuestionsBridge(manager)
    worker = Worker()
    router = QuestionRouter(bridge, worker, SecretStore(tmp_path / "credentials.json"))
    router.register_auth(ProbeAuthQuestion, _probe_prompt, _pair)
    reply = manager.get(http_server.url + "/slow-headers?20")
    q = ProbeAuthQuestion(reply=reply.core, prompt=PROMPT)
    with qtbot.waitSignal(router.dialog_opened, timeout=10000) as opened:
        future = ask(manager, q)
    dialog = opened.args[0]
    assert isinstance(dialog, AuthDialog) and dialog.isVisible()
    with qtbot.waitSignal(reply.finished, timeout=5000):
        reply.abort()
    # the closed dialog may already be deleted (deleteLater) when we look: that counts as closed
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible(), timeout=5000)
    assert router.dialogs == {}
    with pytest.raises(concurrent.futures.CancelledError):
        future.result(5)
    worker.shutdown()
    bridge.close()


def test_remembered_password_answers_the_next_prompt_without_a_dialog(
        qtbot, keyring_service: KeyringService, tmp_path: Path) -> None:
    index = tmp_path / "data" / "credentials.json"
    secret = "wonderland-" + tmp_path.name

    def session() -> tuple[QtNetworkManager, QuestionsBridge, Worker, QuestionRouter, list[AuthDialog]]:
        m = QtNetworkManager()
        bridge = QuestionsBridge(m)
        worker = Worker()
        router = QuestionRouter(bridge, worker, SecretStore(index, keyring_service.backend()))
        router.register_auth(ProbeAuthQuestion, _probe_prompt, _pair)
        shown: list[AuthDialog] = []
        router.dialog_opened.connect(shown.append)
        return m, bridge, worker, router, shown

    m, bridge, worker, router, shown = session()
    with qtbot.waitSignal(router.dialog_opened, timeout=10000):
        future = ask(m, ProbeAuthQuestion(reply=None, prompt=PROMPT))
    dialog = shown[0]
    assert dialog.remember.isEnabled() and not dialog.keyring_note.isVisible()
    qtbot.keyClicks(dialog.user, "alice")
    qtbot.keyClicks(dialog.password, secret)
    dialog.remember.setChecked(True)
    dialog.ok_button.click()
    assert future.result(5) == ("alice", secret)
    worker.shutdown()  # waits for the keyring write
    bridge.close()
    m.close()

    # A new manager and router (nothing in memory): the keyring answers, no dialog.
    m, bridge, worker, router, shown = session()
    future = ask(m, ProbeAuthQuestion(reply=None, prompt=PROMPT))
    qtbot.waitUntil(future.done, timeout=10000)  # the GUI loop runs: the lookup result comes back
    assert future.result() == ("alice", secret)
    assert shown == []
    # Told that the password failed, the router asks again, pre-filled, Remember still ticked.
    rejected = AuthPrompt(**{**PROMPT.__dict__, "previous_failed": True, "previous_user": "alice"})
    with qtbot.waitSignal(router.dialog_opened, timeout=10000):
        future = ask(m, ProbeAuthQuestion(reply=None, prompt=rejected))
    dialog = shown[0]
    assert dialog.failed_banner.isVisibleTo(dialog) and dialog.user.text() == "alice"
    assert dialog.remember.isChecked()
    dialog.cancel_button.click()
    assert future.result(5) is None
    worker.shutdown()
    bridge.close()
    m.close()
    for path in tmp_path.rglob("*"):
        assert not (path.is_file() and secret.encode() in path.read_bytes()), path


def test_without_a_keyring_the_dialog_says_so_and_nothing_is_written(
        qtbot, no_keyring: object, manager: QtNetworkManager, tmp_path: Path) -> None:
    bridge = QuestionsBridge(manager)
    worker = Worker()
    router = QuestionRouter(bridge, worker, SecretStore(tmp_path / "credentials.json"))
    router.register_auth(ProbeAuthQuestion, _probe_prompt, _pair)
    with qtbot.waitSignal(router.dialog_opened, timeout=10000) as opened:
        future = ask(manager, ProbeAuthQuestion(reply=None, prompt=PROMPT))
    dialog = opened.args[0]
    assert isinstance(dialog, AuthDialog)
    assert not dialog.remember.isEnabled() and not dialog.remember.isChecked()
    assert dialog.keyring_note.isVisibleTo(dialog)
    assert "No system keyring" in dialog.keyring_note.text()
    dialog.remember.setChecked(True)  # even if forced, nothing may be stored
    qtbot.keyClicks(dialog.user, "alice")
    qtbot.keyClicks(dialog.password, "plaintext-never")
    dialog.ok_button.click()
    assert future.result(5) == ("alice", "plaintext-never")
    worker.shutdown()
    bridge.close()
    assert [p for p in tmp_path.rglob("*") if p.is_file() and b"plaintext-never" in p.read_bytes()] == []


def test_parallel_requests_for_one_realm_share_one_dialog(qtbot, manager: QtNetworkManager, tmp_path: Path) -> None:
    bridge = QuestionsBridge(manager)
    worker = Worker()
    router = QuestionRouter(bridge, worker, SecretStore(tmp_path / "credentials.json"))
    router.register_auth(ProbeAuthQuestion, _probe_prompt, _pair)
    shown: list[AuthDialog] = []
    router.dialog_opened.connect(shown.append)
    futures = [ask(manager, ProbeAuthQuestion(reply=None, prompt=PROMPT)) for _ in range(3)]
    qtbot.waitUntil(lambda: len(shown) == 1, timeout=10000)
    qtbot.wait(200)
    assert len(shown) == 1
    qtbot.keyClicks(shown[0].user, "bob")
    qtbot.keyClicks(shown[0].password, "pw")
    shown[0].ok_button.click()
    assert [f.result(5) for f in futures] == [("bob", "pw")] * 3
    worker.shutdown()
    bridge.close()


def test_an_unknown_question_is_refused_at_once(qtbot, manager: QtNetworkManager, tmp_path: Path) -> None:
    bridge = QuestionsBridge(manager)
    worker = Worker()
    router = QuestionRouter(bridge, worker, SecretStore(tmp_path / "credentials.json"))
    with qtbot.waitSignal(router.notice, timeout=5000) as note:
        future = ask(manager, ProbeQuestion(reply=None))
    assert future.result(5) is None
    assert "ProbeQuestion" in note.args[0]
    worker.shutdown()
    bridge.close()


def test_a_question_that_cannot_be_shown_is_refused_with_a_notice(qtbot, manager: QtNetworkManager,
                                                                  tmp_path: Path) -> None:
    bridge = QuestionsBridge(manager)
    worker = Worker()
    router = QuestionRouter(bridge, worker, SecretStore(tmp_path / "credentials.json"))
    router.register_auth(ProbeAuthQuestion, _probe_prompt, _pair)  # _probe_prompt fails without a prompt
    with qtbot.waitSignal(router.notice, timeout=5000) as note:
        future = ask(manager, ProbeAuthQuestion(reply=None, prompt=None))
    assert future.result(5) is None
    assert "ProbeAuthQuestion" in note.args[0]
    worker.shutdown()
    bridge.close()
