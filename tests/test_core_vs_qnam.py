"""The same requests to the same server through core and through PySide6's QNAM, side by side."""

from __future__ import annotations

import asyncio
import json

import pytest

from core import NetworkManager
from tests.helpers import fetch, only
from tests.qnam import qnam_request
from tests.servers import HypercornServer

pytestmark = pytest.mark.qnam


def core_fetch(loop: asyncio.AbstractEventLoop, method: str, url: str, body: bytes | None = None, **kw):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        m = NetworkManager()
        try:
            return await fetch(m, method, url, body, **kw)
        finally:
            await m.aclose()

    return loop.run_until_complete(go())


@pytest.mark.parametrize("status", [200, 204, 304, 399, 400, 401, 402, 403, 404, 405, 407, 409, 410,
                                    418, 422, 429, 500, 501, 502, 503, 504, 599])
def test_status_to_error_mapping_matches_qnam(qapp, loop, http_server: HypercornServer, status: int) -> None:
    url = f"{http_server.url}/status/{status}"
    q = qnam_request(url)
    reply, _ = core_fetch(loop, "GET", url)
    assert int(reply.error) == q.error, (status, reply.error.name, q.error)
    assert reply.status == q.status
    if status >= 400 and status not in (401, 407):
        assert reply.content() == q.body  # error bodies are readable (X5)


def test_headers_on_the_wire_match_qnam(qapp, loop, http_server: HypercornServer) -> None:
    app_headers = [("X-CUSTOM-header", "1"), ("Accept", "*/*")]
    qnam_request(http_server.url + "/echo", "POST", b"a=1", app_headers)
    q_wire = http_server.seen.requests[-1]["headers"]
    core_fetch(loop, "POST", http_server.url + "/echo", b"a=1", headers=app_headers)
    c_wire = http_server.seen.requests[-1]["headers"]
    q_names = [k for k, _ in q_wire]
    c_names = [k for k, _ in c_wire]
    assert c_names == q_names  # same headers in the same order (W6)
    q, c = dict(q_wire), dict(c_wire)
    for name in ("host", "x-custom-header", "accept", "content-length", "connection",
                 "accept-encoding", "accept-language", "content-type"):
        assert c[name] == q[name], name
    assert q["user-agent"] == "Mozilla/5.0" and c["user-agent"].startswith("Courier/")


def test_decompression_matches_qnam(qapp, loop, http_server: HypercornServer) -> None:
    q = qnam_request(http_server.url + "/gzip")
    reply, _ = core_fetch(loop, "GET", http_server.url + "/gzip")
    assert reply.content() == q.body == b"hello gzip " * 100
    q_names = {k.lower() for k, _ in q.headers}
    c_names = {k.lower() for k, _ in reply.headers}
    assert ("content-length" in q_names) == ("content-length" in c_names)
    assert ("content-encoding" in q_names) == ("content-encoding" in c_names)


@pytest.mark.parametrize("path", ["/echo", "/status/404", "/redirect/2"])
def test_event_order_matches_qnam(qapp, loop, http_server: HypercornServer, path: str) -> None:
    keep = {"MetaDataChanged", "ReadyRead", "ErrorOccurred", "Redirected", "Finished"}
    q = qnam_request(http_server.url + path)
    _, names = core_fetch(loop, "GET", http_server.url + path)
    assert only(names, keep) == only(q.events, keep)


def test_redirect_chain_ends_where_qnam_ends(qapp, loop, http_server: HypercornServer) -> None:
    q = qnam_request(http_server.url + "/redirect/3")
    reply, _ = core_fetch(loop, "GET", http_server.url + "/redirect/3")
    assert reply.status == q.status == 200
    assert json.loads(reply.content())["path"] == json.loads(q.body)["path"] == "/echo"
    assert len(reply.redirects) == 3
