"""A peer certificate with the details a user needs, parsed lazily with ``cryptography``.

Connections keep only the DER bytes; subject, issuer, validity, SANs, key and fingerprint are
computed on first use (the UI asks for them; most requests never do).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from functools import cached_property
from typing import TYPE_CHECKING

# ``cryptography`` is imported where a detail is first needed, not with this module: it costs
# ~10 MB of memory and most sessions never look inside a certificate (docs/ui-performance.md).
if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.x509 import BasicConstraints, SubjectAlternativeName


class Certificate:
    """One X.509 certificate. Equal when the DER bytes are equal."""

    def __init__(self, der: bytes) -> None:
        self.der = bytes(der)

    @classmethod
    def from_x509(cls, cert: x509.Certificate) -> Certificate:
        from cryptography.hazmat.primitives import serialization

        c = cls(cert.public_bytes(serialization.Encoding.DER))
        c.__dict__["x509"] = cert
        return c

    @classmethod
    def from_pem(cls, pem: bytes) -> list[Certificate]:
        from cryptography import x509

        return [cls.from_x509(c) for c in x509.load_pem_x509_certificates(pem)]

    @cached_property
    def x509(self) -> x509.Certificate:
        from cryptography import x509

        return x509.load_der_x509_certificate(self.der)

    @cached_property
    def sha256(self) -> str:
        """SHA-256 fingerprint, lower-case hex without separators."""
        return hashlib.sha256(self.der).hexdigest()

    @property
    def sha256_colons(self) -> str:
        return ":".join(self.sha256[i:i + 2] for i in range(0, 64, 2)).upper()

    @cached_property
    def subject(self) -> str:
        return self.x509.subject.rfc4514_string()

    @cached_property
    def issuer(self) -> str:
        return self.x509.issuer.rfc4514_string()

    @cached_property
    def common_name(self) -> str | None:
        from cryptography import x509

        attrs = self.x509.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return str(attrs[0].value) if attrs else None

    @property
    def not_before(self) -> dt.datetime:
        return self.x509.not_valid_before_utc

    @property
    def not_after(self) -> dt.datetime:
        return self.x509.not_valid_after_utc

    @property
    def serial_number(self) -> str:
        return format(self.x509.serial_number, "x")

    @cached_property
    def dns_names(self) -> list[str]:
        from cryptography import x509

        san = self._san()
        return [str(n) for n in san.get_values_for_type(x509.DNSName)] if san is not None else []

    @cached_property
    def ip_addresses(self) -> list[str]:
        from cryptography import x509

        san = self._san()
        return [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] if san is not None else []

    @property
    def subject_alt_names(self) -> list[str]:
        """DNS names and IP addresses, as ``DNS:name`` / ``IP:address``."""
        return [f"DNS:{n}" for n in self.dns_names] + [f"IP:{a}" for a in self.ip_addresses]

    @cached_property
    def has_san(self) -> bool:
        return self._san() is not None

    def _san(self) -> SubjectAlternativeName | None:
        from cryptography import x509
        from cryptography.x509 import SubjectAlternativeName

        try:
            return self.x509.extensions.get_extension_for_class(SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return None

    @cached_property
    def key_type(self) -> str:
        from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

        key = self.x509.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            return "RSA"
        if isinstance(key, ec.EllipticCurvePublicKey):
            return f"EC ({key.curve.name})"
        if isinstance(key, ed25519.Ed25519PublicKey):
            return "Ed25519"
        if isinstance(key, ed448.Ed448PublicKey):
            return "Ed448"
        if isinstance(key, dsa.DSAPublicKey):
            return "DSA"
        return type(key).__name__

    @cached_property
    def key_size(self) -> int | None:
        from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

        key = self.x509.public_key()
        if isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, dsa.DSAPublicKey)):
            return int(key.key_size)
        if isinstance(key, ed25519.Ed25519PublicKey):
            return 256
        if isinstance(key, ed448.Ed448PublicKey):
            return 456
        return None

    @cached_property
    def is_ca(self) -> bool:
        bc = self._basic_constraints()
        return bool(bc is not None and bc.ca)

    def _basic_constraints(self) -> BasicConstraints | None:
        from cryptography import x509
        from cryptography.x509 import BasicConstraints

        try:
            return self.x509.extensions.get_extension_for_class(BasicConstraints).value
        except x509.ExtensionNotFound:
            return None

    @property
    def path_length(self) -> int | None:
        bc = self._basic_constraints()
        return bc.path_length if bc is not None else None

    @cached_property
    def server_auth_allowed(self) -> bool:
        """False when an extendedKeyUsage extension is present without serverAuth (or anyEKU)."""
        from cryptography import x509
        from cryptography.x509.oid import ExtendedKeyUsageOID

        try:
            eku = self.x509.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            return True
        return ExtendedKeyUsageOID.SERVER_AUTH in eku or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku

    @cached_property
    def is_self_issued(self) -> bool:
        return self.x509.subject == self.x509.issuer

    @cached_property
    def is_self_signed(self) -> bool:
        return self.is_self_issued and self.signed_by(self)

    def signed_by(self, issuer: Certificate) -> bool:
        """True when ``issuer``'s name and key made this certificate's signature."""
        from cryptography.exceptions import InvalidSignature

        try:
            self.x509.verify_directly_issued_by(issuer.x509)
        except (InvalidSignature, ValueError, TypeError):  # wrong name, bad signature, odd key type
            return False
        return True

    def matches_host(self, name: str) -> bool:
        """RFC 6125 matching as OpenSSL does it: IP SANs for addresses; DNS SANs (a wildcard only
        as the whole left-most label) for names, the common name only when there are no SANs."""
        host = name.strip("[]").rstrip(".").lower()
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if ip is not None:
            return any(ipaddress.ip_address(a) == ip for a in self.ip_addresses)
        if self.dns_names:
            return any(_dns_match(p, host) for p in self.dns_names)
        if not self.has_san and self.common_name:
            return _dns_match(self.common_name, host)
        return False

    def pem(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return self.x509.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def summary(self) -> dict[str, object]:
        """Every detail as plain values (for the UI, logs and tests)."""
        return {"subject": self.subject, "issuer": self.issuer, "not_before": self.not_before.isoformat(),
                "not_after": self.not_after.isoformat(), "subject_alt_names": self.subject_alt_names,
                "key_type": self.key_type, "key_size": self.key_size, "sha256": self.sha256_colons,
                "serial_number": self.serial_number, "is_ca": self.is_ca}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Certificate) and other.der == self.der

    def __hash__(self) -> int:
        return hash(self.der)

    def __repr__(self) -> str:
        return f"<Certificate {self.subject} sha256={self.sha256[:16]}…>"


def _dns_match(pattern: str, host: str) -> bool:
    pattern = pattern.rstrip(".").lower()
    if pattern == host:
        return True
    if not pattern.startswith("*."):
        return False
    suffix = pattern[1:]  # ".example.com"
    if suffix.count(".") < 2:  # no "*.com"
        return False
    head, dot, rest = host.partition(".")
    return bool(head) and bool(dot) and "." + rest == suffix
