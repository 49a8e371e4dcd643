"""A user turns HSTS on: secure sites become known hosts and plain-http requests to them go secure."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import pytest

from core import NetworkError, NetworkManager
from core.hsts import HstsCache, HstsPolicy, HstsStoreError, parse_sts
from tests.policy_helpers import run, to
from tests.policy_servers import PolicyServer


def named(server: PolicyServer) -> str:
    """The server by name: IP literals never become HSTS hosts (HS2)."""
    return server.url.replace("127.0.0.1", "localhost")


def sts(value: str) -> str:
    return "sts=" + quote(value, safe="")


def test_hsts_is_off_by_default_like_qnam(loop, policy_tls_server: PolicyServer, tls_files) -> None:
    async def story(m: NetworkManager) -> None:
        assert not m.strict_transport_security_enabled
        await m.get(f"{named(policy_tls_server)}/echo/off?{sts('max-age=3600')}").wait()
        assert m.strict_transport_security_hosts() == []

    run(loop, story, tls_files["ca"])


def test_a_secure_site_becomes_known_and_plain_requests_to_it_go_secure(
        loop, policy_tls_server: PolicyServer, tls_files) -> None:
    async def story(m: NetworkManager) -> None:
        m.strict_transport_security_enabled = True
        first = await m.get(f"{named(policy_tls_server)}/echo/learn?{sts('max-age=3600; includeSubDomains')}").wait()
        assert first.error is NetworkError.NoError
        [policy] = m.strict_transport_security_hosts()
        assert policy.host == "localhost" and policy.include_subdomains
        assert 3590 < policy.expires - time.time() <= 3600
        plain = named(policy_tls_server).replace("https://", "http://") + "/echo/upgraded?q=1"
        reply = m.get(plain)
        assert reply.url == plain.replace("http://", "https://")  # upgraded before anything is sent
        await reply.wait()
        assert reply.error is NetworkError.NoError
        last = policy_tls_server.requests_to("/echo/upgraded")[-1]
        assert last["scheme"] == "https" and last["query"] == "q=1"

    run(loop, story, tls_files["ca"])


def test_sts_over_plain_http_is_ignored(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        m.strict_transport_security_enabled = True
        await m.get(f"{named(policy_server)}/echo/plain-sts?{sts('max-age=3600')}").wait()
        assert m.strict_transport_security_hosts() == []  # HS1

    run(loop, story)


def test_an_ip_address_never_becomes_a_known_host(loop, policy_tls_server: PolicyServer, tls_files) -> None:
    async def story(m: NetworkManager) -> None:
        m.strict_transport_security_enabled = True
        await m.get(f"{policy_tls_server.url}/echo/ip?{sts('max-age=3600')}").wait()
        m.add_strict_transport_security_hosts([HstsPolicy("127.0.0.1", time.time() + 60),
                                               HstsPolicy("::1", time.time() + 60)])
        assert m.strict_transport_security_hosts() == []  # HS2

    run(loop, story, tls_files["ca"])


def test_max_age_zero_forgets_the_host(loop, policy_tls_server: PolicyServer, tls_files) -> None:
    async def story(m: NetworkManager) -> None:
        m.strict_transport_security_enabled = True
        await m.get(f"{named(policy_tls_server)}/echo/a?{sts('max-age=3600')}").wait()
        assert len(m.strict_transport_security_hosts()) == 1
        await m.get(f"{named(policy_tls_server)}/echo/b?{sts('max-age=0')}").wait()
        assert m.strict_transport_security_hosts() == []  # HS5

    run(loop, story, tls_files["ca"])


def test_a_redirect_to_plain_http_on_a_known_host_is_upgraded_and_followed(
        loop, policy_tls_server: PolicyServer, tls_files) -> None:
    down = to(named(policy_tls_server), named(policy_tls_server).replace("https:", "http:") + "/echo/r19")

    async def without(m: NetworkManager) -> Any:
        return await m.get(down).wait()

    async def with_hsts(m: NetworkManager) -> Any:
        m.strict_transport_security_enabled = True
        m.add_strict_transport_security_hosts([HstsPolicy("localhost", time.time() + 60)])
        return await m.get(down).wait()

    assert run(loop, without, tls_files["ca"]).error is NetworkError.InsecureRedirectError
    reply = run(loop, with_hsts, tls_files["ca"])
    assert reply.error is NetworkError.NoError  # R19: upgraded before the less-safe check
    assert reply.url == named(policy_tls_server) + "/echo/r19"


@pytest.mark.parametrize(("url", "expected"), [
    ("http://hsts.test/", "https://hsts.test/"),
    ("http://hsts.test:80/p?q#f", "https://hsts.test:443/p?q#f"),
    ("http://hsts.test:8080/", "https://hsts.test:8080/"),
    ("http://user:pw@HSTS.test/", "https://user:pw@HSTS.test/"),
    ("http://a.b.sub.test/", "https://a.b.sub.test/"),
    ("http://sub.test/", "https://sub.test/"),
    ("http://x.hsts.test/", "http://x.hsts.test/"),  # no includeSubDomains
    ("http://other.test/", "http://other.test/"),
    ("https://hsts.test:80/", "https://hsts.test:80/"),
    ("unix+http://hsts.test/", "unix+http://hsts.test/"),  # exempt (HS7)
    ("http://expired.test/", "http://expired.test/"),
])
def test_known_hosts_are_matched_and_upgraded_like_rfc_6797(url: str, expected: str) -> None:
    cache = HstsCache()
    cache.add_hosts([HstsPolicy("hsts.test", time.time() + 60), HstsPolicy("sub.test", time.time() + 60, True),
                     HstsPolicy("expired.test", time.time() - 1)])
    assert cache.upgrade_url(url) == expected


@pytest.mark.parametrize(("header", "expected"), [
    ("max-age=60", (60, False)),
    ("max-age=60; includeSubDomains", (60, True)),
    ('max-age="60"; INCLUDESUBDOMAINS', (60, True)),
    ("  ;max-age=60 ;; preload; x=\"a;b\"  ", (60, False)),
    ("Max-Age=0", (0, False)),
    ("includeSubDomains", None),
    ("max-age=60; max-age=70", None),
    ("max-age=60; includeSubDomains; includeSubDomains", None),
    ("max-age=-1", None),
    ("max-age=abc", None),
    ("max-age=", None),
    ("max-age=60 junk", None),
    ('max-age="60', None),
])
def test_sts_header_lines_are_parsed_strictly(header: str, expected: tuple[int, bool] | None) -> None:
    assert parse_sts(header) == expected


def test_the_first_valid_sts_line_wins() -> None:
    cache = HstsCache()
    now = 1_000_000.0
    assert cache.update_from_headers("site.test", ["max-age=1; max-age=2", "max-age=100", "max-age=5"], now)
    assert cache.hosts(now) == [HstsPolicy("site.test", now + 100)]


def test_known_hosts_are_kept_across_restarts(loop, policy_tls_server: PolicyServer, tls_files, tmp_path) -> None:
    path = tmp_path / "hsts.json"

    async def learn(m: NetworkManager) -> None:
        m.strict_transport_security_enabled = True
        m.enable_strict_transport_security_store(True, str(path))
        await m.get(f"{named(policy_tls_server)}/echo/store?{sts('max-age=3600')}").wait()

    async def later(m: NetworkManager) -> None:
        m.add_strict_transport_security_hosts([HstsPolicy("localhost", time.time() + 10, True)])
        m.enable_strict_transport_security_store(True, str(path))
        assert not m.strict_transport_security_enabled  # loading does not switch HSTS on (HS9)
        [policy] = m.strict_transport_security_hosts()
        assert policy.include_subdomains and policy.expires < time.time() + 20  # in memory wins
        m.add_strict_transport_security_hosts([HstsPolicy("other.test", time.time() + 60)])

    run(loop, learn, tls_files["ca"])
    stored = json.loads(path.read_text())
    assert [p["host"] for p in stored["policies"]] == ["localhost"]
    run(loop, later, tls_files["ca"])
    assert [p["host"] for p in json.loads(path.read_text())["policies"]] == ["localhost", "other.test"]


def test_a_damaged_store_is_reported_and_left_untouched(tmp_path) -> None:
    path = tmp_path / "hsts.json"
    path.write_text("{not json")
    with pytest.raises(HstsStoreError, match=r"damaged.*left untouched"):
        NetworkManager().enable_strict_transport_security_store(True, str(path))
    assert path.read_text() == "{not json"
