"""The same broken TLS servers through PySide6's QNAM and through Courier, side by side.

docs/tls.md shows these lists as a table; the tests keep that table true."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from core import NetworkError, NetworkManager, Reply, Request
from core.tls import PskAnswer, PskQuestion, SslErrorsQuestion, TlsSettings
from tests.qnam import qnam_tls_request
from tests.test_tls_classify import EXPECTED
from tests.tls_servers import Pki, TlsServer, psk_server_context, server_context

pytestmark = pytest.mark.qnam


def courier(loop: asyncio.AbstractEventLoop, pki: Pki, url: str, answer: Any = None, **req: Any) -> Reply:
    async def go() -> Reply:
        m = NetworkManager()
        m.tls.configure(TlsSettings(extra_ca_files=[pki.root_pem]))
        if answer is not None:
            m.questions.subscribe(answer)
        reply = await m.get(Request(url, **req)).wait()
        await m.aclose()
        return reply

    return loop.run_until_complete(asyncio.wait_for(go(), 60))


def listed(reply: Reply) -> list[tuple[str, str]]:
    assert reply.tls is not None
    return [(e.error.name, e.fingerprint) for e in reply.tls.errors]


@pytest.mark.parametrize("case", sorted(c for c, errs in EXPECTED.items() if errs))
def test_the_error_list_is_qnams(qapp, loop, pki: Pki, tls_server, case: str) -> None:
    server: TlsServer = tls_server(case)
    q = qnam_tls_request(server.url + "/qnam", pki.root.cert_pem)
    reply = courier(loop, pki, server.url + "/courier")
    assert q.ssl_errors == [listed(reply)]  # same errors, same order, same certificates
    assert q.error == reply.error.name == "SslHandshakeFailedError"
    assert q.error_string == reply.error_string
    assert server.requests == []  # neither sent a byte of the request


@pytest.mark.parametrize("case", ["good", "with_intermediate"])
def test_good_chains_pass_both(qapp, loop, pki: Pki, tls_server, case: str) -> None:
    server: TlsServer = tls_server(case)
    q = qnam_tls_request(server.url + "/qnam", pki.root.cert_pem)
    reply = courier(loop, pki, server.url + "/courier")
    assert q.ssl_errors == [] and q.error == reply.error.name == "NoError"
    assert [r["path"] for r in server.requests] == ["/qnam", "/courier"]


def test_peer_verify_name_like_qnam(qapp, loop, pki: Pki, tls_server) -> None:
    server: TlsServer = tls_server("named")
    q = qnam_tls_request(server.url + "/qnam", pki.root.cert_pem, peer_verify_name="api.courier.test")
    reply = courier(loop, pki, server.url + "/courier", peer_verify_name="api.courier.test")
    assert q.error == reply.error.name == "NoError"
    assert server.sni == ["api.courier.test", "api.courier.test"]  # both send it as SNI
    q_wrong = qnam_tls_request(server.url + "/qnam", pki.root.cert_pem, peer_verify_name="other.test")
    wrong = courier(loop, pki, server.url + "/courier", peer_verify_name="other.test")
    assert q_wrong.ssl_errors == [listed(wrong)] and listed(wrong)[0][0] == "HostNameMismatch"


def test_accepting_the_errors_lets_both_through(qapp, loop, pki: Pki, tls_server) -> None:
    server: TlsServer = tls_server("expired_wrong_host")
    q = qnam_tls_request(server.url + "/qnam", pki.root.cert_pem, ignore=True)
    reply = courier(loop, pki, server.url + "/courier",
                    answer=lambda question: question.accept() if isinstance(question, SslErrorsQuestion) else None)
    assert q.error == reply.error.name == "NoError"
    assert q.ssl_errors == [listed(reply)]
    assert json.loads(q.body)["path"] == "/qnam" and json.loads(reply.content())["path"] == "/courier"


def test_a_changed_certificate_qnam_accepts_silently_courier_asks_again(qapp, loop, pki: Pki) -> None:
    """Deliberate difference 6. QNAM keeps ignoreSslErrors for the whole pool entry (S3): after the
    host switches certificates, its next connection is accepted without asking. Courier's decision
    covers (host, port, that certificate), so it asks again."""
    from PySide6.QtNetwork import QNetworkAccessManager  # one QNAM for both requests

    from tests.qnam import qnam_tls_request as one

    server = TlsServer(server_context(pki.leaves["self_signed"]), keep_alive=False)
    try:
        mgr = QNetworkAccessManager()
        first = one(server.url + "/q1", pki.root.cert_pem, ignore=True, manager=mgr)
        server.set_context(server_context(pki.leaves["self_signed_2"]))
        second = one(server.url + "/q2", pki.root.cert_pem, ignore=False, manager=mgr)
        assert first.error == second.error == "NoError"  # the new certificate went through unasked
        assert second.ssl_errors[0][0][1] == pki.leaves["self_signed_2"].fingerprint()

        server.set_context(server_context(pki.leaves["self_signed"]))
        asked: list[SslErrorsQuestion] = []

        async def go() -> list[Reply]:
            m = NetworkManager()
            m.tls.configure(TlsSettings(extra_ca_files=[pki.root_pem]))

            def answer(q: Any) -> None:
                if isinstance(q, SslErrorsQuestion):
                    asked.append(q)
                    q.accept() if len(asked) == 1 else q.refuse()

            m.questions.subscribe(answer)
            r1 = await m.get(server.url + "/c1").wait()
            server.set_context(server_context(pki.leaves["self_signed_2"]))
            r2 = await m.get(server.url + "/c2").wait()
            await m.aclose()
            return [r1, r2]

        r1, r2 = loop.run_until_complete(asyncio.wait_for(go(), 60))
        assert r1.error is NetworkError.NoError and r2.error is NetworkError.SslHandshakeFailedError
        assert [q.chain[0].sha256 for q in asked] == [pki.leaves["self_signed"].fingerprint(),
                                                     pki.leaves["self_signed_2"].fingerprint()]
        assert [r["path"] for r in server.requests] == ["/q1", "/q2", "/c1"]
    finally:
        server.close()


def test_a_server_that_requires_a_client_certificate(qapp, loop, pki: Pki, tls_server) -> None:
    """QNAM: UnknownNetworkError "Error while reading: ... tlsv13 alert certificate required".
    Courier: SslHandshakeFailedError, "the server requires a client certificate"."""
    server: TlsServer = tls_server("good", client_ca_file=pki.client_ca_pem)
    q = qnam_tls_request(server.url + "/qnam", pki.root.cert_pem)
    reply = courier(loop, pki, server.url + "/courier")
    assert q.error == "UnknownNetworkError" and "certificate required" in q.error_string
    assert reply.error is NetworkError.SslHandshakeFailedError
    assert reply.error_string == "SSL handshake failed: the server requires a client certificate"
    assert q.ssl_errors == [] and listed(reply) == []


def test_a_psk_server(qapp, loop) -> None:
    """Both ask for the key with the server's identity hint. QNAM then also reports
    NoPeerCertificate (a PSK server has no certificate) and needs ignoreSslErrors; Courier does not:
    the key authenticates the server."""
    server = TlsServer(psk_server_context({"device-7": b"0123456789abcdef"}, hint="courier-hint"))
    try:
        q = qnam_tls_request(server.url + "/qnam", psk=(b"device-7", b"0123456789abcdef"))
        q_ignoring = qnam_tls_request(server.url + "/qnam-ignoring", psk=(b"device-7", b"0123456789abcdef"),
                                      ignore=True)
        hints: list[str | None] = []

        def answer(question: Any) -> None:
            if isinstance(question, PskQuestion):
                hints.append(question.identity_hint)
                question.answer(PskAnswer("device-7", b"0123456789abcdef"))

        async def go() -> Reply:
            m = NetworkManager()
            m.questions.subscribe(answer)
            r = await m.get(server.url + "/courier").wait()
            await m.aclose()
            return r

        reply = loop.run_until_complete(asyncio.wait_for(go(), 60))
        assert q.psk_hints == [b"courier-hint"] and hints == ["courier-hint"]
        assert q.error == "SslHandshakeFailedError" and [[e for e, _ in q.ssl_errors[0]]] == [["NoPeerCertificate"]]
        assert q_ignoring.error == "NoError"
        assert reply.error is NetworkError.NoError and listed(reply) == []
        assert [r["path"] for r in server.requests] == ["/qnam-ignoring", "/courier"]
    finally:
        server.close()


def test_no_exception_for_a_known_hsts_host(qapp, loop, pki: Pki, tls_server) -> None:
    """S4: with HSTS on, accepting certificate errors has no effect for a known HSTS host."""
    import time

    from core.hsts import HstsPolicy

    server: TlsServer = tls_server("self_signed")
    url = f"https://localhost:{server.port}"
    q = qnam_tls_request(url + "/qnam", pki.root.cert_pem, ignore=True, hsts_host="localhost")
    asked: list[Any] = []

    async def go() -> Reply:
        m = NetworkManager()
        m.tls.configure(TlsSettings(extra_ca_files=[pki.root_pem]))
        m.strict_transport_security_enabled = True
        m.add_strict_transport_security_hosts([HstsPolicy("localhost", time.time() + 3600)])
        m.questions.subscribe(lambda question: (asked.append(question), question.accept()))
        ignoring = m.get(url + "/ignoring")
        ignoring.ignore_ssl_errors()
        await ignoring.wait()
        assert ignoring.error is NetworkError.SslHandshakeFailedError
        r = await m.get(url + "/asked").wait()
        await m.aclose()
        return r

    reply = loop.run_until_complete(asyncio.wait_for(go(), 60))
    assert q.error == reply.error.name == "SslHandshakeFailedError"
    assert q.ssl_errors == [listed(reply)]
    assert asked == [] and server.requests == []  # no question: there is no recourse
