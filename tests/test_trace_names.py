"""httpcore is pinned; these are the trace event names core's timings rely on."""

from __future__ import annotations

import asyncio

import httpcore

from core import NetworkManager
from tests.servers import HypercornServer

RELIED_ON = {
    "connection.connect_tcp.started", "connection.connect_tcp.complete",
    "http11.send_request_headers.started", "http11.send_request_body.complete",
    "http11.receive_response_headers.complete",
}


def test_httpcore_version_is_the_pinned_one() -> None:
    assert httpcore.__version__ == "1.0.9"


def test_trace_event_names_we_rely_on_are_emitted(loop: asyncio.AbstractEventLoop, http_server: HypercornServer) -> None:
    names: list[str] = []

    async def trace(name: str, info: dict) -> None:  # type: ignore[type-arg]
        names.append(name)

    async def go() -> None:
        async with httpcore.AsyncConnectionPool() as pool:
            resp = await pool.request("GET", http_server.url + "/echo", extensions={"trace": trace})
            assert resp.status == 200

    loop.run_until_complete(go())
    assert set(names) >= RELIED_ON, RELIED_ON - set(names)

    async def via_core() -> None:
        m = NetworkManager()
        r = await m.get(http_server.url + "/echo").wait()
        hop = r.timings.hops[0]
        assert hop.connection.connect_start and hop.request_end and hop.response_start
        await m.aclose()

    loop.run_until_complete(via_core())
