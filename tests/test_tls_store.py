"""Remembered certificate exceptions: scoped to (host, port, certificate), persisted, revocable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.tls import Certificate, CertificateError, ExceptionKey, ExceptionStore, SslError
from tests.tls_servers import Pki


def errors_for(pki: Pki, case: str, *kinds: SslError) -> tuple[Certificate, list[CertificateError]]:
    cert = Certificate.from_x509(pki.leaves[case].cert)
    return cert, [CertificateError(k, cert) for k in kinds]


def test_a_decision_covers_only_that_certificate_and_those_errors(pki: Pki) -> None:
    store = ExceptionStore()
    cert, errs = errors_for(pki, "self_signed", SslError.SelfSignedCertificate)
    key = ExceptionKey.of("127.0.0.1", 8443, cert.sha256)
    store.add(key, errs)
    assert store.allows(key, errs)
    assert store.allows(key, [])  # fewer problems than accepted: still fine
    assert not store.allows(key, [*errs, CertificateError(SslError.CertificateExpired, cert)])
    other, other_errs = errors_for(pki, "self_signed_2", SslError.SelfSignedCertificate)
    assert not store.allows(ExceptionKey.of("127.0.0.1", 8443, other.sha256), other_errs)
    assert not store.allows(ExceptionKey.of("127.0.0.1", 8444, cert.sha256), errs)
    assert not store.allows(ExceptionKey.of("localhost", 8443, cert.sha256), errs)
    assert store.has_host("127.0.0.1", 8443) and not store.has_host("127.0.0.1", 1)


def test_session_decisions_are_not_written(tmp_path: Path, pki: Pki) -> None:
    store = ExceptionStore(tmp_path)
    cert, errs = errors_for(pki, "expired", SslError.CertificateExpired)
    store.add(ExceptionKey.of("h", 1, cert.sha256), errs)
    assert not (tmp_path / "tls-exceptions.json").exists()
    store.clear_session()
    assert store.entries() == []


def test_remembered_exceptions_survive_a_restart(tmp_path: Path, pki: Pki) -> None:
    """A real restart: another Python process reads what this one remembered, and revokes it."""
    store = ExceptionStore(tmp_path)
    cert, errs = errors_for(pki, "expired_wrong_host", SslError.HostNameMismatch, SslError.CertificateExpired)
    key = ExceptionKey.of("Example.COM.", 443, cert.sha256_colons)
    store.add(key, errs, remember=True, subject=cert.subject)
    session_cert, session_errs = errors_for(pki, "self_signed", SslError.SelfSignedCertificate)
    store.add(ExceptionKey.of("example.com", 8443, session_cert.sha256), session_errs)
    path = tmp_path / "tls-exceptions.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    code = f"""
import sys
from core.tls import ExceptionStore, ExceptionKey, Certificate, CertificateError, SslError
store = ExceptionStore(sys.argv[1])
assert store.load_error is None, store.load_error
[item] = store.entries()
assert item.remembered and item.key == ExceptionKey('example.com', 443, '{cert.sha256}'), item
cert = Certificate(bytes.fromhex('{cert.der.hex()}'))
assert store.allows(item.key, [CertificateError(SslError.CertificateExpired, cert)])
assert not store.allows(item.key, [CertificateError(SslError.SelfSignedCertificate, cert)])
assert item.error_names() == ['CertificateExpired', 'HostNameMismatch'], item.error_names()
assert store.revoke(item.key)
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(path.read_text())["exceptions"] == []  # the other process revoked it
    assert ExceptionStore(tmp_path).entries() == []


def test_an_unreadable_file_is_kept_aside_and_reported(tmp_path: Path, pki: Pki) -> None:
    path = tmp_path / "tls-exceptions.json"
    path.write_text('{"version": 1, "exceptions": [{"host": "x"')
    store = ExceptionStore(tmp_path)
    assert store.load_error is not None and "could not be read" in store.load_error
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("tls-exceptions.json.unreadable-")]
    assert len(kept) == 1 and kept[0].read_text().startswith('{"version": 1')  # nothing lost
    cert, errs = errors_for(pki, "self_signed", SslError.SelfSignedCertificate)
    store.add(ExceptionKey.of("h", 1, cert.sha256), errs, remember=True)
    assert len(ExceptionStore(tmp_path).entries()) == 1


def test_revoking_a_remembered_exception_rewrites_the_file(tmp_path: Path, pki: Pki) -> None:
    store = ExceptionStore(tmp_path)
    a, a_errs = errors_for(pki, "self_signed", SslError.SelfSignedCertificate)
    b, b_errs = errors_for(pki, "self_signed_2", SslError.SelfSignedCertificate)
    ka, kb = ExceptionKey.of("a", 1, a.sha256), ExceptionKey.of("b", 2, b.sha256)
    store.add(ka, a_errs, remember=True)
    store.add(kb, b_errs, remember=True)
    assert [e.key for e in ExceptionStore(tmp_path).entries()] == [ka, kb]
    assert store.revoke(ka) and not store.revoke(ka)
    assert [e.key for e in ExceptionStore(tmp_path).entries()] == [kb]
    assert [p.name for p in tmp_path.iterdir()] == ["tls-exceptions.json"]  # no temporary files left
