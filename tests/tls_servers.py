"""TLS test fixtures: certificates built with ``cryptography`` (expired, not yet valid, wrong host,
self-signed, unknown CA, missing intermediate, client certificates) and a small threaded HTTPS/1.1
server on 127.0.0.1 whose identity can change between connections, that can require a client
certificate, or that speaks only TLS-PSK."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.servers import close_listener

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
NOW = dt.datetime.now(dt.UTC)
DAY = dt.timedelta(days=1)


def _key(kind: str) -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Courier tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _san(names: Sequence[str]) -> x509.SubjectAlternativeName:
    out: list[x509.GeneralName] = []
    for n in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            out.append(x509.DNSName(n))
    return x509.SubjectAlternativeName(out)


@dataclass
class Identity:
    """A certificate with its key, and the chain a server sends after it."""

    cert: x509.Certificate
    key: PrivateKey
    chain: list[x509.Certificate] = field(default_factory=list)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    def fingerprint(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex()

    def write(self, directory: str | Path, stem: str, key_password: bytes | None = None) -> tuple[str, str]:
        """Write ``stem.pem`` (certificate + chain) and ``stem.key``; returns both paths."""
        d = Path(directory)
        cert_path, key_path = d / f"{stem}.pem", d / f"{stem}.key"
        cert_path.write_bytes(self.cert_pem + b"".join(c.public_bytes(serialization.Encoding.PEM)
                                                       for c in self.chain))
        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(key_password) if key_password
            else serialization.NoEncryption())
        key_path.write_bytes(self.key.private_bytes(serialization.Encoding.PEM,
                                                    serialization.PrivateFormat.PKCS8, enc))
        return str(cert_path), str(key_path)

    def write_pkcs12(self, path: str | Path, password: bytes) -> str:
        data = pkcs12.serialize_key_and_certificates(b"courier test", self.key, self.cert, self.chain or None,
                                                     serialization.BestAvailableEncryption(password))
        Path(path).write_bytes(data)
        return str(path)


def make_ca(cn: str, parent: Identity | None = None, key_type: str = "ec",
            not_before: dt.datetime | None = None, not_after: dt.datetime | None = None) -> Identity:
    key = _key(key_type)
    issuer_key = parent.key if parent else key
    issuer_name = parent.cert.subject if parent else _name(cn)
    b = (x509.CertificateBuilder()
         .subject_name(_name(cn)).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before or NOW - DAY).not_valid_after(not_after or NOW + 3650 * DAY)
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                      data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                      crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if parent:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()),
                            critical=False)
    cert = b.sign(issuer_key, hashes.SHA256())
    chain = [parent.cert, *parent.chain] if parent and parent.chain is not None else []
    return Identity(cert, key, chain)


def make_leaf(issuer: Identity | None, names: Sequence[str] = ("127.0.0.1", "localhost"),
              key_type: str = "ec", not_before: dt.datetime | None = None,
              not_after: dt.datetime | None = None, client: bool = False,
              send_chain: bool = True) -> Identity:
    """A server (or client) certificate. ``issuer=None`` makes it self-signed.

    The identity's chain is what a server sends after the leaf: the issuing intermediates (not the
    root), or nothing when ``send_chain`` is false (a server missing its intermediate)."""
    key = _key(key_type)
    cn = names[0] if names else "no name"
    subject = _name(cn)
    b = (x509.CertificateBuilder()
         .subject_name(subject).issuer_name(issuer.cert.subject if issuer else subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before or NOW - DAY).not_valid_after(not_after or NOW + 365 * DAY)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH if client
                                               else ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if names:
        b = b.add_extension(_san(names), critical=False)
    if issuer:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                            critical=False)
    cert = b.sign(issuer.key if issuer else key, hashes.SHA256())
    chain: list[x509.Certificate] = []
    if issuer and send_chain:
        # intermediates: the issuer and its own chain, minus self-signed roots
        chain = [c for c in [issuer.cert, *issuer.chain] if c.subject != c.issuer]
    return Identity(cert, key, chain)


class Pki:
    """The certificates of one test session, built once (key generation is the slow part)."""

    def __init__(self) -> None:
        self.root = make_ca("Courier Test Root CA")
        self.intermediate = make_ca("Courier Test Intermediate CA", parent=self.root)
        self.other_root = make_ca("Unknown Root CA")
        self.client_ca = make_ca("Courier Test Client CA")
        self.dir = tempfile.mkdtemp(prefix="courier-tls-")
        self.root_pem = self.write_ca(self.root, "root-ca")
        self.client_ca_pem = self.write_ca(self.client_ca, "client-ca")
        self.leaves: dict[str, Identity] = {
            "good": make_leaf(self.root),
            "good_rsa": make_leaf(self.root, key_type="rsa"),
            "expired": make_leaf(self.root, not_before=NOW - 30 * DAY, not_after=NOW - DAY),
            "not_yet_valid": make_leaf(self.root, not_before=NOW + 10 * DAY, not_after=NOW + 30 * DAY),
            "wrong_host": make_leaf(self.root, names=("wrong.example", "www.wrong.example")),
            "self_signed": make_leaf(None),
            "self_signed_2": make_leaf(None),
            "unknown_ca": make_leaf(self.other_root),
            "missing_intermediate": make_leaf(self.intermediate, send_chain=False),
            "with_intermediate": make_leaf(self.intermediate),
            "expired_wrong_host": make_leaf(self.other_root, names=("wrong.example",),
                                            not_before=NOW - 30 * DAY, not_after=NOW - DAY),
            "named": make_leaf(self.root, names=("api.courier.test",)),
        }
        stray = make_leaf(self.other_root)
        self.leaves["untrusted_root_in_chain"] = Identity(stray.cert, stray.key, [self.other_root.cert])
        self.client = make_leaf(self.client_ca, names=("Courier Client",), client=True)

    def write_ca(self, ca: Identity, stem: str) -> str:
        path = Path(self.dir) / f"{stem}.pem"
        path.write_bytes(ca.cert_pem)
        return str(path)


def server_context(identity: Identity, client_ca_file: str | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    d = tempfile.mkdtemp(prefix="courier-srv-")
    cert, key = identity.write(d, "server")
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    if client_ca_file:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=client_ca_file)
    return ctx


def psk_server_context(keys: dict[str, bytes], hint: str | None = "courier-hint") -> ssl.SSLContext:
    """A TLS 1.2 server that only speaks PSK cipher suites; ``keys`` maps identity → key."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("PSK")

    def lookup(identity: str | None) -> bytes:
        return keys.get(identity or "", b"")

    ctx.set_psk_server_callback(lookup, hint)
    return ctx


class TlsServer:
    """HTTPS/1.1 on 127.0.0.1 in threads. Answers every request with JSON about the connection.

    ``handshakes`` counts completed handshakes and ``requests`` the requests read: a client that
    refused the certificate must leave ``requests`` untouched (no data sent). Every server still
    open when a test ends is closed by ``close_leftover_servers`` (conftest)."""

    live: ClassVar[list[TlsServer]] = []

    def __init__(self, context: ssl.SSLContext, keep_alive: bool = True) -> None:
        TlsServer.live.append(self)
        self.keep_alive = keep_alive  # False: close after each response (clients must reconnect)
        self.sni: list[str | None] = []  # the server name each client asked for
        self.context = context
        self._watch_sni(context)
        self.handshakes = 0
        self.failed_handshakes = 0
        self.requests: list[dict[str, object]] = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port: int = self.sock.getsockname()[1]
        self._closed = False
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def set_context(self, context: ssl.SSLContext) -> None:
        """Present another identity from the next connection on."""
        self._watch_sni(context)
        self.context = context

    def _watch_sni(self, context: ssl.SSLContext) -> None:
        def seen(_obj: object, name: str | None, _ctx: ssl.SSLContext) -> None:
            self.sni.append(name)

        context.sni_callback = seen  # type: ignore[assignment]

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn, self.context), daemon=True).start()

    def _serve(self, raw: socket.socket, context: ssl.SSLContext) -> None:
        raw.settimeout(10)
        conn = context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        try:
            conn.do_handshake()
        except (OSError, ssl.SSLError):
            with self._lock:
                self.failed_handshakes += 1
            _linger_close(conn)
            return
        with self._lock:
            self.handshakes += 1
        try:
            self._http(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _http(self, conn: ssl.SSLSocket) -> None:
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head, _, buf = buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
            while len(buf) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            buf = buf[length:]
            peer = conn.getpeercert()
            client = None
            if peer:
                client = dict(x[0] for x in peer.get("subject", ()))  # type: ignore[misc]
            info = {"method": method, "path": path, "host": headers.get("Host"),
                    "client_cert": client, "version": conn.version(), "cipher": (conn.cipher() or ("",))[0]}
            with self._lock:
                self.requests.append(info)
            out = json.dumps(info).encode()
            close = b"" if self.keep_alive else b"Connection: close\r\n"
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + close +
                         b"Content-Length: " + str(len(out)).encode() + b"\r\n\r\n" + out)
            if not self.keep_alive:
                return

    def close(self) -> None:
        self._closed = True
        if self in TlsServer.live:
            TlsServer.live.remove(self)
        close_listener(self.sock)


def _linger_close(raw: socket.socket) -> None:
    """Read what the client still sends before closing, so our TLS alert reaches it instead of
    being lost to a reset (what nginx's lingering close does)."""
    try:
        raw.shutdown(socket.SHUT_WR)
        raw.settimeout(1.0)
        for _ in range(64):
            if not raw.recv(65536):
                break
    except OSError:
        pass
    raw.close()


def serving(identity: Identity, client_ca_file: str | None = None) -> TlsServer:
    return TlsServer(server_context(identity, client_ca_file))



# -- pytest fixtures (import them into a test module to use them) ------------------------------


@pytest.fixture(scope="session")
def pki() -> Pki:
    return Pki()


@pytest.fixture
def tls_server(pki: Pki) -> Iterator[Callable[..., TlsServer]]:
    """Start a server for a named case of ``pki.leaves`` (or an Identity); closed after the test."""
    made: list[TlsServer] = []

    def start(case: str | Identity, client_ca_file: str | None = None) -> TlsServer:
        identity = pki.leaves[case] if isinstance(case, str) else case
        server = serving(identity, client_ca_file)
        made.append(server)
        return server

    yield start
    for s in made:
        s.close()
