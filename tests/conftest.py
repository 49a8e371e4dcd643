"""Fixtures: real servers on 127.0.0.1 and a core manager on a fresh event loop."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import
if "COURIER_DATA_DIR" not in os.environ:  # the app's state files go to a throwaway directory
    import tempfile as _tempfile

    os.environ["COURIER_DATA_DIR"] = _tempfile.mkdtemp(prefix="courier-test-data-")

import asyncio
import tempfile
from collections.abc import Iterator

import pytest
import trustme

from tests.proxies import (  # noqa: F401  (fixtures: real proxies and auth servers)
    auth_httpbin,
    auth_server,
    digest_proxy,
    microsocks,
    microsocks_auth,
    tinyproxy,
    tinyproxy_auth,
)
from tests.servers import HypercornServer, RawServer
from tests.tls_servers import TlsServer, pki, tls_server  # noqa: F401  (TLS fixtures for tests/test_tls*.py)

pytest_plugins = ["tests.keyring_service"]  # keyring_service, no_keyring fixtures


@pytest.fixture(autouse=True)
def close_leftover_servers() -> Iterator[None]:
    """Socket servers a test started and did not close are closed when it ends (their accept threads
    end too); those of module- and session-scoped fixtures, started before, stay."""
    before = {id(s) for s in (*RawServer.live, *TlsServer.live)}
    yield
    for server in [*RawServer.live, *TlsServer.live]:
        if id(server) not in before:
            server.close()


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_files(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile, cafile = d / "cert.pem", d / "key.pem", d / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(certfile), append=True)
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(cafile))
    return {"cert": str(certfile), "key": str(keyfile), "ca": str(cafile)}


@pytest.fixture(scope="session")
def http_server() -> Iterator[HypercornServer]:
    s = HypercornServer().start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def https_server(tls_files: dict[str, str]) -> Iterator[HypercornServer]:
    s = HypercornServer(certfile=tls_files["cert"], keyfile=tls_files["key"]).start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def unix_server() -> Iterator[HypercornServer]:
    d = tempfile.mkdtemp(prefix="courier-uds-")
    s = HypercornServer(uds=os.path.join(d, "api.sock")).start()
    yield s
    s.stop()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.run_until_complete(lp.shutdown_asyncgens())
    lp.close()


@pytest.fixture(params=["asyncio", "uvloop"])
def anyloop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh loop of each kind: the app's network thread runs uvloop, tests default to asyncio."""
    if request.param == "uvloop":
        import uvloop

        lp = uvloop.new_event_loop()
    else:
        lp = asyncio.new_event_loop()
    yield lp
    lp.run_until_complete(lp.shutdown_asyncgens())
    lp.close()


from tests.policy_servers import httpbin_server, policy_server, policy_tls_server  # noqa: E402, F401
