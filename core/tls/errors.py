"""Certificate verification errors named and numbered like ``QSslError::SslError``.

A ``CertificateError`` pairs an error with the certificate it is about, as ``QSslError`` does, so
that an exception can ignore "expired, for this certificate" and nothing else.
"""

from __future__ import annotations

import enum
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.tls.certificate import Certificate


class SslError(enum.IntEnum):
    NoError = 0
    UnableToGetIssuerCertificate = 1
    UnableToDecryptCertificateSignature = 2
    UnableToDecodeIssuerPublicKey = 3
    CertificateSignatureFailed = 4
    CertificateNotYetValid = 5
    CertificateExpired = 6
    InvalidNotBeforeField = 7
    InvalidNotAfterField = 8
    SelfSignedCertificate = 9
    SelfSignedCertificateInChain = 10
    UnableToGetLocalIssuerCertificate = 11
    UnableToVerifyFirstCertificate = 12
    CertificateRevoked = 13
    InvalidCaCertificate = 14
    PathLengthExceeded = 15
    InvalidPurpose = 16
    CertificateUntrusted = 17
    CertificateRejected = 18
    SubjectIssuerMismatch = 19
    AuthorityIssuerSerialNumberMismatch = 20
    NoPeerCertificate = 21
    HostNameMismatch = 22
    NoSslSupport = 23
    CertificateBlacklisted = 24
    CertificateStatusUnknown = 25
    UnspecifiedError = -1

    @property
    def description(self) -> str:
        """The sentence QSslError::errorString() gives."""
        return _DESCRIPTIONS.get(self, "Unknown error")


_DESCRIPTIONS = {
    SslError.NoError: "No error",
    SslError.UnableToGetIssuerCertificate: "The issuer certificate could not be found",
    SslError.UnableToDecryptCertificateSignature: "The certificate signature could not be decrypted",
    SslError.UnableToDecodeIssuerPublicKey: "The public key in the certificate could not be read",
    SslError.CertificateSignatureFailed: "The signature of the certificate is invalid",
    SslError.CertificateNotYetValid: "The certificate is not yet valid",
    SslError.CertificateExpired: "The certificate has expired",
    SslError.InvalidNotBeforeField: "The certificate's notBefore field contains an invalid time",
    SslError.InvalidNotAfterField: "The certificate's notAfter field contains an invalid time",
    SslError.SelfSignedCertificate: "The certificate is self-signed, and untrusted",
    SslError.SelfSignedCertificateInChain:
        "The root certificate of the certificate chain is self-signed, and untrusted",
    SslError.UnableToGetLocalIssuerCertificate:
        "The issuer certificate of a locally looked up certificate could not be found",
    SslError.UnableToVerifyFirstCertificate: "No certificates could be verified",
    SslError.CertificateRevoked: "The certificate has been revoked",
    SslError.InvalidCaCertificate: "One of the CA certificates is invalid",
    SslError.PathLengthExceeded: "The basicConstraints path length parameter has been exceeded",
    SslError.InvalidPurpose: "The supplied certificate is unsuitable for this purpose",
    SslError.CertificateUntrusted: "The root CA certificate is not trusted for this purpose",
    SslError.CertificateRejected: "The root CA certificate is marked to reject the specified purpose",
    SslError.NoPeerCertificate: "The peer did not present any certificate",
    SslError.HostNameMismatch: "The host name did not match any of the valid hosts for this certificate",
    SslError.CertificateBlacklisted: "The peer certificate is blacklisted",
}

# OpenSSL's X509_V_ERR_* codes (``SSLCertVerificationError.verify_code``) → QSslError, as Qt maps them.
_FROM_OPENSSL = {
    2: SslError.UnableToGetIssuerCertificate,
    4: SslError.UnableToDecryptCertificateSignature,
    6: SslError.UnableToDecodeIssuerPublicKey,
    7: SslError.CertificateSignatureFailed,
    9: SslError.CertificateNotYetValid,
    10: SslError.CertificateExpired,
    13: SslError.InvalidNotBeforeField,
    14: SslError.InvalidNotAfterField,
    18: SslError.SelfSignedCertificate,
    19: SslError.SelfSignedCertificateInChain,
    20: SslError.UnableToGetLocalIssuerCertificate,
    21: SslError.UnableToVerifyFirstCertificate,
    23: SslError.CertificateRevoked,
    24: SslError.InvalidCaCertificate,
    25: SslError.PathLengthExceeded,
    26: SslError.InvalidPurpose,
    27: SslError.CertificateUntrusted,
    28: SslError.CertificateRejected,
    62: SslError.HostNameMismatch,
    64: SslError.HostNameMismatch,
}


def from_openssl(verify_code: int) -> SslError:
    return _FROM_OPENSSL.get(verify_code, SslError.UnspecifiedError)


@dataclass(frozen=True, slots=True, eq=False)
class CertificateError:
    """One problem with one certificate of the peer's chain (QSslError)."""

    error: SslError
    certificate: Certificate | None = None
    detail: str = ""  # extra words, e.g. OpenSSL's own message for an error we could not name

    @property
    def fingerprint(self) -> str:
        return self.certificate.sha256 if self.certificate is not None else ""

    def __str__(self) -> str:
        text = self.error.description
        if self.detail:
            text = f"{text} ({self.detail})"
        if self.certificate is not None:
            text = f"{text}: {self.certificate.subject}"
        return text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CertificateError):
            return NotImplemented
        return self.error == other.error and self.fingerprint == other.fingerprint

    def __hash__(self) -> int:
        return hash((self.error, self.fingerprint))


def describe_ssl_error(err: ssl.SSLError) -> str:
    """QNAM-style text for a TLS failure, with words a user understands for the common alerts."""
    reason = err.reason or ""
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"SSL handshake failed: {from_openssl(err.verify_code).description}"
    if reason in ("TLSV13_ALERT_CERTIFICATE_REQUIRED", "SSLV3_ALERT_HANDSHAKE_FAILURE_CERT_REQUIRED"):
        return "SSL handshake failed: the server requires a client certificate"
    if reason in ("SSLV3_ALERT_BAD_CERTIFICATE", "TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_CERTIFICATE_UNKNOWN"):
        return f"SSL handshake failed: the server rejected the client certificate ({reason})"
    if reason in ("SSLV3_ALERT_BAD_RECORD_MAC", "PSK_IDENTITY_NOT_FOUND", "TLSV1_ALERT_DECRYPT_ERROR"):
        return f"SSL handshake failed: the pre-shared key was not accepted ({reason})"
    return f"SSL handshake failed: {reason or err}"
