"""Every verification problem of a peer's chain, in the order Qt reports them.

OpenSSL stops at its first error unless a verify callback keeps it going (Qt installs one; Python
cannot), so we name the problems ourselves from the chain the peer sent: the host name first (as
Qt checks it before translating OpenSSL's list), then chain building, CA and purpose checks, then
validity dates from the top of the chain down — the order of OpenSSL's ``X509_verify_cert``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING

from core.tls.certificate import Certificate
from core.tls.errors import CertificateError, SslError

if TYPE_CHECKING:  # cryptography is imported when a chain is checked (start-up memory)
    from cryptography.x509 import verification

MAX_DEPTH = 10


class Anchors:
    """Trusted root certificates, indexed by subject for issuer look-ups."""

    def __init__(self, certificates: Sequence[Certificate]) -> None:
        self.certificates = list(certificates)
        self._ders = {c.der for c in self.certificates}
        self._by_subject: dict[bytes, list[Certificate]] = {}
        for c in self.certificates:
            try:
                key = c.x509.subject.public_bytes()
            except ValueError:
                continue
            self._by_subject.setdefault(key, []).append(c)

        self._store: verification.Store | None = None

    def store(self) -> verification.Store | None:
        if self._store is None and self.certificates:
            from cryptography.x509 import verification

            self._store = verification.Store([c.x509 for c in self.certificates])
        return self._store

    def __len__(self) -> int:
        return len(self.certificates)

    def contains(self, cert: Certificate) -> bool:
        return cert.der in self._ders

    def issuers_of(self, cert: Certificate) -> list[Certificate]:
        return list(self._by_subject.get(cert.x509.issuer.public_bytes(), ()))


def _find_issuer(cert: Certificate, anchors: Anchors, pool: Sequence[Certificate],
                 used: set[bytes]) -> tuple[Certificate | None, bool, bool]:
    """(issuer, from_anchors, name_matched_but_bad_signature). Trusted issuers first (OpenSSL's
    X509_V_FLAG_TRUSTED_FIRST), then the certificates the peer sent."""
    bad_signature = False
    for candidate in anchors.issuers_of(cert):
        if cert.signed_by(candidate):
            return candidate, True, False
        bad_signature = True
    for candidate in pool:
        if candidate.der in used or candidate.x509.subject != cert.x509.issuer:
            continue
        if cert.signed_by(candidate):
            return candidate, False, False
        bad_signature = True
    return None, False, bad_signature


def classify(chain: Sequence[Certificate], peer_name: str, anchors: Anchors,
             now: dt.datetime | None = None) -> list[CertificateError]:
    """All problems of ``chain`` (leaf first, as sent) for a connection meant for ``peer_name``.

    An empty list means: the chain leads to a trusted root, every certificate is within its
    validity, CAs are CAs, and the leaf names ``peer_name``.
    """
    if not chain:
        return [CertificateError(SslError.NoPeerCertificate)]
    now = now or dt.datetime.now(dt.UTC)
    leaf = chain[0]
    errors: list[CertificateError] = []
    if not leaf.matches_host(peer_name):
        errors.append(CertificateError(SslError.HostNameMismatch, leaf))

    path = [leaf]
    used = {leaf.der}
    trusted = anchors.contains(leaf)
    while not trusted and len(path) <= MAX_DEPTH:
        current = path[-1]
        if current.is_self_signed:
            errors.append(CertificateError(SslError.SelfSignedCertificate if len(path) == 1
                                           else SslError.SelfSignedCertificateInChain, current))
            break
        issuer, from_anchors, bad_sig = _find_issuer(current, anchors, chain[1:], used)
        if issuer is None:
            if bad_sig:
                errors.append(CertificateError(SslError.CertificateSignatureFailed, current))
            else:
                errors.append(CertificateError(SslError.UnableToGetLocalIssuerCertificate, current))
                if len(path) == 1:
                    errors.append(CertificateError(SslError.UnableToVerifyFirstCertificate, current))
            break
        path.append(issuer)
        used.add(issuer.der)
        trusted = from_anchors
    else:
        if not trusted:
            errors.append(CertificateError(SslError.PathLengthExceeded, path[-1]))

    # CA and purpose checks (OpenSSL check_chain_extensions): every issuer must be a CA, path
    # length constraints hold, the leaf may serve TLS servers.
    for depth, cert in enumerate(path[1:], start=1):
        if not cert.is_ca and not anchors.contains(cert):
            errors.append(CertificateError(SslError.InvalidCaCertificate, cert))
        limit = cert.path_length
        if limit is not None and depth - 1 > limit:
            errors.append(CertificateError(SslError.PathLengthExceeded, cert))
    if not leaf.server_auth_allowed:
        errors.append(CertificateError(SslError.InvalidPurpose, leaf))

    # Validity dates, top of the chain first (OpenSSL internal_verify).
    for cert in reversed(path):
        if cert.not_before > now:
            errors.append(CertificateError(SslError.CertificateNotYetValid, cert))
        elif cert.not_after < now:
            errors.append(CertificateError(SslError.CertificateExpired, cert))
    return errors


def confirm(chain: Sequence[Certificate], peer_name: str, anchors: Anchors,
            now: dt.datetime | None = None) -> str | None:
    """A second opinion from ``cryptography``'s path validation (RFC 5280 / CA/B profile) for a
    chain ``classify`` found nothing wrong with. Returns its objection, or None when it agrees."""
    from cryptography import x509
    from cryptography.x509 import verification

    store = anchors.store()
    if store is None or not chain:
        return "no trusted root certificates are loaded"
    name = peer_name.strip("[]")
    subject: x509.DNSName | x509.IPAddress
    try:
        subject = x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        subject = x509.DNSName(name)
    builder = verification.PolicyBuilder().store(store).time(now or dt.datetime.now(dt.UTC))
    try:
        builder.build_server_verifier(subject).verify(chain[0].x509, [c.x509 for c in chain[1:]])
    except (verification.VerificationError, ValueError) as exc:
        return str(exc) or type(exc).__name__
    return None
