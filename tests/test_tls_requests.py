"""A user meets broken certificates through the core manager: sees every problem, decides for this
host and this certificate only, and the decision is kept for the session or remembered."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core import NetworkError, NetworkManager, Reply, Request
from core import events as ev
from core.request import Attribute
from core.tls import SslError, SslErrorsQuestion, TlsSettings
from core.tls.questions import DecisionScope
from tests.test_tls_classify import EXPECTED
from tests.tls_servers import Pki, TlsServer


def run(loop: asyncio.AbstractEventLoop, coro):  # type: ignore[no-untyped-def]
    return loop.run_until_complete(asyncio.wait_for(coro, 60))


def manager(pki: Pki, **settings: Any) -> NetworkManager:
    m = NetworkManager()
    m.tls.configure(TlsSettings(extra_ca_files=[pki.root_pem], **settings))
    return m


async def get(m: NetworkManager, url: str, **req: Any) -> tuple[Reply, list[ev.Event]]:
    reply = m.get(Request(url, **req))
    events: list[ev.Event] = []
    reply.subscribe(events.append)
    await reply.wait()
    return reply, events


class Answers:
    """Answers certificate questions like a user would, and remembers what was asked."""

    def __init__(self, m: NetworkManager, decide: Callable[[SslErrorsQuestion], None] | None = None) -> None:
        self.asked: list[SslErrorsQuestion] = []
        self.decide = decide or (lambda q: q.accept())
        m.questions.subscribe(self)

    def __call__(self, q: Any) -> None:
        if isinstance(q, SslErrorsQuestion):
            self.asked.append(q)
            self.decide(q)


def names(events: list[ev.Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_a_good_certificate_gives_tls_details_on_every_reply(loop, pki: Pki, tls_server) -> None:
    server: TlsServer = tls_server("good_rsa")

    async def go() -> None:
        m = manager(pki)
        first, e1 = await get(m, server.url + "/a")
        second, e2 = await get(m, server.url + "/b")  # same kept-alive connection
        assert first.error is NetworkError.NoError and second.error is NetworkError.NoError, first.error_string
        assert names(e1).count("Encrypted") == 1 and "Encrypted" not in names(e2)  # S5
        for r in (first, second):
            assert r.tls is not None
            assert r.tls.version in ("TLSv1.3", "TLSv1.2") and r.tls.cipher and r.tls.alpn == "http/1.1"
            assert r.tls.verification == "verified" and r.tls.errors == []
            assert r.tls.peer_chain[0].sha256 == pki.leaves["good_rsa"].fingerprint()
            assert r.tls.peer_chain[0].key_type == "RSA" and r.tls.peer_chain[0].key_size == 2048
            assert r.tls.session_resumed is False
        assert server.handshakes == 1
        await m.aclose()

    run(loop, go())


@pytest.mark.parametrize("case", sorted(c for c, errs in EXPECTED.items() if errs))
def test_a_broken_certificate_fails_with_every_problem_named_and_nothing_sent(loop, pki: Pki, tls_server,
                                                                            case: str) -> None:
    server: TlsServer = tls_server(case)

    async def go() -> None:
        m = manager(pki)  # nobody answers questions: refused
        reply, events = await get(m, server.url + "/secret")
        assert reply.error is NetworkError.SslHandshakeFailedError
        assert reply.error_string == f"SSL handshake failed: {EXPECTED[case][0].description}"
        assert reply.tls is not None and reply.tls.verification == "failed"
        assert [e.error for e in reply.tls.errors] == EXPECTED[case]
        assert reply.tls.peer_chain[0].sha256 == pki.leaves[case].fingerprint()
        [ssl_errors] = [e for e in events if isinstance(e, ev.SslErrors)]
        assert list(ssl_errors.errors) == reply.tls.errors
        assert "Encrypted" not in names(events)
        assert server.requests == []  # not one request byte reached the server
        await m.aclose()

    run(loop, go())


def test_accepting_for_the_session_covers_new_connections_but_not_a_new_certificate(loop, pki: Pki,
                                                                                   tls_server) -> None:
    server: TlsServer = tls_server("self_signed")

    async def go() -> None:
        m = manager(pki)
        answers = Answers(m)
        r1, e1 = await get(m, server.url + "/1")
        assert r1.error is NetworkError.NoError and json.loads(r1.content())["path"] == "/1"
        assert r1.tls is not None and r1.tls.verification == "exception"
        [q] = answers.asked
        assert (q.host, q.port, q.peer_name) == ("127.0.0.1", server.port, "127.0.0.1")
        assert [e.error for e in q.errors] == [SslError.SelfSignedCertificate]
        assert q.chain[0].sha256 == pki.leaves["self_signed"].fingerprint() and q.reply is r1
        assert names(e1).index("SslErrors") < names(e1).index("Encrypted")  # decided, then encrypted
        await m.clear_connection_cache()
        r2, e2 = await get(m, server.url + "/2")  # a new TLS connection, same certificate
        assert r2.error is NetworkError.NoError and len(answers.asked) == 1
        assert "SslErrors" in names(e2)  # still reported on every new handshake (S1)
        # The host now presents another certificate: the decision does not cover it (difference 6).
        server.set_context(pki_context(pki, "self_signed_2"))
        await m.clear_connection_cache()
        answers.decide = lambda q: q.refuse()
        r3, _ = await get(m, server.url + "/3")
        assert r3.error is NetworkError.SslHandshakeFailedError and len(answers.asked) == 2
        assert answers.asked[1].chain[0].sha256 == pki.leaves["self_signed_2"].fingerprint()
        assert [r["path"] for r in server.requests] == ["/1", "/2"]
        entries = m.tls.exceptions.entries()
        assert len(entries) == 1 and not entries[0].remembered
        await m.aclose()

    run(loop, go())


def pki_context(pki: Pki, case: str):  # type: ignore[no-untyped-def]
    from tests.tls_servers import server_context

    return server_context(pki.leaves[case])


def test_a_decision_is_per_port(loop, pki: Pki, tls_server) -> None:
    a, b = tls_server("self_signed"), tls_server("self_signed")

    async def go() -> None:
        m = manager(pki)
        answers = Answers(m)
        assert (await get(m, a.url))[0].error is NetworkError.NoError
        assert (await get(m, b.url))[0].error is NetworkError.NoError
        assert [q.port for q in answers.asked] == [a.port, b.port]
        await m.aclose()

    run(loop, go())


def test_ignore_ssl_errors_ignores_only_what_was_expected(loop, pki: Pki, tls_server) -> None:
    """QNAM S2: ignore_ssl_errors() ignores all; ignore_ssl_errors(list) only those errors."""
    server: TlsServer = tls_server("expired_wrong_host")
    leaf_errors = EXPECTED["expired_wrong_host"]

    async def go() -> None:
        m = manager(pki)
        partial = m.get(server.url + "/partial")
        partial.ignore_ssl_errors([SslError.HostNameMismatch, SslError.CertificateExpired])
        await partial.wait()
        assert partial.error is NetworkError.SslHandshakeFailedError  # the chain errors were not expected
        exact = m.get(server.url + "/exact")
        exact.ignore_ssl_errors(leaf_errors)
        await exact.wait()
        assert exact.error is NetworkError.NoError, exact.error_string
        await m.aclose()
        m2 = manager(pki)
        everything = m2.get(server.url + "/all")
        everything.ignore_ssl_errors()
        await everything.wait()
        assert everything.error is NetworkError.NoError
        m3 = manager(pki)
        from_event = m3.get(server.url + "/event")  # QNAM's way: from the sslErrors slot
        from_event.subscribe(lambda e: from_event.ignore_ssl_errors(list(e.errors))
                             if isinstance(e, ev.SslErrors) else None)
        await from_event.wait()
        assert from_event.error is NetworkError.NoError
        assert [r["path"] for r in server.requests] == ["/exact", "/all", "/event"]
        for mm in (m2, m3):
            await mm.aclose()

    run(loop, go())


def test_a_remembered_exception_survives_a_restart(loop, pki: Pki, tls_server, tmp_path: Path) -> None:
    server: TlsServer = tls_server("expired")

    async def go() -> None:
        m = manager(pki)
        m.tls.use_exception_store(tmp_path)
        Answers(m, lambda q: q.accept(remember=True))
        r, _ = await get(m, server.url + "/first")
        assert r.error is NetworkError.NoError
        [entry] = m.tls.exceptions.entries()
        assert entry.remembered and entry.key.sha256 == pki.leaves["expired"].fingerprint()
        await m.aclose()

    run(loop, go())
    # A new process (a restarted Courier) with no one to answer questions gets through.
    code = """
import asyncio, sys
from core import NetworkManager, NetworkError
from core.tls import TlsSettings
async def main():
    m = NetworkManager()
    m.tls.configure(TlsSettings(extra_ca_files=[sys.argv[2]]))
    m.tls.use_exception_store(sys.argv[3])
    r = await m.get(sys.argv[1]).wait()
    print(r.error.name, r.tls.verification, [e.error.name for e in r.tls.errors])
    await m.aclose()
asyncio.run(main())
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run([sys.executable, "-c", code, server.url + "/after-restart", pki.root_pem, str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["NoError", "exception", "['CertificateExpired']"], done.stderr
    assert [r["path"] for r in server.requests] == ["/first", "/after-restart"]

    async def revoke() -> None:
        m = manager(pki)
        store = m.tls.use_exception_store(tmp_path)
        [entry] = store.entries()
        assert store.revoke(entry.key)
        r, _ = await get(m, server.url + "/revoked")
        assert r.error is NetworkError.SslHandshakeFailedError
        await m.aclose()

    run(loop, revoke())


def test_peer_verify_name_checks_the_certificate_against_another_name(loop, pki: Pki, tls_server) -> None:
    server: TlsServer = tls_server("named")  # a certificate for api.courier.test only

    async def go() -> None:
        m = manager(pki)
        ok, _ = await get(m, server.url + "/named", peer_verify_name="api.courier.test")
        assert ok.error is NetworkError.NoError, ok.error_string
        assert ok.tls is not None and ok.tls.verification == "verified"
        plain, _ = await get(m, server.url + "/plain")
        assert plain.error is NetworkError.SslHandshakeFailedError
        assert plain.tls is not None and [e.error for e in plain.tls.errors] == [SslError.HostNameMismatch]
        assert server.sni[0] == "api.courier.test"  # the name goes out as SNI too, as Qt does
        await m.aclose()

    run(loop, go())


def test_do_not_verify_is_explicit_per_request_and_still_shows_the_problems(loop, pki: Pki, tls_server) -> None:
    server: TlsServer = tls_server("self_signed")

    async def go() -> None:
        m = manager(pki)
        answers = Answers(m)
        r, events = await get(m, server.url + "/insecure", attributes={Attribute.TLS_NO_VERIFY: True})
        assert r.error is NetworkError.NoError
        assert r.tls is not None and r.tls.verification == "disabled"
        assert [e.error for e in r.tls.errors] == [SslError.SelfSignedCertificate]
        assert answers.asked == [] and "SslErrors" in names(events)
        normal, _ = await get(m, server.url + "/normal")  # the next request verifies again
        assert normal.error is NetworkError.NoError and len(answers.asked) == 1
        await m.aclose()

    run(loop, go())


def test_aborting_while_the_question_is_open_cancels_it(loop, pki: Pki, tls_server) -> None:
    server: TlsServer = tls_server("self_signed")

    async def go() -> None:
        m = manager(pki)
        Answers(m, lambda q: None)  # the user looks at the dialog and never answers
        reply = m.get(server.url + "/never")
        for _ in range(200):
            await asyncio.sleep(0.01)
            if reply.extra.get("questions"):
                break
        [question] = reply.extra["questions"]
        reply.abort()
        await reply.wait()
        assert reply.error is NetworkError.OperationCanceledError
        await asyncio.sleep(0.05)
        assert question._future is not None and question._future.cancelled()
        assert server.requests == []
        await m.aclose()

    run(loop, go())


def test_the_trust_source_is_a_setting(loop, pki: Pki, tls_server) -> None:
    server: TlsServer = tls_server("good")

    async def go() -> None:
        for settings in (TlsSettings(), TlsSettings(trust=__import__("core.tls").tls.TrustSource.CERTIFI)):
            m = NetworkManager()
            m.tls.configure(settings)  # neither the system store nor certifi knows our test root
            r, _ = await get(m, server.url)
            assert r.error is NetworkError.SslHandshakeFailedError
            assert r.tls is not None
            assert [e.error for e in r.tls.errors] == [SslError.UnableToGetLocalIssuerCertificate,
                                                       SslError.UnableToVerifyFirstCertificate]
            m.tls.configure(TlsSettings(trust=settings.trust, extra_ca_files=[pki.root_pem]))
            r, _ = await get(m, server.url)
            assert r.error is NetworkError.NoError, r.error_string
            await m.aclose()

    run(loop, go())


def test_scope_values_are_stable() -> None:
    assert [s.value for s in DecisionScope] == ["session", "remember"]


def test_certificate_decisions_and_peer_names_work_through_a_connect_proxy(loop, pki: Pki, tls_server,
                                                                           tinyproxy) -> None:
    from core.proxy import Proxy, ProxyType

    broken: TlsServer = tls_server("self_signed")
    named: TlsServer = tls_server("named")

    async def go() -> None:
        m = manager(pki)
        m.set_proxy(Proxy(ProxyType.HTTP, "127.0.0.1", tinyproxy.port))
        answers = Answers(m, lambda q: q.refuse())
        refused, _ = await get(m, broken.url + "/refused")
        assert refused.error is NetworkError.SslHandshakeFailedError and len(answers.asked) == 1
        assert refused.tls is not None and [e.error for e in refused.tls.errors] == [SslError.SelfSignedCertificate]
        answers.decide = lambda q: q.accept()
        ok, events = await get(m, broken.url + "/accepted")
        assert ok.error is NetworkError.NoError, ok.error_string
        assert ok.tls is not None and ok.tls.verification == "exception" and "Encrypted" in names(events)
        assert [r["path"] for r in broken.requests] == ["/accepted"]
        by_name, _ = await get(m, named.url + "/named", peer_verify_name="api.courier.test")
        assert by_name.error is NetworkError.NoError, by_name.error_string
        assert named.sni == ["api.courier.test"]
        await m.aclose()

    run(loop, go())
    assert sum(1 for line in tinyproxy.requests() if line.startswith(f"CONNECT 127.0.0.1:{broken.port}")) >= 2
