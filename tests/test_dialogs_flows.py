"""End to end: a real server makes the core ask, the app's dialog appears, the user answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.bridge import QtNetworkManager
from app.dialogs import AppContext, Dialogs
from app.settings import RedirectChoice
from app.ui.redirect_dialog import RedirectDialog
from tests.servers import HypercornServer


@pytest.fixture
def app_parts(tmp_path: Path) -> Iterator[tuple[AppContext, QtNetworkManager]]:
    context = AppContext(tmp_path / "data")
    manager = QtNetworkManager()
    yield context, manager
    manager.close()
    context.close()


@pytest.mark.parametrize("follow", [True, False])
def test_ask_me_redirect_policy_shows_the_redirect_and_obeys(
        qtbot, app_parts: tuple[AppContext, QtNetworkManager], http_server: HypercornServer, follow: bool) -> None:
    context, manager = app_parts
    context.settings.redirect_policy = RedirectChoice.USER_VERIFIED
    dialogs = Dialogs(context, manager)
    with qtbot.waitSignal(dialogs.router.dialog_opened, timeout=10000) as opened:
        reply = manager.get(http_server.url + "/redirect/1")
    dialog = opened.args[0]
    assert isinstance(dialog, RedirectDialog)
    assert dialog.prompt.source.endswith("/redirect/1") and dialog.prompt.target.endswith("/echo")
    assert dialog.prompt.status == 302
    with qtbot.waitSignal(reply.finished, timeout=10000):
        (dialog.follow_button if follow else dialog.stop_button).click()
    if follow:
        assert reply.core.status == 200 and reply.core.url.endswith("/echo")
    else:
        assert reply.core.status == 302
    dialogs.close()
