"""Preconnect (QNAM ``connectToHost``/``connectToHostEncrypted``, N2/N3).

Opens one connection in the pool the next request to ``scheme://host:port`` uses, with no HTTP
bytes: TCP, or TCP+TLS with ALPN (``h2`` offered, as for default requests). The manager's finished
listeners get an internal reply for ``preconnect-http(s)://host:port``; its timings show DNS,
connect and TLS. Errors end that reply (nothing else reports them, as in QNAM).
"""

from __future__ import annotations

from typing import Any

from core.errors import CourierError, NetworkError
from core.reply import Reply
from core.request import Operation, Request
from core.transport.backend import current_trace


def start_preconnect(manager: Any, scheme: str, host: str, port: int, peer_name: str | None) -> Reply:
    netloc = f"[{host}]" if ":" in host else host
    request = Request(f"preconnect-{scheme}://{netloc}:{port}", peer_verify_name=peer_name)
    reply = Reply(manager, Operation.GET, request, "GET")
    manager._active.add(reply)
    reply._task = manager.loop.create_task(_run(manager, reply, f"{scheme}://{netloc}:{port}/"))
    return reply


async def _run(manager: Any, reply: Reply, url: str) -> None:
    from core.http import Target, _Tracer, map_exception, origin_key

    code, message = NetworkError.NoError, ""
    token = None
    try:
        target = Target(url)
        key = origin_key(manager, reply, target)
        tracer = _Tracer(reply, reply.timings.new_hop(url))
        token = current_trace.set(tracer)
        await manager.transport.preconnect(key)
    except CourierError as exc:
        code, message = exc.code, exc.message
    except Exception as exc:
        err = map_exception(exc, Target(url))
        code, message = err.code, err.message
    finally:
        if token is not None:
            current_trace.reset(token)
    manager._finish(reply, code, message)
