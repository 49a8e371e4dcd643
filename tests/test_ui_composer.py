"""The composer's body editors and auth kinds, sent through the real window to real servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.bridge import QtNetworkManager
from app.request_spec import AuthKind, BodyKind, KeyValue, MultipartField, RequestSpec
from app.ui.composer import AUTH_KINDS
from app.ui.main_window import MainWindow
from app.ui.reply_model import C_METHOD, C_STATUS
from tests.proxies import HttpbinServer
from tests.servers import HypercornServer


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COURIER_DATA_DIR", str(tmp_path))
    w = MainWindow(QtNetworkManager(), restore=False)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def send_and_wait(qtbot, window: MainWindow, spec: RequestSpec) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    c = window.composer()
    c.load(spec)
    reply = window.send()
    assert reply is not None, c.message.text()
    qtbot.waitUntil(lambda: reply.core.is_finished, timeout=15_000)
    row = int(reply.core.extra["ui_row"])
    qtbot.waitUntil(lambda: window.model.data(window.model.index(window.model.view_row(row), C_STATUS)) not in
                    ("(pending)", ""), timeout=5000)
    return row, str(window.model.data(window.model.index(window.model.view_row(row), C_STATUS)))


def test_digest_login_is_given_when_the_server_asks(qtbot, window: MainWindow, auth_httpbin: HttpbinServer) -> None:
    url = auth_httpbin.url + "/digest-auth/auth/user/passwd/MD5"
    before = len(auth_httpbin.requests)  # the server is shared with other tests
    _, status = send_and_wait(qtbot, window, RequestSpec(url=url, auth_kind=AuthKind.DIGEST,
                                                         auth_user="user", auth_password="passwd"))
    assert status == "200"
    sent = [r for r in auth_httpbin.requests[before:] if "/digest-auth/" in r["path"]]
    assert len(sent) == 2 and "authorization" not in sent[0]["headers"]
    assert sent[1]["headers"]["authorization"].startswith("Digest ")
    # a wrong password is not tried again and again: the reply ends with 401
    _, status = send_and_wait(qtbot, window, RequestSpec(url=url, auth_kind=AuthKind.DIGEST,
                                                         auth_user="user", auth_password="wrong"))
    assert status == "401"


def test_bearer_and_basic_and_a_custom_verb(qtbot, window: MainWindow, http_server: HypercornServer) -> None:
    row, status = send_and_wait(qtbot, window, RequestSpec(method="PROPFIND", url=http_server.url + "/echo",
                                                           auth_kind=AuthKind.BEARER, bearer_token="t0k"))
    assert status == "200" and window.model.data(window.model.index(window.model.view_row(row), C_METHOD)) == "PROPFIND"
    seen = http_server.seen.requests[-1]
    assert seen["method"] == "PROPFIND"
    assert dict((k.lower(), v) for k, v in seen["headers"])["authorization"] == "Bearer t0k"
    send_and_wait(qtbot, window, RequestSpec(url=http_server.url + "/echo", auth_kind=AuthKind.BASIC,
                                             auth_user="a", auth_password="b"))
    assert dict((k.lower(), v) for k, v in http_server.seen.requests[-1]["headers"])["authorization"] == "Basic YTpi"
    assert [k for k, _ in AUTH_KINDS] == list(AuthKind)


def test_multipart_with_a_file_and_a_binary_file_body(qtbot, window: MainWindow, http_server: HypercornServer,
                                                     tmp_path: Path) -> None:
    f = tmp_path / "photo.bin"
    f.write_bytes(bytes(range(256)) * 40)
    spec = RequestSpec(method="POST", url=http_server.url + "/echo", body_kind=BodyKind.MULTIPART,
                       multipart=[MultipartField("title", "holiday"), MultipartField("file", path=str(f)),
                                  MultipartField("off", "x", enabled=False)])
    _, status = send_and_wait(qtbot, window, spec)
    assert status == "200"
    seen = http_server.seen.requests[-1]
    ctype = dict((k.lower(), v) for k, v in seen["headers"])["content-type"]
    assert ctype.startswith("multipart/form-data; boundary=")
    body = seen["body"]
    assert b'name="title"\r\n\r\nholiday\r\n' in body and b'filename="photo.bin"' in body
    assert bytes(range(256)) * 40 in body and b'name="off"' not in body

    spec = RequestSpec(method="PUT", url=http_server.url + "/echo", body_kind=BodyKind.BINARY, binary_path=str(f))
    _, status = send_and_wait(qtbot, window, spec)
    assert status == "200" and http_server.seen.requests[-1]["body"] == f.read_bytes()

    spec = RequestSpec(method="POST", url=http_server.url + "/echo", body_kind=BodyKind.FORM,
                       form=[KeyValue("q", "a b&c"), KeyValue("skip", "1", enabled=False)])
    send_and_wait(qtbot, window, spec)
    assert http_server.seen.requests[-1]["body"] == b"q=a%20b%26c"

    missing = RequestSpec(method="PUT", url=http_server.url + "/echo", body_kind=BodyKind.BINARY,
                          binary_path=str(tmp_path / "nope.bin"))
    window.composer().load(missing)
    assert window.send() is None
    assert "nope.bin" in window.composer().message.text()  # a clear error, nothing sent


def test_progress_bars_follow_a_large_download(qtbot, window: MainWindow, http_server: HypercornServer) -> None:
    c = window.composer()
    c.url.setText(http_server.url + "/bytes/60000000")
    seen: list[int] = []
    reply = window.send()
    assert reply is not None
    reply.downloadProgress.connect(lambda d, t: seen.append(c.download_bar.value()))
    assert c.download_bar.isVisibleTo(window) and c.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: reply.core.is_finished, timeout=60_000)
    qtbot.waitUntil(lambda: not c.cancel_button.isEnabled(), timeout=5000)
    assert seen == sorted(seen) and seen[-1] == c.download_bar.maximum() == 60_000_000
    assert any(0 < v < 60_000_000 for v in seen)  # it moved on the way, not only at the end
    assert not c.download_bar.isVisibleTo(window)
