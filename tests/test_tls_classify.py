"""Naming every certificate problem of a real server's chain, and the details a user sees."""

from __future__ import annotations

import datetime as dt
import socket
import ssl

import pytest

from core.tls import Certificate, SslError, TlsSettings, classify
from core.tls.classify import confirm
from core.tls.trust import ContextFactory
from tests.tls_servers import NOW, Pki, TlsServer

E = SslError

# What each broken server is wrong about, in Qt's order (HostNameMismatch first, then the chain,
# then validity dates from the top down). test_tls_vs_qnam.py checks these against QNAM itself.
EXPECTED = {
    "good": [],
    "good_rsa": [],
    "with_intermediate": [],
    "expired": [E.CertificateExpired],
    "not_yet_valid": [E.CertificateNotYetValid],
    "wrong_host": [E.HostNameMismatch],
    "self_signed": [E.SelfSignedCertificate],
    "unknown_ca": [E.UnableToGetLocalIssuerCertificate, E.UnableToVerifyFirstCertificate],
    "missing_intermediate": [E.UnableToGetLocalIssuerCertificate, E.UnableToVerifyFirstCertificate],
    "untrusted_root_in_chain": [E.SelfSignedCertificateInChain],
    "expired_wrong_host": [E.HostNameMismatch, E.UnableToGetLocalIssuerCertificate,
                           E.UnableToVerifyFirstCertificate, E.CertificateExpired],
}


def peer_chain(server: TlsServer, name: str = "127.0.0.1") -> list[Certificate]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=name) as s:
        return [Certificate(d) for d in s.get_unverified_chain()]


@pytest.fixture(scope="module")
def anchors(pki: Pki):  # type: ignore[no-untyped-def]
    return ContextFactory(TlsSettings(extra_ca_files=[pki.root_pem])).anchors()


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_every_problem_of_the_chain_is_named(tls_server, anchors, pki: Pki, case: str) -> None:
    chain = peer_chain(tls_server(case))
    errors = classify(chain, "127.0.0.1", anchors)
    assert [e.error for e in errors] == EXPECTED[case]
    for e in errors:
        assert e.certificate is not None and e.certificate in chain  # each error names its certificate
    if not errors:
        assert confirm(chain, "127.0.0.1", anchors) is None  # cryptography's verifier agrees
    else:
        assert confirm(chain, "127.0.0.1", anchors) is not None


def test_the_system_store_does_not_trust_a_test_ca(tls_server) -> None:
    anchors = ContextFactory(TlsSettings()).anchors()
    assert len(anchors) > 20  # the distribution's bundle was read
    errors = classify(peer_chain(tls_server("good")), "127.0.0.1", anchors)
    assert [e.error for e in errors] == [E.UnableToGetLocalIssuerCertificate, E.UnableToVerifyFirstCertificate]


def test_host_names_match_like_openssl(pki: Pki) -> None:
    leaf = Certificate.from_x509(pki.leaves["good"].cert)
    assert leaf.matches_host("127.0.0.1") and leaf.matches_host("LOCALHOST")
    assert not leaf.matches_host("127.0.0.2") and not leaf.matches_host("other")
    from tests.tls_servers import make_leaf

    wild = Certificate.from_x509(make_leaf(pki.root, names=("*.api.test", "::1")).cert)
    assert wild.matches_host("a.api.test") and wild.matches_host("[::1]")
    assert not wild.matches_host("api.test") and not wild.matches_host("a.b.api.test")
    assert not Certificate.from_x509(make_leaf(pki.root, names=("*.test",)).cert).matches_host("a.test")


def test_validity_is_judged_at_the_given_time(tls_server, anchors) -> None:
    chain = peer_chain(tls_server("good"))
    assert classify(chain, "127.0.0.1", anchors) == []
    later = NOW + dt.timedelta(days=400)  # the leaf lives a year
    assert [e.error for e in classify(chain, "127.0.0.1", anchors, later)] == [E.CertificateExpired]


def test_certificate_details(tls_server, pki: Pki) -> None:
    rsa_chain = peer_chain(tls_server("good_rsa"))
    leaf = rsa_chain[0]
    assert leaf.key_type == "RSA" and leaf.key_size == 2048
    assert leaf.subject == "CN=127.0.0.1,O=Courier tests"
    assert leaf.issuer == "CN=Courier Test Root CA,O=Courier tests"
    assert leaf.subject_alt_names == ["DNS:localhost", "IP:127.0.0.1"]
    assert leaf.sha256 == pki.leaves["good_rsa"].fingerprint()
    assert len(leaf.sha256_colons) == 95
    assert leaf.not_before < NOW < leaf.not_after
    assert not leaf.is_ca and not leaf.is_self_signed
    ec_leaf = peer_chain(tls_server("with_intermediate"))
    assert ec_leaf[0].key_type == "EC (secp256r1)" and ec_leaf[0].key_size == 256
    assert ec_leaf[1].is_ca and ec_leaf[1].subject.startswith("CN=Courier Test Intermediate CA")
    summary = leaf.summary()
    assert summary["key_size"] == 2048 and summary["sha256"] == leaf.sha256_colons
    assert leaf.pem().startswith("-----BEGIN CERTIFICATE-----")
