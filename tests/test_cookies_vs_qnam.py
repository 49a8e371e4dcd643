"""Cookie acceptance and sending, side by side with Qt: the same Set-Cookie lines from the same URLs
go into QNetworkCookieJar and into Courier's jar, and both are asked what they send where; then the
same server talks to QNAM and to core."""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import quote

import pytest
from PySide6.QtCore import QByteArray, QUrl
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkCookie, QNetworkCookieJar, QNetworkRequest

from core import Request
from core.cookies import CookieJar, SameSite
from core.request import Attribute
from tests.policy_helpers import echoed, other_host, run, to
from tests.policy_servers import PolicyServer
from tests.qnam import qnam_request

pytestmark = pytest.mark.qnam

# (URL the response came from, Set-Cookie line)
SET = [
    ("http://example.com/dir/page.html", "nopath=1"),
    ("http://example.com/dir/page.html", "rootpath=1; Path=/"),
    ("http://example.com/set", "outside=1; Path=/set/sub"),
    ("http://example.com/", "relpath=1; Path=relative"),
    ("http://a.example.com/", "parent=1; Domain=example.com"),
    ("http://a.example.com/", "dotparent=1; Domain=.example.com"),
    ("http://example.com/", "child=1; Domain=a.example.com"),
    ("http://example.com/", "other=1; Domain=other.example"),
    ("http://www.example.co.uk/", "psl=1; Domain=co.uk"),
    ("http://www.example.co.uk/", "reg=1; Domain=example.co.uk"),
    ("http://www.example.com/", "tld=1; Domain=com"),
    ("http://com/", "tldhost=1; Domain=com"),
    ("http://foo.github.io/", "pages=1; Domain=github.io"),
    ("http://localhost/", "local=1; Domain=localhost"),
    ("http://a.localhost/", "localparent=1; Domain=localhost"),
    ("http://127.0.0.1/", "ip=1"),
    ("http://127.0.0.1/", "ipdomain=1; Domain=127.0.0.1"),
    ("http://example.com/", "sec=1; Secure"),
    ("http://example.com/", "flags=1; HttpOnly; SameSite=Strict"),
    ("http://example.com/", "lax=1; SameSite=lax"),
    ("http://example.com/", "both=1; Max-Age=3600; Expires=Wed, 09 Jun 2021 10:18:14 GMT"),
    ("http://example.com/", "both2=1; Expires=Wed, 09 Jun 2021 10:18:14 GMT; Max-Age=3600"),
    ("http://example.com/", "gone=1; Max-Age=0"),
    ("http://example.com/", "past=1; Expires=Thu, 01 Jan 1970 00:00:01 GMT"),
    ("http://example.com/", "future=1; Expires=Fri, 01 Jan 2100 00:00:00 GMT"),
    ("http://example.com/", "netscape=1; expires=Friday, 01-Jan-2100 00:00:00 GMT"),
    ("http://example.com/", "baddate=1; Expires=not a date"),
    ("http://example.com/", "badage=1; Max-Age=soon"),
    ("http://example.com/", "=novalue"),
    ("http://example.com/", "noequals"),
    ("http://example.com/", "empty="),
    ("http://example.com/", " spaced = v a l ; Path = /sp "),
    ("http://example.com/", "eq=a=b=c"),
    ("http://example.com/", "quoted=\"q v\""),
    ("http://example.com/deep/er/x", "deep=1; Path=/deep"),
    ("http://example.com/", "z=1"),
    ("http://example.com/", "y=1"),
    ("http://example.com/", "z=2"),
    ("http://EXAMPLE.com/", "case=1; Domain=Example.COM"),
]

ASK = ["http://example.com/", "https://example.com/", "http://example.com/dir", "http://example.com/dir/",
       "http://example.com/dir/x", "http://example.com/set/sub/x", "http://example.com/deep/er",
       "http://a.example.com/", "http://b.a.example.com/", "http://example.co.uk/",
       "http://www.example.co.uk/", "http://x.www.example.com/", "http://localhost/", "http://a.localhost/",
       "http://127.0.0.1/", "http://com/", "http://foo.github.io/", "http://example.com", "http://other.example/"]


class QtJar(QNetworkCookieJar):
    def everything(self) -> list[QNetworkCookie]:
        return self.allCookies()


def _qt(cookie: QNetworkCookie) -> tuple[Any, ...]:
    return (bytes(cookie.name().data()).decode("latin-1"), bytes(cookie.value().data()).decode("latin-1"),
            cookie.domain(), cookie.path(), cookie.isSecure(), cookie.isHttpOnly(), cookie.isSessionCookie())


def _ours(cookie: Any) -> tuple[Any, ...]:
    return (cookie.name, cookie.value, cookie.domain, cookie.path, cookie.secure, cookie.http_only,
            cookie.is_session)


def test_the_jar_accepts_and_sends_what_qts_jar_does(qapp) -> None:
    qt, ours = QtJar(), CookieJar()
    for url, line in SET:
        q_added = qt.setCookiesFromUrl(QNetworkCookie.parseCookies(QByteArray(line.encode())), QUrl(url))
        c_added = ours.set_cookie_headers_from_url([line], url)
        assert c_added == q_added, (url, line)
    assert [_ours(c) for c in ours.all_cookies()] == [_qt(c) for c in qt.everything()]
    for url in ASK:
        assert [_ours(c) for c in ours.cookies_for_url(url)] == [_qt(c) for c in qt.cookiesForUrl(QUrl(url))], url


def test_many_cookies_are_sent_in_qts_order(qapp) -> None:
    """C7: Qt sorts with std::sort, so past 16 cookies ties are not in jar order; neither are ours."""
    rng = random.Random(7)
    for case in range(25):
        qt, ours = QtJar(), CookieJar()
        for i in range(rng.randint(1, 60)):
            path = rng.choice(["/", "/a", "/a/", "/a/b", "/a/b/c", "/ab"])
            line = f"c{case}_{i}={i}; Path={path}"
            qt.setCookiesFromUrl(QNetworkCookie.parseCookies(QByteArray(line.encode())),
                                 QUrl("http://example.com/"))
            ours.set_cookie_headers_from_url([line], "http://example.com/")
        url = "http://example.com/a/b/c/d"
        assert [c.name for c in ours.cookies_for_url(url)] == [_qt(c)[0] for c in qt.cookiesForUrl(QUrl(url))]


def test_same_site_and_expiry_are_kept_like_qt(qapp) -> None:
    qt, ours = QtJar(), CookieJar()
    lines = ["s=1; SameSite=Strict", "l=1; SameSite=Lax", "n=1; SameSite=None", "d=1; SameSite=bogus",
             "m=1; Max-Age=100; Expires=Fri, 01 Jan 2100 00:00:00 GMT"]
    for line in lines:
        qt.setCookiesFromUrl(QNetworkCookie.parseCookies(QByteArray(line.encode())), QUrl("http://example.com/"))
        ours.set_cookie_headers_from_url([line], "http://example.com/")
    names = {QNetworkCookie.SameSite.Strict: SameSite.STRICT, QNetworkCookie.SameSite.Lax: SameSite.LAX,
             QNetworkCookie.SameSite.None_: SameSite.NONE, QNetworkCookie.SameSite.Default: SameSite.DEFAULT}
    assert [c.same_site for c in ours.all_cookies()] == [names[c.sameSitePolicy()] for c in qt.everything()]
    q_expiry = qt.everything()[-1].expirationDate().toSecsSinceEpoch()
    assert ours.all_cookies()[-1].expires == q_expiry == 4102444800  # Expires came last: it wins (C5)


def _cookie_manager(pairs: list[tuple[str, str]]) -> QNetworkAccessManager:
    m = QNetworkAccessManager()
    jar = m.cookieJar()
    for url, line in pairs:
        jar.setCookiesFromUrl(QNetworkCookie.parseCookies(QByteArray(line.encode())), QUrl(url))
    return m


def test_cookies_set_by_a_server_come_back_like_qnams(qapp, loop, policy_server: PolicyServer) -> None:
    sets = "&".join("set=" + quote(v, safe="") for v in ("a=1", "deep=2; Path=/echo/deep", "b=3"))
    qm = QNetworkAccessManager()
    qnam_request(f"{policy_server.url}/echo/deep/set?{sets}", manager=qm)
    qnam_request(f"{policy_server.url}/echo/deep/x", manager=qm, headers=[("Cookie", "app=1")])
    q_cookie = policy_server.requests_to("/echo/deep/x")[-1]["headers"]

    async def story(m: Any) -> Any:
        await m.get(f"{policy_server.url}/echo/deep/set?{sets}").wait()
        return await m.get(Request(f"{policy_server.url}/echo/deep/x", headers=[("Cookie", "app=1")])).wait()

    reply = run(loop, story)
    assert echoed(reply)["cookie"] == dict(q_cookie)["cookie"] == "a=1; b=3; deep=2"  # /echo/deep/ first
    assert [k for k, _ in echoed(reply)["headers"]] == [k for k, _ in q_cookie]  # W6: where Cookie goes


@pytest.mark.parametrize("control", ["load", "save"])
def test_manual_cookie_control_matches_qnam(qapp, loop, policy_server: PolicyServer, control: str) -> None:
    attr = QNetworkRequest.Attribute.CookieLoadControlAttribute if control == "load" \
        else QNetworkRequest.Attribute.CookieSaveControlAttribute
    qm = QNetworkAccessManager()
    qnam_request(policy_server.url + f"/echo/{control}?set=k%3D1",
                 manager=qm, prepare=lambda r: r.setAttribute(attr, QNetworkRequest.LoadControl.Manual)
                 if control == "save" else None)
    qnam_request(policy_server.url + f"/echo/{control}/next", manager=qm,
                 prepare=lambda r: r.setAttribute(attr, QNetworkRequest.LoadControl.Manual)
                 if control == "load" else None)
    q_sent = dict(policy_server.requests_to(f"/echo/{control}/next")[-1]["headers"]).get("cookie")
    ours = Attribute.COOKIE_LOAD_AUTOMATIC if control == "load" else Attribute.COOKIE_SAVE_AUTOMATIC

    async def story(m: Any) -> Any:
        first = {ours: False} if control == "save" else {}
        second = {ours: False} if control == "load" else {}
        await m.get(Request(policy_server.url + f"/echo/{control}?set=k%3D1", attributes=first)).wait()
        return await m.get(Request(policy_server.url + f"/echo/{control}/next", attributes=second)).wait()

    reply = run(loop, story)
    assert echoed(reply)["cookie"] == q_sent is None


def test_a_cookie_set_on_a_redirect_is_stored_before_following_like_qnam(qapp, loop,
                                                                         policy_server: PolicyServer) -> None:
    url = policy_server.url + "/to?url=/echo/after&set=hop%3D1"
    qm = QNetworkAccessManager()
    qnam_request(url, manager=qm)
    q_sent = dict(policy_server.requests_to("/echo/after")[-1]["headers"]).get("cookie")
    reply = run(loop, lambda m: m.get(url).wait())
    assert echoed(reply)["cookie"] == q_sent == "hop=1"  # R7


def test_qnam_leaks_jar_cookies_across_a_redirect_and_courier_does_not(qapp, loop,
                                                                       policy_server: PolicyServer) -> None:
    """Deliberate difference 1 (R6): the original host's cookies stay with the original host."""
    url = to(policy_server, other_host(policy_server) + "/echo/leak")
    qm = _cookie_manager([(policy_server.url + "/", "sid=secret")])
    qnam_request(url, manager=qm)
    q_sent = dict(policy_server.requests_to("/echo/leak")[-1]["headers"]).get("cookie")

    async def story(m: Any) -> Any:
        m.cookie_jar.set_cookie_headers_from_url(["sid=secret"], policy_server.url + "/")
        return await m.get(url).wait()

    reply = run(loop, story)
    assert q_sent == "sid=secret"
    assert echoed(reply)["cookie"] is None
