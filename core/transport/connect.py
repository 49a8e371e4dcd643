"""Opening a connection inside the requesting task: DNS, TCP (or a unix socket), TLS with ALPN.

Each phase emits httpcore's trace event names. The TLS provider (``Transport.tls_provider``) may
choose the SSL context per origin and check every new handshake before any request byte is sent.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import TYPE_CHECKING, Any, Protocol

from core.transport.backend import NetStream, TraceFn, detached, resolve

if TYPE_CHECKING:
    from core.transport.pool import OriginKey


class TlsProvider(Protocol):
    """What the TLS layer plugs into the transport."""

    def context_for(self, key: OriginKey) -> ssl.SSLContext: ...

    async def after_handshake(self, key: OriginKey, ssl_object: ssl.SSLObject) -> None: ...


class Placeholder(asyncio.Protocol):
    """Holds a fresh connection until we know (from ALPN) which protocol speaks on it."""

    def __init__(self) -> None:
        self.buffer: list[bytes] = []
        self.eof = False
        self.lost = False
        self.exc: Exception | None = None

    def data_received(self, data: bytes) -> None:
        self.buffer.append(data)

    def eof_received(self) -> bool:
        self.eof = True
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost, self.exc = True, exc

    def hand_over(self, transport: asyncio.Transport, protocol: Any) -> None:
        """Switch ``transport`` to ``protocol`` and replay what arrived meanwhile."""
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        for data in self.buffer:
            protocol.data_received(data)
        self.buffer.clear()
        if self.lost:
            protocol.connection_lost(self.exc)
        elif self.eof:
            transport.close()


async def _tcp(host: str, port: int, trace: TraceFn | None) -> tuple[asyncio.Transport, Placeholder]:
    loop = asyncio.get_running_loop()
    infos = await resolve(host, port, trace)
    if trace is not None:
        await trace("connection.connect_tcp.started", {"host": host, "port": port, "local_address": None,
                                                      "timeout": None, "socket_options": None})
    last: OSError | None = None
    for family, kind, proto, _, addr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await loop.sock_connect(sock, addr)
            transport, ph = await detached(loop.create_connection(Placeholder, sock=sock))
        except OSError as exc:
            sock.close()
            last = exc
            continue
        except BaseException:
            sock.close()
            raise
        if trace is not None:
            await trace("connection.connect_tcp.complete", {"return_value": NetStream(transport)})
        return transport, ph
    assert last is not None
    raise last


async def _unix(path: str, trace: TraceFn | None) -> tuple[asyncio.Transport, Placeholder]:
    loop = asyncio.get_running_loop()
    if trace is not None:
        await trace("connection.connect_unix_socket.started", {"path": path, "timeout": None,
                                                              "socket_options": None})
    transport, ph = await detached(loop.create_unix_connection(Placeholder, path))
    if trace is not None:
        await trace("connection.connect_unix_socket.complete", {"return_value": NetStream(transport)})
    return transport, ph


async def open_connection(
    key: OriginKey, ssl_context: ssl.SSLContext | None, provider: Any, trace: TraceFn | None,
    alpn: list[str],
) -> tuple[asyncio.Transport, Placeholder, str | None]:
    """Returns the transport, the placeholder protocol holding early bytes, and the ALPN result."""
    if key.uds is not None:
        transport, ph = await _unix(key.uds, trace)
    else:
        transport, ph = await _tcp(key.host, key.port, trace)
    if ssl_context is None:
        return transport, ph, None
    try:
        ssl_context.set_alpn_protocols(alpn)
        server_hostname = key.peer_verify_name or key.host
        if trace is not None:
            await trace("connection.start_tls.started", {"ssl_context": ssl_context,
                                                         "server_hostname": server_hostname, "timeout": None})
        loop = asyncio.get_running_loop()
        tls = await detached(loop.start_tls(transport, ph, ssl_context, server_hostname=server_hostname))
        if tls is None:  # pragma: no cover - only when the transport closed under us
            raise ConnectionResetError("Connection closed during the TLS handshake")
        transport = tls
        sslobj = tls.get_extra_info("ssl_object")
        after = getattr(provider, "after_handshake", None) if provider is not None else None
        if after is not None:
            await after(key, sslobj)
        if trace is not None:
            await trace("connection.start_tls.complete", {"return_value": NetStream(tls)})
    except BaseException:
        transport.close()
        raise
    chosen = sslobj.selected_alpn_protocol() if sslobj is not None else None
    return transport, ph, chosen
