"""Redirects through core and through PySide6's QNAM, side by side against the same server."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtNetwork import QNetworkReply, QNetworkRequest, QSslCertificate, QSslConfiguration

from core import NetworkError, RedirectPolicy, Request
from core.request import Attribute
from tests.helpers import only
from tests.policy_helpers import echoed, other_host, run, to
from tests.policy_servers import PolicyApp, PolicyServer
from tests.qnam import qnam_request

pytestmark = pytest.mark.qnam

QPOLICY = {
    RedirectPolicy.MANUAL: QNetworkRequest.RedirectPolicy.ManualRedirectPolicy,
    RedirectPolicy.NO_LESS_SAFE: QNetworkRequest.RedirectPolicy.NoLessSafeRedirectPolicy,
    RedirectPolicy.SAME_ORIGIN: QNetworkRequest.RedirectPolicy.SameOriginRedirectPolicy,
    RedirectPolicy.USER_VERIFIED: QNetworkRequest.RedirectPolicy.UserVerifiedRedirectPolicy,
}


def core_send(loop: Any, method: str, url: str, body: bytes | None = None, ca: str | None = None,
              **request: Any) -> Any:
    async def story(m: Any) -> Any:
        names: list[str] = []
        reply = m.send_custom_request(Request(url, **request), method, body)
        reply.subscribe(lambda e: names.append(type(e).__name__))
        await reply.wait()
        reply.extra["names"] = names
        return reply

    return run(loop, story, ca)


def qnam_policy(policy: RedirectPolicy, maximum: int | None = None, ca: str | None = None) -> Any:
    def prepare(req: QNetworkRequest) -> None:
        req.setAttribute(QNetworkRequest.Attribute.RedirectPolicyAttribute, QPOLICY[policy])
        if maximum is not None:
            req.setMaximumRedirectsAllowed(maximum)
        if ca:
            conf = QSslConfiguration.defaultConfiguration()
            conf.setCaCertificates(QSslCertificate.fromPath(ca))
            req.setSslConfiguration(conf)

    return prepare


def test_a_redirect_chain_ends_where_qnams_ends(qapp, loop, policy_server: PolicyServer) -> None:
    url = policy_server.url + "/chain/4"
    q = qnam_request(url)
    reply = core_send(loop, "GET", url)
    assert (reply.status, reply.url) == (q.status, q.url)
    assert echoed(reply)["path"] == "/echo/end"
    keep = {"MetaDataChanged", "ReadyRead", "Redirected", "ErrorOccurred", "Finished"}
    assert only(reply.extra["names"], keep) == only(q.events, keep)
    assert reply.extra["names"].count("Redirected") == q.events.count("Redirected") == 4


@pytest.mark.parametrize(("path", "maximum"), [("/chain/51", None), ("/chain/3", 2), ("/chain/1", 0),
                                               ("/loop", 4)])
def test_the_redirect_limit_matches_qnam(qapp, loop, policy_server: PolicyServer, path: str,
                                         maximum: int | None) -> None:
    url = policy_server.url + path
    q = qnam_request(url, prepare=qnam_policy(RedirectPolicy.NO_LESS_SAFE, maximum))
    kw = {} if maximum is None else {"maximum_redirects": maximum}
    reply = core_send(loop, "GET", url, **kw)
    assert int(reply.error) == q.error == QNetworkReply.NetworkError.TooManyRedirectsError.value
    assert reply.status == q.status == 302
    assert reply.content() == q.body == b""


@pytest.mark.parametrize("status", [301, 302, 303, 305, 307, 308])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "HEAD", "GET"])
def test_the_method_and_body_after_a_redirect_match_qnam(qapp, loop, policy_server: PolicyServer,
                                                         status: int, method: str) -> None:
    body = None if method in ("HEAD", "DELETE") else b"DATA"
    headers = [("Content-Type", "text/plain")]

    def arrived(tag: str) -> tuple[str, bytes, str | None, str | None]:
        last = policy_server.requests_to(f"/echo/{tag}")[-1]
        h = dict(last["headers"])
        return last["method"], last["body"], h.get("content-type"), h.get("content-length")

    qnam_request(to(policy_server, f"/echo/q{status}{method}", status), method, body, headers)
    core_send(loop, method, to(policy_server, f"/echo/c{status}{method}", status), body, headers=headers)
    assert arrived(f"c{status}{method}") == arrived(f"q{status}{method}")


@pytest.mark.parametrize("status", [301, 302, 303, 305, 307, 308])
def test_manual_policy_matches_qnam(qapp, loop, policy_server: PolicyServer, status: int) -> None:
    url = policy_server.url + f"/to?status={status}&url=/final&body=moved"
    q = qnam_request(url, prepare=qnam_policy(RedirectPolicy.MANUAL))
    reply = core_send(loop, "GET", url, attributes={Attribute.REDIRECT_POLICY: RedirectPolicy.MANUAL})
    assert (int(reply.error), reply.status, reply.content()) == (q.error, q.status, q.body)
    assert reply.redirection_target == q.redirection_target


def test_a_missing_location_fails_like_qnam(qapp, loop, policy_server: PolicyServer) -> None:
    url = policy_server.url + "/no-location?status=302"
    q = qnam_request(url)
    reply = core_send(loop, "GET", url)
    assert (int(reply.error), reply.status) == (q.error, q.status)
    assert reply.error is NetworkError.ProtocolUnknownError


def test_an_unknown_scheme_fails_like_qnam(qapp, loop, policy_server: PolicyServer) -> None:
    url = to(policy_server, "ftp://127.0.0.1/x")
    q = qnam_request(url)
    reply = core_send(loop, "GET", url)
    assert int(reply.error) == q.error == NetworkError.ProtocolUnknownError


def test_https_to_http_is_refused_like_qnam(qapp, loop, policy_server: PolicyServer,
                                            policy_tls_server: PolicyServer, tls_files: dict[str, str]) -> None:
    url = to(policy_tls_server, policy_server.url + "/echo/down")
    q = qnam_request(url, prepare=qnam_policy(RedirectPolicy.NO_LESS_SAFE, ca=tls_files["ca"]))
    reply = core_send(loop, "GET", url, ca=tls_files["ca"])
    assert (int(reply.error), reply.status) == (q.error, q.status)
    assert reply.error is NetworkError.InsecureRedirectError
    up = to(policy_server, policy_tls_server.url + "/echo/up")
    q = qnam_request(up, prepare=qnam_policy(RedirectPolicy.NO_LESS_SAFE, ca=tls_files["ca"]))
    reply = core_send(loop, "GET", up, ca=tls_files["ca"])
    assert (int(reply.error), reply.status, reply.url) == (q.error, q.status, q.url)


@pytest.mark.parametrize("hop", ["same", "other"])
def test_same_origin_matches_qnam(qapp, loop, policy_server: PolicyServer, hop: str) -> None:
    base = policy_server.url if hop == "same" else other_host(policy_server)
    url = to(policy_server, base + "/echo/so")
    q = qnam_request(url, prepare=qnam_policy(RedirectPolicy.SAME_ORIGIN))
    reply = core_send(loop, "GET", url, attributes={Attribute.REDIRECT_POLICY: RedirectPolicy.SAME_ORIGIN})
    assert (int(reply.error), reply.status) == (q.error, q.status)


@pytest.mark.parametrize("allow", [True, False])
def test_user_verified_matches_qnam(qapp, loop, policy_server: PolicyServer, allow: bool) -> None:
    url = policy_server.url + "/chain/1"

    def decide(reply: QNetworkReply) -> None:
        reply.redirected.connect(lambda _u: reply.redirectAllowed.emit() if allow else reply.abort())

    q = qnam_request(url, prepare=qnam_policy(RedirectPolicy.USER_VERIFIED), on_reply=decide)

    async def story(m: Any) -> Any:
        m.questions.subscribe(lambda question: question.answer(allow))
        req = Request(url, attributes={Attribute.REDIRECT_POLICY: RedirectPolicy.USER_VERIFIED})
        return await m.get(req).wait()

    reply = run(loop, story)
    assert (int(reply.error), reply.status, reply.url) == (q.error, q.status, q.url)
    assert reply.redirection_target is None and q.redirection_target is None  # R16


def test_qnam_forwards_credentials_across_origins_and_courier_does_not(qapp, loop,
                                                                      policy_server: PolicyServer) -> None:
    """Deliberate difference 1 (R5): the other host gets no Authorization or Cookie from Courier."""
    secrets = [("Authorization", "Bearer SECRET"), ("Cookie", "sid=app-set"), ("X-Custom", "1")]
    url = to(policy_server, other_host(policy_server) + "/echo/cross")
    qnam_request(url, headers=secrets)
    q_seen = dict(policy_server.requests_to("/echo/cross")[-1]["headers"])
    reply = core_send(loop, "GET", url, headers=secrets)
    c_seen = dict(echoed(reply)["headers"])
    assert q_seen["authorization"] == "Bearer SECRET" and q_seen["cookie"] == "sid=app-set"
    assert "authorization" not in c_seen and "cookie" not in c_seen
    assert q_seen["x-custom"] == c_seen["x-custom"] == "1"


@pytest.fixture(scope="module")
def tmpdir_socket_server() -> Iterator[PolicyServer]:
    """A policy server on a unix socket in $TMPDIR, which QNAM reaches as unix+http://<name>/."""
    name = f"courier-pol-{os.getpid()}.sock"
    s = PolicyServer(uds=os.path.join(tempfile.gettempdir(), name))
    s.start()
    s.socket_name = name  # type: ignore[attr-defined]
    yield s
    s.stop()
    try:
        os.unlink(os.path.join(tempfile.gettempdir(), name))
    except FileNotFoundError:
        pass


def test_qnam_follows_a_web_server_into_a_local_socket_and_courier_does_not(
        qapp, loop, policy_server: PolicyServer, tmpdir_socket_server: PolicyServer) -> None:
    """Deliberate difference 2 (R12)."""
    url = to(policy_server, f"unix+http://{tmpdir_socket_server.socket_name}/echo/local")  # type: ignore[attr-defined]
    q = qnam_request(url)
    assert q.error == 0 and q.status == 200  # QNAM reached the local socket
    app: PolicyApp = tmpdir_socket_server.policy
    assert len(app.requests_to("/echo/local")) == 1
    reply = core_send(loop, "GET", url)
    assert reply.error is NetworkError.InsecureRedirectError
    assert len(app.requests_to("/echo/local")) == 1  # Courier never reached it
