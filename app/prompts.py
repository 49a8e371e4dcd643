"""What the dialogs show, as plain data: built from the core's questions (or from certificates).

The dialogs depend on these small dataclasses, not on the core's question classes, so they can be
shown and tested on their own (and rendered for the screenshots).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any, Protocol

from app.secrets import CredentialKey

# QSslError names → what they mean for the user.
PLAIN_WORDS: dict[str, str] = {
    "SelfSignedCertificate": "The certificate is self-signed: nobody but the server itself vouches for it.",
    "SelfSignedCertificateInChain": "The chain ends in a self-signed certificate that is not in your trust store.",
    "UnableToGetLocalIssuerCertificate": "The certificate was issued by an authority your trust store does not know.",
    "UnableToGetIssuerCertificate": "The certificate of the issuing authority could not be found.",
    "UnableToVerifyFirstCertificate": "The server did not send the intermediate certificates needed to verify it.",
    "CertificateUntrusted": "The root authority is not trusted for this purpose.",
    "CertificateRejected": "The root authority is marked to reject this purpose.",
    "CertificateExpired": "The certificate has expired.",
    "CertificateNotYetValid": "The certificate is not valid yet (check the clock, or the server installed it early).",
    "HostNameMismatch": "The certificate was issued for a different host name.",
    "CertificateRevoked": "The certificate has been revoked by its issuer.",
    "InvalidCaCertificate": "A certificate in the chain is not allowed to issue certificates.",
    "PathLengthExceeded": "The chain is longer than an authority in it allows.",
    "InvalidPurpose": "The certificate may not be used to identify a server.",
    "CertificateSignatureFailed": "A signature in the chain does not verify: the certificate may have been tampered with.",
    "UnableToDecryptCertificateSignature": "A signature in the chain could not be read.",
    "InvalidNotBeforeField": "The certificate's start date is malformed.",
    "InvalidNotAfterField": "The certificate's end date is malformed.",
    "NoPeerCertificate": "The server sent no certificate.",
    "NoSslSupport": "TLS is not available.",
    "CertificateBlacklisted": "The certificate is on a block list.",
}


def plain_words(error_name: str, detail: str = "") -> str:
    text = PLAIN_WORDS.get(error_name)
    if text is None:
        text = detail or f"The certificate could not be verified ({error_name})."
    return text


class CertDecision(enum.Enum):
    CANCEL = "cancel"
    ONCE = "once"  # proceed for this connection only
    ALWAYS = "always"  # trust this certificate (fingerprint) for this host from now on


@dataclass(frozen=True)
class CertificateView:
    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    sans: list[str]
    sha256: str  # hex, colon-separated pairs
    key: str = ""  # e.g. "RSA 2048 bits", "EC secp256r1"
    serial: str = ""

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer

    def validity_problem(self, now: dt.datetime | None = None) -> str | None:
        now = now or dt.datetime.now(dt.UTC)
        if now < self.not_before:
            return "not valid yet"
        if now > self.not_after:
            return "expired"
        return None

    @property
    def short_name(self) -> str:
        """The common name, else the first alternative name, else the organisation."""
        parts = [p.strip() for p in self.subject.split(",")]
        for prefix in ("CN=",):
            for part in parts:
                if part.upper().startswith(prefix):
                    return part[len(prefix):]
        if self.sans:
            return self.sans[0].split(":", 1)[1]
        for part in parts:
            if part.upper().startswith(("O=", "OU=")):
                return part.split("=", 1)[1]
        return self.subject or "(no subject)"


@dataclass(frozen=True)
class CertError:
    name: str  # QSslError-like name, e.g. "SelfSignedCertificate"
    detail: str = ""  # the TLS library's own words
    certificate: int | None = None  # index into the chain it concerns

    @property
    def text(self) -> str:
        return plain_words(self.name, self.detail)


@dataclass(frozen=True)
class CertPrompt:
    host: str
    port: int
    errors: list[CertError]
    chain: list[CertificateView]  # leaf first
    url: str = ""

    def explain(self, error: CertError) -> str:
        """The plain words, made concrete where the prompt knows more (which names, which host)."""
        text = error.text
        if error.name == "HostNameMismatch" and self.chain:
            names = [n.split(":", 1)[1] for n in self.chain[0].sans] or [self.chain[0].short_name]
            text += f" You asked for {self.host}; it is valid for {', '.join(names)}."
        return text


@dataclass(frozen=True)
class AuthPrompt:
    proxy: bool  # a proxy (407) rather than the server (401) asks
    scheme: str  # the authentication scheme: Basic, Digest, ...
    realm: str
    host: str
    port: int
    url_scheme: str  # http/https for a server; http/socks5 for a proxy
    previous_user: str = ""
    previous_failed: bool = False  # the last credentials were rejected
    url: str = ""  # the request that needs them

    @property
    def key(self) -> CredentialKey:
        return CredentialKey("proxy" if self.proxy else "server", self.url_scheme, self.host, self.port, self.realm)

    @property
    def lookup_keys(self) -> list[CredentialKey]:
        """Where remembered credentials may be: this realm; for a proxy also the settings' entry."""
        keys = [self.key]
        if self.proxy:
            keys.append(CredentialKey.for_configured_proxy(self.url_scheme, self.host, self.port))
        return keys

    @property
    def cleartext_password(self) -> bool:
        """Basic over plain HTTP sends the password readable by anyone on the path."""
        return self.scheme.lower() == "basic" and self.url_scheme == "http"


@dataclass(frozen=True)
class RedirectPrompt:
    source: str
    target: str
    status: int
    method: str = "GET"
    cross_origin: bool = False

    @property
    def downgrade(self) -> bool:
        return self.source.startswith("https:") and self.target.startswith("http:")


@dataclass(frozen=True)
class PskPrompt:
    """A TLS server that wants a pre-shared key: identity and key, asked again when not accepted."""

    host: str
    port: int
    identity_hint: str | None = None
    attempt: int = 1
    url: str = ""


def parse_psk_key(text: str) -> bytes:
    """The key as typed: hexadecimal, spaces and colons allowed (``01 23:45…``); ValueError says why not."""
    digits = "".join(ch for ch in text if ch not in " :\t\n")
    if not digits:
        raise ValueError("Type the key in hexadecimal.")
    if len(digits) % 2:
        raise ValueError("A key in hexadecimal has an even number of digits.")
    try:
        key = bytes.fromhex(digits)
    except ValueError:
        raise ValueError("Only the digits 0-9 and a-f are allowed (hexadecimal).") from None
    if len(key) > 256:
        raise ValueError("A pre-shared key is at most 256 bytes.")
    return key


def certificate_view(cert: Any) -> CertificateView:
    """A ``cryptography`` x509 certificate as the dialog shows it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    try:
        san_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = [f"DNS:{n}" for n in san_ext.get_values_for_type(x509.DNSName)]
        sans += [f"IP:{ip}" for ip in san_ext.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        sans = []
    pub = cert.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        key = f"RSA {pub.key_size} bits"
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        key = f"EC {pub.curve.name}"
    else:
        key = type(pub).__name__.replace("PublicKey", "")
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return CertificateView(
        subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc, sans=sans,
        sha256=":".join(digest[i:i + 2] for i in range(0, len(digest), 2)), key=key,
        serial=f"{cert.serial_number:X}")


@dataclass(frozen=True)
class CertException:
    """A remembered "always trust this certificate for this host" decision."""

    host: str
    port: int
    sha256: str
    errors: tuple[str, ...] = ()
    handle: Any = None  # whatever the store needs to revoke it
    remembered: bool = False  # kept across restarts (else: until Courier closes)
    subject: str = ""


class CertExceptionSource(Protocol):
    """Lists and revokes remembered certificate exceptions (blocking: call on the worker)."""

    def list_exceptions(self) -> list[CertException]: ...

    def revoke(self, item: CertException) -> None: ...


class CookieSource(Protocol):
    """The cookie jar as the settings page sees it: list, delete, clear (quick: on the network thread)."""

    def list_cookies(self) -> list[Any]: ...

    def delete(self, cookies: list[Any]) -> None: ...

    def clear(self) -> None: ...
