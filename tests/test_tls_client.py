"""Client certificates per host, the TLS key log, and pre-shared keys, against real servers."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from pathlib import Path
from typing import Any

import pytest

from core import NetworkError, NetworkManager, Request
from core.tls import ClientCertificate, PskAnswer, PskQuestion, TlsSettings, psk_supported
from tests.tls_servers import Pki, TlsServer, psk_server_context, server_context


def run(loop: asyncio.AbstractEventLoop, coro):  # type: ignore[no-untyped-def]
    return loop.run_until_complete(asyncio.wait_for(coro, 60))


def manager(pki: Pki, **settings: Any) -> NetworkManager:
    m = NetworkManager()
    m.tls.configure(TlsSettings(extra_ca_files=[pki.root_pem], **settings))
    return m


@pytest.fixture
def mtls_server(pki: Pki, tls_server) -> TlsServer:  # type: ignore[no-untyped-def]
    server: TlsServer = tls_server("good", client_ca_file=pki.client_ca_pem)
    return server


def test_a_server_that_requires_a_client_certificate_says_so(loop, pki: Pki, mtls_server: TlsServer) -> None:
    async def go() -> None:
        m = manager(pki)
        r = await m.get(mtls_server.url + "/mtls").wait()
        assert r.error is NetworkError.SslHandshakeFailedError
        assert "requires a client certificate" in r.error_string
        assert mtls_server.requests == []
        await m.aclose()

    run(loop, go())


def test_a_pem_client_certificate_is_sent_to_its_host_only(loop, pki: Pki, mtls_server: TlsServer,
                                                          tmp_path: Path, tls_server) -> None:
    cert, key = pki.client.write(tmp_path, "client", key_password=b"pem secret")
    asked: list[str] = []

    def password() -> str:
        asked.append("pem")
        return "pem secret"

    other: TlsServer = tls_server("good", client_ca_file=pki.client_ca_pem)

    async def go() -> None:
        cc = ClientCertificate(cert, key, password=password)
        m = manager(pki, client_certificates={f"127.0.0.1:{mtls_server.port}": cc})
        r = await m.get(mtls_server.url + "/mtls").wait()
        assert r.error is NetworkError.NoError, r.error_string
        assert json.loads(r.content())["client_cert"]["commonName"] == "Courier Client"
        r2 = await m.get(other.url + "/other").wait()  # another port: no certificate configured
        assert r2.error is NetworkError.SslHandshakeFailedError and other.requests == []
        await m.aclose()

    run(loop, go())
    assert asked == ["pem"]  # the password was fetched when the context was built, once


def test_a_pkcs12_client_certificate_with_its_password_from_the_app(loop, pki: Pki, mtls_server: TlsServer,
                                                                    tmp_path: Path) -> None:
    p12 = pki.client.write_pkcs12(tmp_path / "client.p12", b"from the keyring")
    before = set(Path("/tmp").glob("courier-cc-*"))

    async def go() -> None:
        m = manager(pki, client_certificates={"127.0.0.1": ClientCertificate(p12, password=lambda: b"from the keyring")})
        r = await m.get(mtls_server.url + "/p12").wait()
        assert r.error is NetworkError.NoError, r.error_string
        assert json.loads(r.content())["client_cert"]["commonName"] == "Courier Client"
        await m.aclose()
        bad = manager(pki, client_certificates={"127.0.0.1": ClientCertificate(p12, password="wrong")})
        r = await bad.get(mtls_server.url + "/p12-bad").wait()
        assert r.error is NetworkError.SslHandshakeFailedError
        assert "wrong password" in r.error_string and "client.p12" in r.error_string
        await bad.aclose()

    run(loop, go())
    assert set(Path("/tmp").glob("courier-cc-*")) == before  # no decrypted key left behind
    assert [r["path"] for r in mtls_server.requests] == ["/p12"]


def test_the_key_log_holds_the_secrets_of_the_connection(loop, pki: Pki, tmp_path: Path) -> None:
    """The client's SSLKEYLOGFILE lines are exactly the server's: Wireshark can decrypt with them."""
    server_log, client_log = tmp_path / "server.keys", tmp_path / "client.keys"
    ctx = server_context(pki.leaves["good"])
    ctx.keylog_filename = str(server_log)
    server = TlsServer(ctx)

    async def go() -> None:
        m = manager(pki, keylog_file=str(client_log))
        r = await m.get(server.url + "/keylog").wait()
        assert r.error is NetworkError.NoError, r.error_string
        await m.aclose()
        off = manager(pki)
        await off.get(server.url + "/no-keylog").wait()
        await off.aclose()

    try:
        run(loop, go())
    finally:
        server.close()
    lines = [ln for ln in client_log.read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines and all(re.fullmatch(r"[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]+", ln) for ln in lines)
    server_lines = [ln for ln in server_log.read_text().splitlines() if ln and not ln.startswith("#")]
    assert sorted(lines) == sorted(server_lines[: len(lines)])  # one connection logged, the first
    assert len(server_lines) == 2 * len(lines)  # the second connection was not logged by the client


needs_psk = pytest.mark.skipif(not psk_supported(), reason="TLS-PSK needs Python 3.13 (ssl.set_psk_client_callback)")


@needs_psk
def test_a_psk_server_asks_for_identity_and_key(loop) -> None:
    server = TlsServer(psk_server_context({"device-7": b"0123456789abcdef"}, hint="courier-hint"))
    answers = [PskAnswer("device-7", b"wrong key value!"), PskAnswer("device-7", b"0123456789abcdef")]
    asked: list[PskQuestion] = []

    def listener(q: Any) -> None:
        if isinstance(q, PskQuestion):
            asked.append(q)
            q.answer(answers[len(asked) - 1])

    async def go() -> None:
        m = NetworkManager()
        m.questions.subscribe(listener)
        r = await m.get(Request(server.url + "/psk")).wait()
        assert r.error is NetworkError.NoError, r.error_string
        assert r.tls is not None and r.tls.verification == "psk" and "PSK" in (r.tls.cipher or "")
        assert json.loads(r.content())["path"] == "/psk"
        assert [(q.identity_hint, q.attempt, q.host, q.port) for q in asked] == \
            [("courier-hint", 1, "127.0.0.1", server.port), ("courier-hint", 2, "127.0.0.1", server.port)]
        assert "0123456789abcdef" not in repr(asked[1]) and "key=" not in repr(answers[1])
        await m.clear_connection_cache()
        again = await m.get(server.url + "/again").wait()  # the key is kept for the session
        assert again.error is NetworkError.NoError and len(asked) == 2
        await m.aclose()

    try:
        run(loop, go())
    finally:
        server.close()
    assert [r["path"] for r in server.requests] == ["/psk", "/again"]


@needs_psk
def test_psk_without_an_answer_fails_clearly_and_a_preset_key_needs_no_question(loop) -> None:
    server = TlsServer(psk_server_context({"device-7": b"0123456789abcdef"}))

    async def go() -> None:
        m = NetworkManager()  # no listener: the question is answered None
        r = await m.get(server.url + "/none").wait()
        assert r.error is NetworkError.SslHandshakeFailedError
        assert "pre-shared key" in r.error_string
        await m.aclose()
        preset = NetworkManager()
        preset.tls.set_psk("127.0.0.1", server.port, "device-7", b"0123456789abcdef")
        preset.tls.configure(TlsSettings(psk_hosts={f"127.0.0.1:{server.port}"}))
        r = await preset.get(server.url + "/preset").wait()
        assert r.error is NetworkError.NoError, r.error_string
        await preset.aclose()

    try:
        run(loop, go())
    finally:
        server.close()
    assert [r["path"] for r in server.requests] == ["/preset"]


def test_an_ordinary_handshake_failure_is_not_mistaken_for_psk(loop, pki: Pki) -> None:
    """A server that refuses our handshake (it wants a SHA-1 suite we do not offer) is tried once
    with PSK suites, which it does not want either: the ordinary error stands, nothing is asked."""
    ctx = server_context(pki.leaves["good"])
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-AES128-SHA")  # a suite our client does not offer
    server = TlsServer(ctx)
    asked: list[Any] = []

    async def go() -> None:
        m = manager(pki)
        m.questions.subscribe(asked.append)
        r = await m.get(server.url + "/x").wait()
        assert r.error is NetworkError.SslHandshakeFailedError
        assert asked == []
        for _ in range(100):  # the server thread counts its failure just after sending the alert
            if server.failed_handshakes >= 2:
                break
            await asyncio.sleep(0.02)
        assert server.failed_handshakes == 2  # the ordinary attempt and one with PSK suites
        await m.aclose()

    try:
        run(loop, go())
    finally:
        server.close()


def test_without_python_313_psk_says_so_plainly(loop, monkeypatch) -> None:
    """On Python 3.12 ``ssl`` has no PSK callbacks: a PSK host fails with a sentence saying why."""
    import core.tls.trust as trust

    monkeypatch.setattr(trust, "psk_supported", lambda: False)
    server = TlsServer(psk_server_context({"device-7": b"0123456789abcdef"}))

    async def go() -> None:
        m = NetworkManager()
        m.tls.configure(TlsSettings(psk_hosts={"127.0.0.1"}))
        r = await m.get(server.url + "/psk").wait()
        assert r.error is NetworkError.SslHandshakeFailedError
        assert r.error_string == "TLS pre-shared keys need Python 3.13 or newer"
        await m.aclose()

    try:
        run(loop, go())
    finally:
        server.close()
    assert server.requests == []
