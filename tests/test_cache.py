"""A user turns the HTTP cache on: repeat requests come from disk, stale ones are revalidated, the
cache keeps to its size, survives restarts, and big bodies never sit in memory."""

from __future__ import annotations

import os
import tracemalloc
from typing import Any

from core import CacheLoadControl, NetworkError, NetworkManager, Request
from core.cache import DiskCache
from core.request import Attribute
from tests.policy_helpers import run
from tests.policy_servers import PolicyServer
from tests.servers import HypercornServer

PAST = "Thu, 01 Jan 2015 00:00:00 GMT"
LM = "Mon, 01 Jan 2024 00:00:00 GMT"


def cached(tmp_path: Any, **kw: Any) -> Any:
    """A story runner whose manager has a disk cache in ``tmp_path``."""
    def wrap(story: Any) -> Any:
        async def go(m: NetworkManager) -> Any:
            m.cache = DiskCache(tmp_path / "cache", **kw)
            return await story(m)

        return go

    return wrap


def test_without_a_cache_every_request_goes_to_the_server(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        assert m.cache is None  # D14
        url = policy_server.url + "/cache/none?cc=max-age%3D60"
        first = await m.get(url).wait()
        second = await m.get(url).wait()
        assert (first.content(), second.content()) == (b"none v1", b"none v2")
        assert first.from_cache is None and second.from_cache is None  # K8: not False

    run(loop, story)


def test_a_fresh_answer_comes_from_disk_without_touching_the_server(loop, policy_server: PolicyServer,
                                                                   tmp_path) -> None:
    @cached(tmp_path)
    async def story(m: NetworkManager) -> None:
        url = policy_server.url + "/cache/fresh?cc=max-age%3D60&hdr=X-Kind:fresh"
        first = await m.get(url).wait()
        before = len(policy_server.requests_to("/cache/fresh"))
        again = await m.get(url).wait()
        assert len(policy_server.requests_to("/cache/fresh")) == before
        assert (again.status, again.content(), again.from_cache) == (200, b"fresh v1", True)
        assert again.header("x-kind") == "fresh" and first.from_cache is None
        hop = again.timings.hops[0]
        assert hop.from_cache and hop.connection.connect_start is None
        head = await m.head(url).wait()
        assert head.content() == b"fresh v1" and head.from_cache  # K7: HEAD gets the cached body

    run(loop, story)


def test_a_stale_entry_is_revalidated_and_a_304_refreshes_it(loop, policy_server: PolicyServer, tmp_path) -> None:
    @cached(tmp_path)
    async def story(m: NetworkManager) -> None:
        url = (f"{policy_server.url}/cache/reval?expires={PAST}&etag=%22e1%22&lm={LM}"
               "&cc304=max-age%3D60&hdr=X-Version:1")
        await m.get(url).wait()
        second = await m.get(url).wait()
        sent = dict(policy_server.requests_to("/cache/reval")[-1]["headers"])
        assert sent["if-none-match"] == '"e1"' and sent["if-modified-since"] == LM
        assert (second.status, second.content(), second.from_cache) == (200, b"reval v1", True)
        assert second.timings.hops[0].status == 304 and not second.timings.hops[0].from_cache
        assert second.header("cache-control") == "max-age=60"  # merged into the entry
        count = len(policy_server.requests_to("/cache/reval"))
        third = await m.get(url).wait()
        assert third.from_cache and len(policy_server.requests_to("/cache/reval")) == count

    run(loop, story)


def test_validators_are_not_invented_for_an_entry_that_has_none(loop, policy_server: PolicyServer,
                                                                 tmp_path) -> None:
    @cached(tmp_path)
    async def story(m: NetworkManager) -> None:
        url = f"{policy_server.url}/cache/novalid?expires={PAST}"
        await m.get(url).wait()
        again = await m.get(url).wait()
        sent = dict(policy_server.requests_to("/cache/novalid")[-1]["headers"])
        assert "if-none-match" not in sent and "if-modified-since" not in sent
        assert again.content() == b"novalid v2" and again.from_cache is None

    run(loop, story)


def test_always_cache_works_offline_on_whatever_is_stored(loop, policy_server: PolicyServer, tmp_path) -> None:
    @cached(tmp_path)
    async def story(m: NetworkManager) -> None:
        offline = {Attribute.CACHE_LOAD_CONTROL: CacheLoadControl.ALWAYS_CACHE}
        url = f"{policy_server.url}/cache/offline?expires={PAST}"
        await m.get(url).wait()
        stored = await m.get(Request(url, attributes=offline)).wait()
        assert stored.content() == b"offline v1" and stored.from_cache
        missing = await m.get(Request(policy_server.url + "/cache/never-seen", attributes=offline)).wait()
        assert missing.error is NetworkError.ContentNotFoundError
        assert missing.error_string == f"Error opening {policy_server.url}/cache/never-seen"
        assert policy_server.requests_to("/cache/never-seen") == []

    run(loop, story)


def test_only_successful_gets_are_stored_and_other_methods_invalidate(loop, policy_server: PolicyServer,
                                                                      tmp_path) -> None:
    @cached(tmp_path)
    async def story(m: NetworkManager) -> None:
        cache = m.cache
        assert cache is not None
        ok = policy_server.url + "/cache/keep?cc=max-age%3D60&set=s%3D1&hdr=Keep-Alive:timeout%3D5"
        await m.get(ok).wait()
        entry = cache.metadata(ok)
        assert entry is not None
        names = {k.lower() for k, _ in entry.headers}
        assert "set-cookie" not in names and "keep-alive" not in names  # K6
        await m.post(ok, b"change").wait()
        assert cache.metadata(ok) is None  # K6: POST invalidates
        await m.put(ok, b"change").wait()
        assert cache.metadata(ok) is None
        policy_server.policy.script["/cache/gone"] = {"status": 404}
        try:
            await m.get(policy_server.url + "/cache/gone?cc=max-age%3D60").wait()
        finally:
            del policy_server.policy.script["/cache/gone"]
        assert cache.metadata(policy_server.url + "/cache/gone?cc=max-age%3D60") is None
        no_save = Request(policy_server.url + "/cache/nosave?cc=max-age%3D60",
                          attributes={Attribute.CACHE_SAVE_CONTROL: False})
        await m.get(no_save).wait()
        assert cache.metadata(no_save.url) is None
        with_body = await m.get(policy_server.url + "/cache/getbody?cc=max-age%3D60", b"query").wait()
        assert with_body.status == 200 and cache.metadata(with_body.url) is None  # W14
        ranged = Request(ok, headers=[("Range", "bytes=0-1")])
        await m.get(ok).wait()
        assert (await m.get(ranged).wait()).from_cache is None  # a Range request goes to the network

    run(loop, story)


def test_the_cache_keeps_to_its_size_evicting_the_oldest_first(loop, policy_server: PolicyServer, tmp_path) -> None:
    kib = 1024

    @cached(tmp_path, max_size=1000 * kib)
    async def story(m: NetworkManager) -> None:
        cache = m.cache
        assert cache is not None
        urls = [f"{policy_server.url}/cache/big{i}?cc=max-age%3D60&size={300 * kib}" for i in range(4)]
        for url in urls[:3]:
            await m.get(url).wait()
        assert all(cache.metadata(u) for u in urls[:3]) and cache.cache_size() == 900 * kib
        await m.get(urls[3]).wait()  # 1200 KiB > 1000 KiB: evict down to 900 KiB (K9)
        assert [cache.metadata(u) is not None for u in urls] == [False, True, True, True]
        assert cache.cache_size() <= 900 * kib
        too_big = f"{policy_server.url}/cache/huge?cc=max-age%3D60&size={800 * kib}"
        await m.get(too_big).wait()
        assert cache.metadata(too_big) is None  # more than 3/4 of the maximum

    run(loop, story)


def test_a_big_body_is_streamed_to_and_from_disk(loop, policy_server: PolicyServer, tmp_path) -> None:
    size = 24 * 1024 * 1024
    url = f"{policy_server.url}/cache/large?cc=max-age%3D60&size={size}"

    @cached(tmp_path, max_size=200 * 1024 * 1024)
    async def story(m: NetworkManager) -> tuple[int, int]:
        tracemalloc.start()
        try:
            first = await m.get(Request(url, attributes={Attribute.STORE_BODY: False})).wait()
            _, peak_store = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            again = await m.get(url).wait()
            _, peak_serve = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert first.bytes_received == size and again.from_cache and again.body.size == size
        expected_tail = (b"/cache/large v1 " * (size // 8 + 1))[:size][-16:]
        assert again.body.on_disk and again.body.read_at(size - 16, 16) == expected_tail
        return peak_store, peak_serve

    peak_store, peak_serve = run(loop, story)
    assert peak_store < 12 * 1024 * 1024 and peak_serve < 12 * 1024 * 1024  # far below the 24 MiB body


def test_the_cache_survives_a_restart_and_cleans_up_after_a_crash(loop, policy_server: PolicyServer,
                                                                  tmp_path) -> None:
    url = policy_server.url + "/cache/persist?cc=max-age%3D3600"

    @cached(tmp_path)
    async def first(m: NetworkManager) -> None:
        await m.get(url).wait()

    run(loop, first)
    folder = tmp_path / "cache"
    (folder / ".courier-tmp-abc.body").write_bytes(b"half written")  # a crash mid-download
    (folder / ("0" * 64 + ".body")).write_bytes(b"body without metadata")
    broken = DiskCache(folder)
    key = broken._key(url)
    (folder / f"{key}.body").write_bytes(b"persist v1")  # intact

    @cached(tmp_path)
    async def later(m: NetworkManager) -> Any:
        return await m.get(url).wait()

    reply = run(loop, later)
    assert reply.from_cache and reply.content() == b"persist v1"
    assert sorted(p.name for p in folder.iterdir()) == sorted([f"{key}.body", f"{key}.meta"])
    (folder / f"{key}.body").write_bytes(b"torn")  # metadata says 10 bytes
    assert DiskCache(folder).metadata(url) is None
    assert os.listdir(folder) == []


def test_the_ui_lists_and_clears_entries(loop, policy_server: PolicyServer, tmp_path) -> None:
    @cached(tmp_path)
    async def story(m: NetworkManager) -> None:
        cache = m.cache
        assert cache is not None
        for name in ("one", "two"):
            await m.get(f"{policy_server.url}/cache/{name}?cc=max-age%3D60").wait()
        assert [e.url.split("/cache/")[1].split("?")[0] for e in cache.entries()] == ["one", "two"]
        assert cache.remove(f"{policy_server.url}/cache/one?cc=max-age%3D60")
        cache.clear()
        assert list(cache.entries()) == [] and cache.cache_size() == 0

    run(loop, story)


def test_httpbin_cache_endpoints(loop, httpbin_server: HypercornServer, tmp_path) -> None:
    @cached(tmp_path)
    async def story(m: NetworkManager) -> None:
        fresh = httpbin_server.url + "/cache/60"
        await m.get(fresh).wait()
        assert (await m.get(fresh).wait()).from_cache
        validating = httpbin_server.url + "/cache"  # Last-Modified and ETag; 304 to any validator
        first = await m.get(validating).wait()
        assert first.header("etag") is not None and first.header("last-modified") is not None
        again = await m.get(validating).wait()  # not fresh: revalidated → 304 → the stored body
        assert again.from_cache and again.timings.hops[0].status == 304 and again.status == 200
        stored = await m.get(httpbin_server.url + "/response-headers?Cache-Control=no-store").wait()
        assert stored.status == 200 and m.cache is not None and m.cache.metadata(stored.url) is None

    run(loop, story)


def test_gzip_bodies_are_cached_as_the_user_saw_them(loop, http_server: HypercornServer, tmp_path) -> None:
    """Like QNAM, the stored body is the decompressed one and the headers are the reply's (E2)."""
    cache = DiskCache(tmp_path / "cache")

    async def story(m: NetworkManager) -> None:
        m.cache = cache
        await m.get(http_server.url + "/gzip").wait()

    run(loop, story)
    entry = cache.metadata(http_server.url + "/gzip")
    assert entry is not None and entry.header("content-encoding") == "gzip"
    assert entry.header("content-length") is None
    body = cache.open_body(entry.url)
    assert body is not None
    with body:
        assert body.read() == b"hello gzip " * 100
