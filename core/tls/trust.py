"""Trust settings and the SSL contexts built from them.

Trust comes from the system store (on Linux and the BSDs the distribution's CA bundle — what
``truststore`` uses there too; elsewhere ``truststore``'s platform verifier) or from the certifi
bundle, plus extra CA files. Client certificates are chosen per host (PEM, or PKCS#12 whose
password the app supplies, e.g. from the keyring). A key log in SSLKEYLOGFILE format can be on.
"""

from __future__ import annotations

import enum
import os
import secrets
import shutil
import ssl
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import CourierError, NetworkError
from core.tls.certificate import Certificate
from core.tls.classify import Anchors

Password = bytes | str | Callable[[], bytes | str | None] | None

# Where distributions keep their CA bundle (the list truststore checks on Linux).
_CA_FILE_CANDIDATES = [
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu
    "/etc/ssl/cert.pem",  # Alpine, Arch, Fedora, BSD
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/ca-bundle.pem",  # SUSE
]


class TrustSource(enum.Enum):
    SYSTEM = "system"
    CERTIFI = "certifi"


@dataclass
class ClientCertificate:
    """A client certificate: a PEM file (certificate, optionally with its key and chain) and a PEM
    key file, or a PKCS#12 file (``.p12``/``.pfx``). ``password`` may be a callable so the secret
    is fetched only when needed and never stored here (the app reads it from the keyring)."""

    path: str
    key_path: str | None = None
    password: Password = field(default=None, repr=False)

    @property
    def is_pkcs12(self) -> bool:
        return self.path.lower().endswith((".p12", ".pfx"))

    def _password(self) -> bytes | None:
        pw = self.password() if callable(self.password) else self.password
        if pw is None:
            return None
        return pw.encode() if isinstance(pw, str) else bytes(pw)


@dataclass
class TlsSettings:
    trust: TrustSource = TrustSource.SYSTEM
    extra_ca_files: list[str] = field(default_factory=list)
    client_certificates: dict[str, ClientCertificate] = field(default_factory=dict)  # "host" or "host:port"
    keylog_file: str | None = None  # SSLKEYLOGFILE format, for Wireshark
    psk_hosts: set[str] = field(default_factory=set)  # "host" or "host:port": offer TLS-PSK there

    def client_certificate_for(self, host: str, port: int) -> ClientCertificate | None:
        host = host.strip("[]").lower()
        return self.client_certificates.get(f"{host}:{port}") or self.client_certificates.get(host)

    def wants_psk(self, host: str, port: int) -> bool:
        if not self.psk_hosts:
            return False
        host = host.strip("[]").lower()
        return f"{host}:{port}" in self.psk_hosts or host in self.psk_hosts


def system_ca_file() -> str | None:
    """The CA bundle OpenSSL would use on this system, or None (macOS, Windows)."""
    env = os.environ.get("SSL_CERT_FILE")
    if env and os.path.isfile(env):
        return env
    default = ssl.get_default_verify_paths().cafile
    if default and os.path.isfile(default):
        return default
    for path in _CA_FILE_CANDIDATES:
        if os.path.isfile(path):
            return path
    return None


def certifi_ca_file() -> str:
    import certifi

    return str(certifi.where())


def psk_supported() -> bool:
    return hasattr(ssl.SSLContext, "set_psk_client_callback")


class ContextFactory:
    """Builds (and caches) client SSL contexts for one set of settings."""

    def __init__(self, settings: TlsSettings, override: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.override = override  # a verifying context given by the app (Transport.set_default_ssl_context)
        self._anchors: Anchors | None = None
        self.note = ""  # why the trust source differs from the one asked for, if it does

    def trust_files(self) -> list[str]:
        files: list[str] = []
        if self.settings.trust is TrustSource.SYSTEM:
            found = system_ca_file()
            if found is not None:
                files.append(found)
            elif not _uses_platform_verifier():
                self.note = "no system CA bundle found; using certifi's"
                files.append(certifi_ca_file())
        else:
            files.append(certifi_ca_file())
        return files + list(self.settings.extra_ca_files)

    def anchors(self) -> Anchors:
        """The trusted roots as certificates, for naming problems (loaded once, on first use)."""
        if self._anchors is None and self.override is not None:
            self._anchors = Anchors([Certificate(d) for d in self.override.get_ca_certs(binary_form=True)])
        if self._anchors is None:
            certs: list[Certificate] = []
            files = self.trust_files()
            if _uses_platform_verifier() and self.settings.trust is TrustSource.SYSTEM:
                files = [certifi_ca_file(), *files]  # the platform store is not readable as files
            for path in files:
                certs.extend(read_pem_certificates(path))
            self._anchors = Anchors(certs)
        return self._anchors

    def build(self, verify: bool, client: ClientCertificate | None = None,
              psk: Callable[[str | None], tuple[str | None, bytes]] | None = None) -> ssl.SSLContext:
        """A client context. ``verify=False`` leaves checking to us (after the handshake)."""
        ctx: ssl.SSLContext
        if verify and self.settings.trust is TrustSource.SYSTEM and _uses_platform_verifier():
            import truststore

            ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if verify:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.check_hostname = True
            ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
            for path in self.trust_files():
                try:
                    ctx.load_verify_locations(cafile=path)
                except (OSError, ssl.SSLError) as exc:
                    raise CourierError(NetworkError.SslHandshakeFailedError,
                                       f"Cannot load the CA file {path}: {exc}") from exc
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if psk is not None:
            if not psk_supported():
                raise CourierError(NetworkError.SslHandshakeFailedError,
                                   "TLS pre-shared keys need Python 3.13 or newer")
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # TLS 1.2 PSK suites: the hint reaches us
            ctx.set_ciphers("PSK")
            ctx.set_psk_client_callback(psk)  # type: ignore[union-attr,attr-defined,unused-ignore]
        if client is not None:
            load_client_certificate(ctx, client)
        if self.settings.keylog_file:
            ctx.keylog_filename = self.settings.keylog_file
        return ctx


def read_pem_certificates(path: str) -> list[Certificate]:
    """Every certificate in a PEM bundle that parses; odd ones (system bundles hold a few that
    break RFC 5280) are skipped, not fatal."""
    from cryptography import x509  # imported when first needed (start-up memory)

    try:
        text = Path(path).read_bytes()
    except OSError:
        return []
    out: list[Certificate] = []
    end = b"-----END CERTIFICATE-----"
    for block in text.split(end)[:-1]:
        start = block.find(b"-----BEGIN CERTIFICATE-----")
        if start < 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out.append(Certificate.from_x509(x509.load_pem_x509_certificate(block[start:] + end)))
            except ValueError:
                continue
    return out


def _uses_platform_verifier() -> bool:
    return sys.platform in ("darwin", "win32")


def load_client_certificate(ctx: ssl.SSLContext, cert: ClientCertificate) -> None:
    """Load ``cert`` into ``ctx``. A PKCS#12 file is converted in memory; what must touch the disk
    for OpenSSL is a private key encrypted with a one-time random password, deleted at once."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        if not cert.is_pkcs12:
            pw = cert._password()
            ctx.load_cert_chain(cert.path, cert.key_path, password=pw)
            return
        data = Path(cert.path).read_bytes()
        key, leaf, extra = pkcs12.load_key_and_certificates(data, cert._password())
    except FileNotFoundError as exc:
        raise CourierError(NetworkError.SslHandshakeFailedError,
                           f"Client certificate file not found: {exc.filename}") from exc
    except (ssl.SSLError, ValueError, TypeError, OSError) as exc:
        raise CourierError(NetworkError.SslHandshakeFailedError,
                           f"Cannot load the client certificate {cert.path}: {_why(exc)}") from exc
    if key is None or leaf is None:
        raise CourierError(NetworkError.SslHandshakeFailedError,
                           f"The PKCS#12 file {cert.path} has no certificate with a private key")
    one_time = secrets.token_bytes(32)
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [leaf, *(extra or [])])
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(one_time))
    d = tempfile.mkdtemp(prefix="courier-cc-")
    try:
        cert_path, key_path = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
        for path, content in ((cert_path, pem), (key_path, key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(content)
        ctx.load_cert_chain(cert_path, key_path, password=one_time)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _why(exc: BaseException) -> str:
    text = str(exc)
    low = text.lower()
    if "password" in low or "decrypt" in low or "bad decrypt" in low or "mac" in low:
        return "wrong password or damaged file"
    return text
