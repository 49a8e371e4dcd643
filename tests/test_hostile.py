"""A network inspector meets broken servers for a living: each hostile behaviour ends with the
right NetworkError and a readable message, and leaves no task, connection, thread, file
descriptor or temporary body file behind."""

from __future__ import annotations

import asyncio
import glob
import os
import resource
import socket
import tempfile
import threading
import time
from dataclasses import dataclass

import pytest

from core import NetworkError, NetworkManager, Request
from core.request import Attribute
from tests.hostile import HostileServer, SilentServer


@dataclass
class Outcome:
    error: NetworkError
    message: str
    status: int | None
    body_size: int
    leftovers: dict[str, int]


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _core_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if not t.name.startswith("test-server")}


def _body_files() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "courier-body-*")))


def _wait_for_server_handlers(limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and any(
            t.name == "test-server-conn" for t in threading.enumerate()):
        time.sleep(0.05)


def run_case(request: Request, *, transfer_timeout: float = 0.0, abort_after: int | None = None) -> Outcome:
    """Send ``request`` on a fresh loop and manager; count what is left once everything closed."""
    private_tmp = tempfile.mkdtemp(prefix="courier-hostile-")
    saved_tmp, tempfile.tempdir = tempfile.tempdir, private_tmp  # other processes share /tmp
    try:
        return _run_case(request, transfer_timeout, abort_after)
    finally:
        tempfile.tempdir = saved_tmp
        os.rmdir(private_tmp)  # fails loudly if a body file was left in it


def _run_case(request: Request, transfer_timeout: float, abort_after: int | None) -> Outcome:
    fds, threads, files = _fds(), _core_threads(), _body_files()
    loop = asyncio.new_event_loop()

    async def go() -> Outcome:
        m = NetworkManager()
        m.transfer_timeout = transfer_timeout
        reply = m.get(request)
        if abort_after is not None:
            def watch(event: object) -> None:
                if reply.bytes_received >= abort_after and not reply.is_finished:
                    reply.abort()

            reply.subscribe(watch)
        await asyncio.wait_for(reply.wait(), 60)
        out = Outcome(reply.error, reply.error_string, reply.status, reply.body.size, {})
        reply.close()
        await m.aclose()
        await asyncio.sleep(0.05)
        out.leftovers["connections"] = m.transport.connection_count()
        out.leftovers["tasks"] = len([t for t in asyncio.all_tasks() if t is not asyncio.current_task()])
        return out

    try:
        outcome = loop.run_until_complete(go())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
    _wait_for_server_handlers()  # their sockets are in this process too
    outcome.leftovers["fds"] = max(0, _fds() - fds)
    outcome.leftovers["threads"] = len(_core_threads() - threads)
    outcome.leftovers["body files"] = len(_body_files() - files)
    return outcome


@pytest.fixture(scope="module")
def hostile():  # type: ignore[no-untyped-def]
    s = HostileServer()
    yield s
    s.close()


CASES = [
    # (case, path, transfer timeout, total timeout, expected error)
    ("reset mid-body", "/reset", 0, None, NetworkError.RemoteHostClosedError),
    ("Content-Length longer than the body", "/short", 0, None, NetworkError.RemoteHostClosedError),
    ("broken chunked encoding", "/chunked", 0, None, NetworkError.ProtocolFailure),
    ("invalid status line", "/status", 0, None, NetworkError.ProtocolFailure),
    ("1 MB header line", "/huge-header", 0, None, NetworkError.ProtocolFailure),
    ("100,000 headers", "/many-headers", 0, None, NetworkError.ProtocolFailure),
    ("drip 1 byte/s, transfer timeout 0.5 s", "/drip", 0.5, None, NetworkError.TimeoutError),
    ("drip 1 byte/s, no inactivity timeout, total limit 2 s", "/drip", 0, 2.0, NetworkError.TimeoutError),
    ("gzip bomb (1 GiB of zeros)", "/gzip-bomb", 0, None, NetworkError.UnknownContentError),
    ("brotli bomb (1 GiB of zeros)", "/br-bomb", 0, None, NetworkError.UnknownContentError),
    ("endless redirect loop", "/loop", 0, None, NetworkError.TooManyRedirectsError),
    ("accepts and never answers, timeout 1 s", "/silent", 1.0, None, NetworkError.TimeoutError),
]


@pytest.mark.parametrize(("case", "path", "timeout", "total", "expected"), CASES, ids=[c[0] for c in CASES])
def test_hostile_server(hostile, case: str, path: str, timeout: float, total: float | None,
                        expected: NetworkError) -> None:
    attrs = {Attribute.TOTAL_TIMEOUT: total} if total else {}
    out = run_case(Request(hostile.url + path, attributes=attrs), transfer_timeout=timeout)
    assert out.error is expected, (case, out.error, out.message)
    assert out.message and out.message != "Unknown error"
    assert out.leftovers == {"connections": 0, "tasks": 0, "fds": 0, "threads": 0, "body files": 0}, out.leftovers


def test_reset_mid_body_keeps_what_arrived(hostile) -> None:
    out = run_case(Request(hostile.url + "/reset"))
    assert out.status == 200 and out.body_size == 1000


def test_bombs_stop_before_memory_grows(hostile) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for path in ("/gzip-bomb", "/br-bomb"):
        out = run_case(Request(hostile.url + path))
        assert out.error is NetworkError.UnknownContentError
        assert out.body_size < 200 * 1024 * 1024  # stopped long before 1 GiB
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 300, grown_mb


def test_endless_body_can_be_cancelled_and_memory_stays_flat(hostile) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = run_case(Request(hostile.url + "/endless"), abort_after=64 * 1024 * 1024)
    assert out.error is NetworkError.OperationCanceledError
    assert out.body_size >= 64 * 1024 * 1024  # the body went to a spool file, not to memory
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, grown_mb
    assert out.leftovers["body files"] == 0 and out.leftovers["connections"] == 0


def test_tls_handshake_that_stalls_times_out() -> None:
    srv = SilentServer()
    try:
        out = run_case(Request(f"https://127.0.0.1:{srv.port}/"), transfer_timeout=1.0)
        assert out.error is NetworkError.TimeoutError, out.message
        assert out.leftovers["connections"] == 0 and out.leftovers["tasks"] == 0
    finally:
        srv.close()


def test_refused_connection_leaves_nothing() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    out = run_case(Request(f"http://127.0.0.1:{port}/"))
    assert out.error is NetworkError.ConnectionRefusedError
    assert out.leftovers == {"connections": 0, "tasks": 0, "fds": 0, "threads": 0, "body files": 0}


def test_invalid_status_line_is_not_resent(hostile) -> None:
    before = hostile.accepted
    run_case(Request(hostile.url + "/status"))
    assert hostile.accepted - before == 1  # QNAM resends 4 times; we fail once


def test_abort_from_an_event_listener_finishes_once(hostile) -> None:
    """A listener that aborts on every event (a common UI pattern) must not recurse."""
    loop = asyncio.new_event_loop()

    async def go() -> list[str]:
        m = NetworkManager()
        reply = m.get(hostile.url + "/endless")
        seen: list[str] = []

        def listener(event: object) -> None:
            seen.append(type(event).__name__)
            if reply.bytes_received > 1024 * 1024:
                reply.abort()

        reply.subscribe(listener)
        await asyncio.wait_for(reply.wait(), 30)
        reply.close()
        await m.aclose()
        return seen

    try:
        seen = loop.run_until_complete(go())
    finally:
        loop.close()
    assert seen.count("ErrorOccurred") == 1 and seen.count("Finished") == 1
