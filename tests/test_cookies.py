"""A user's cookies: set by real servers, sent back, shown, edited, and kept across restarts."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from core import NetworkManager, Request
from core.cookie_store import CookieStoreError, SqliteCookieStore
from core.cookies import Cookie, CookieJar, SameSite, parse_cookie_date, parse_set_cookie
from core.request import Attribute
from tests.policy_helpers import echoed, other_host, run, to
from tests.policy_servers import PolicyServer
from tests.servers import HypercornServer


def setting(*cookies: str) -> str:
    return "&".join("set=" + quote(c, safe="") for c in cookies)


def test_a_login_cookie_comes_back_on_every_later_request(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        await m.get(f"{policy_server.url}/echo/login?{setting('sid=abc123; HttpOnly; SameSite=Lax')}").wait()
        profile = await m.get(policy_server.url + "/echo/profile").wait()
        assert echoed(profile)["cookie"] == "sid=abc123"
        [sid] = m.cookie_jar.all_cookies()
        assert (sid.domain, sid.path, sid.http_only, sid.same_site, sid.is_session) == \
            ("127.0.0.1", "/echo/", True, SameSite.LAX, True)
        elsewhere = await m.get(policy_server.url + "/other").wait()
        assert elsewhere.status == 200
        assert "cookie" not in dict(policy_server.seen.requests[-1]["headers"])  # path /echo/ only

    run(loop, story)


def test_secure_cookies_are_kept_from_http_but_only_sent_over_https(
        loop, policy_server: PolicyServer, policy_tls_server: PolicyServer, tls_files: dict[str, str]) -> None:
    async def story(m: NetworkManager) -> None:
        await m.get(f"{policy_server.url}/echo/s?{setting('token=t1; Secure; Path=/')}").wait()
        plain = await m.get(policy_server.url + "/echo/plain").wait()
        secure = await m.get(policy_tls_server.url + "/echo/secure").wait()
        assert echoed(plain)["cookie"] is None
        assert echoed(secure)["cookie"] == "token=t1"  # cookies ignore the port

    run(loop, story, tls_files["ca"])


def test_a_server_deletes_a_cookie_by_expiring_it(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        await m.get(f"{policy_server.url}/echo/a?{setting('a=1; Path=/', 'b=2; Path=/')}").wait()
        assert len(m.cookie_jar) == 2
        await m.get(f"{policy_server.url}/echo/b?{setting('a=; Path=/; Max-Age=0')}").wait()
        await m.get(f"{policy_server.url}/echo/c?{setting('b=; Path=/; Expires=Thu, 01 Jan 1970 00:00:01 GMT')}").wait()
        assert m.cookie_jar.all_cookies() == []
        last = await m.get(policy_server.url + "/echo/d").wait()
        assert echoed(last)["cookie"] is None

    run(loop, story)


def test_the_last_of_max_age_and_expires_wins_like_qt() -> None:
    now = 1_700_000_000.0
    expires_last = parse_set_cookie("a=1; Max-Age=60; Expires=Wed, 09 Jun 2021 10:18:14 GMT", now)
    max_age_last = parse_set_cookie("a=1; Expires=Wed, 09 Jun 2021 10:18:14 GMT; Max-Age=60", now)
    assert expires_last is not None and expires_last.expires == 1623233894.0
    assert max_age_last is not None and max_age_last.expires == now + 60


@pytest.mark.parametrize("text", ["Wed, 09 Jun 2021 10:18:14 GMT", "Wednesday, 09-Jun-21 10:18:14 GMT",
                                  "Wed Jun  9 10:18:14 2021", "09 Jun 2021 10:18:14", "Wed, 09-Jun-2021 10:18:14 GMT"])
def test_the_date_formats_servers_use_are_understood(text: str) -> None:
    assert parse_cookie_date(text) == 1623233894.0


def test_the_jar_header_replaces_an_app_cookie_header_and_leaves_it_alone_otherwise(
        loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        alone = await m.get(Request(policy_server.url + "/echo/x", headers=[("Cookie", "mine=1")])).wait()
        assert echoed(alone)["cookie"] == "mine=1"
        await m.get(f"{policy_server.url}/echo/set?{setting('jar=1; Path=/')}").wait()
        replaced = await m.get(Request(policy_server.url + "/echo/x", headers=[("Cookie", "mine=1")])).wait()
        assert echoed(replaced)["cookie"] == "jar=1"  # C8: no merge

    run(loop, story)


def test_each_redirect_hop_gets_the_cookies_of_its_own_url(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        m.cookie_jar.set_cookie_headers_from_url(["here=1; Path=/"], policy_server.url + "/")
        m.cookie_jar.set_cookie_headers_from_url(["there=1; Path=/"], other_host(policy_server) + "/")
        reply = await m.get(to(policy_server, other_host(policy_server) + "/echo/hop") + "&set=fromhop%3D1").wait()
        assert dict(policy_server.requests_to("/to")[-1]["headers"])["cookie"] == "here=1"
        assert echoed(reply)["cookie"] == "there=1"
        assert [c.name for c in m.cookie_jar.cookies_for_url(policy_server.url + "/")] == ["here", "fromhop"]

    run(loop, story)


def test_a_request_can_neither_send_nor_keep_cookies(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        no_save = Request(f"{policy_server.url}/echo/a?{setting('kept=no; Path=/')}",
                          attributes={Attribute.COOKIE_SAVE_AUTOMATIC: False})
        await m.get(no_save).wait()
        assert len(m.cookie_jar) == 0
        await m.get(f"{policy_server.url}/echo/b?{setting('kept=yes; Path=/')}").wait()
        no_load = Request(policy_server.url + "/echo/c", attributes={Attribute.COOKIE_LOAD_AUTOMATIC: False})
        assert echoed(await m.get(no_load).wait())["cookie"] is None
        assert echoed(await m.get(policy_server.url + "/echo/d").wait())["cookie"] == "kept=yes"

    run(loop, story)


def test_httpbin_sets_and_deletes_cookies(loop, httpbin_server: HypercornServer) -> None:
    async def story(m: NetworkManager) -> None:
        reply = await m.get(httpbin_server.url + "/cookies/set?flavour=oat&size=xl").wait()
        assert reply.url == httpbin_server.url + "/cookies"  # the Set-Cookie came on the 302
        assert json.loads(reply.content()) == {"cookies": {"flavour": "oat", "size": "xl"}}
        reply = await m.get(httpbin_server.url + "/cookies/delete?flavour").wait()
        assert json.loads(reply.content()) == {"cookies": {"size": "xl"}}
        assert [c.name for c in m.cookie_jar.all_cookies()] == ["size"]

    run(loop, story)


def test_the_ui_lists_edits_and_deletes_cookies() -> None:
    jar = CookieJar()
    changes: list[int] = []
    jar.subscribe(lambda: changes.append(len(jar)))
    jar.set_cookie_headers_from_url(["a=1; Path=/", "b=2; Path=/; Secure"], "http://example.com/x")
    assert [(c.name, c.value, c.secure) for c in jar.all_cookies()] == [("a", "1", False), ("b", "2", True)]
    a = jar.all_cookies()[0]
    a.value = "edited"
    assert jar.update_cookie(a)
    assert jar.header_for_url("http://example.com/") == "a=edited"
    assert not jar.update_cookie(Cookie("missing", "x", "example.com", "/"))
    assert jar.insert_cookie(Cookie("c", "3", ".example.com", "/", expires=time.time() + 60))
    assert jar.header_for_url("https://www.example.com/") == "c=3"
    assert jar.delete_cookie(a) and not jar.delete_cookie(a)
    assert "b=2; secure; path=/" in jar.all_cookies()[0].to_set_cookie().replace("domain=example.com; ", "")
    jar.clear()
    assert len(jar) == 0 and changes == [1, 2, 2, 3, 2, 0]


# -- persistence ------------------------------------------------------------------------------

def test_cookies_survive_a_restart_but_session_cookies_do_not(loop, policy_server: PolicyServer, tmp_path) -> None:
    path = tmp_path / "cookies.sqlite"
    sets = setting("remember=me; Path=/; Max-Age=3600", "session=only; Path=/")

    async def first(m: NetworkManager) -> None:
        m.cookie_jar = CookieJar(SqliteCookieStore(path))
        await m.get(f"{policy_server.url}/echo/login?{sets}").wait()
        m.cookie_jar.store.close()  # type: ignore[union-attr]

    async def after_restart(m: NetworkManager) -> Any:
        m.cookie_jar = CookieJar(SqliteCookieStore(path))
        return await m.get(policy_server.url + "/echo/again").wait()

    run(loop, first)
    assert echoed(run(loop, after_restart))["cookie"] == "remember=me"


def test_a_store_can_keep_session_cookies_too(tmp_path) -> None:
    path = tmp_path / "cookies.sqlite"
    jar = CookieJar(SqliteCookieStore(path, keep_session_cookies=True))
    jar.set_cookie_headers_from_url(["s=1", "p=2; Max-Age=100"], "http://example.com/")
    jar.store.close()  # type: ignore[union-attr]
    again = CookieJar(SqliteCookieStore(path, keep_session_cookies=True))
    assert [c.name for c in again.all_cookies()] == ["s", "p"]


_WRITER = """
import sys, time
from core.cookie_store import SqliteCookieStore
from core.cookies import Cookie
store = SqliteCookieStore(sys.argv[1])
for i in range(1_000_000):
    store.put(Cookie(f"c{i}", "v" * 200, "example.com", "/", expires=time.time() + 3600))
    print(i, flush=True)
"""


@pytest.mark.parametrize("round_", range(3))
def test_a_crash_in_the_middle_of_writing_loses_nothing_that_was_saved(tmp_path, round_: int) -> None:
    path = tmp_path / "cookies.sqlite"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    saved = -1
    deadline = time.monotonic() + 30
    while saved < 200 + 150 * round_ and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        saved = int(line)
    os.kill(proc.pid, signal.SIGKILL)  # kill -9, most likely in the middle of a transaction
    proc.wait(10)
    assert saved >= 200, "the writer never got going"
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    check.close()
    names = {c.name for c in SqliteCookieStore(path).load()}
    assert all(f"c{i}" in names for i in range(saved + 1))


def test_a_damaged_store_is_reported_and_left_untouched(tmp_path) -> None:
    path = tmp_path / "cookies.sqlite"
    path.write_bytes(b"this is not a database, but it is the user's file" * 100)
    before = path.read_bytes()
    with pytest.raises(CookieStoreError, match=r"cookies\.sqlite.*left untouched"):
        SqliteCookieStore(path)
    assert path.read_bytes() == before


def test_a_store_that_cannot_be_written_does_not_break_browsing(tmp_path) -> None:
    path = tmp_path / "cookies.sqlite"
    jar = CookieJar(SqliteCookieStore(path, timeout=0.05))
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        assert jar.set_cookie_headers_from_url(["a=1"], "http://example.com/")
        assert jar.header_for_url("http://example.com/") == "a=1"  # kept in memory
        assert jar.store_error is not None and "cookies.sqlite" in jar.store_error
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
