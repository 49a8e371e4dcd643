"""TLS: certificate errors named like QSslError, certificate details, exceptions the user decides
(scoped to host, port and certificate), trust stores, client certificates, key log and PSK."""

from core.tls.certificate import Certificate
from core.tls.classify import Anchors, classify
from core.tls.errors import CertificateError, SslError, describe_ssl_error
from core.tls.provider import TlsManager, find_ssl_error
from core.tls.questions import DecisionScope, PskAnswer, PskQuestion, SslDecision, SslErrorsQuestion
from core.tls.store import CertificateException, ExceptionKey, ExceptionStore
from core.tls.trust import ClientCertificate, TlsSettings, TrustSource, psk_supported

__all__ = [
    "Anchors", "Certificate", "CertificateError", "CertificateException", "ClientCertificate",
    "DecisionScope", "ExceptionKey", "ExceptionStore", "PskAnswer", "PskQuestion", "SslDecision",
    "SslError", "SslErrorsQuestion", "TlsManager", "TlsSettings", "TrustSource", "classify",
    "describe_ssl_error", "find_ssl_error", "psk_supported",
]
