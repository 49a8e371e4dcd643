"""A user reaches password-protected pages on real servers (httpbin and a small auth app)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

import pytest

from core import IteratorBody, NetworkError, NetworkManager, Request
from core.request import Attribute
from tests.auth_helpers import Answers
from tests.proxies import NTLM_USER, AuthServer, HttpbinServer

BASIC = "Basic " + base64.b64encode(b"user:passwd").decode()


def run(loop: asyncio.AbstractEventLoop, coro):  # type: ignore[no-untyped-def]
    return loop.run_until_complete(asyncio.wait_for(coro, 60))


def auth_headers(server: HttpbinServer, since: int) -> list[str | None]:
    return [r["headers"].get("authorization") for r in server.requests[since:]]


def test_basic_login_asks_once_then_resends_with_credentials(loop, auth_httpbin: HttpbinServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        answers = Answers(m, ("user", "passwd"))
        n = len(auth_httpbin.requests)
        r = await m.get(auth_httpbin.url + "/basic-auth/user/passwd").wait()
        assert r.error is NetworkError.NoError and json.loads(r.content())["authenticated"] is True
        assert auth_headers(auth_httpbin, n) == [None, BASIC]  # A4: first contact is not pre-emptive
        q = answers.asked[0]
        assert (q.scheme, q.realm, q.host, q.previous_user) == ("Basic", "Fake Realm", "127.0.0.1", None)
        assert ("Authorization", BASIC) in r.sent_headers
        # A4: the re-send goes on the same connection
        clients = {tuple(x["client"]) for x in auth_httpbin.requests[n:]}
        assert len(clients) == 1
        await m.aclose()

    run(loop, go())


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "SHA-512"])
def test_digest_login_with_each_algorithm(loop, auth_httpbin: HttpbinServer, algorithm: str) -> None:
    async def go() -> None:
        m = NetworkManager()
        answers = Answers(m, ("user", "passwd"))
        n = len(auth_httpbin.requests)
        r = await m.get(f"{auth_httpbin.url}/digest-auth/auth/user/passwd/{algorithm}").wait()
        assert r.error is NetworkError.NoError, r.error_string
        assert json.loads(r.content()) == {"authenticated": True, "user": "user"}
        sent = auth_headers(auth_httpbin, n)
        assert sent[0] is None and sent[1] is not None and sent[1].startswith("Digest ")
        assert f"algorithm={algorithm}" in sent[1] and "qop=auth" in sent[1] and "nc=00000001" in sent[1]
        assert answers.asked[0].scheme == "Digest"
        await m.aclose()

    run(loop, go())


def test_no_answer_ends_with_authentication_required_and_a_readable_body(loop, auth_server: AuthServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        answers = Answers(m)  # the user cancels the dialog
        r = await m.get(auth_server.url + "/basic/r1/page").wait()
        assert r.error is NetworkError.AuthenticationRequiredError  # A7
        assert r.error_string == "Host requires authentication"
        assert r.status == 401 and r.content() == b"please log in"
        assert len(answers.asked) == 1
        await m.aclose()

    run(loop, go())


def test_without_any_listener_the_401_is_final(loop, auth_server: AuthServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        n = len(auth_server.seen)
        r = await m.get(auth_server.url + "/basic/r1/page").wait()
        assert r.error is NetworkError.AuthenticationRequiredError and r.content() == b"please log in"
        assert len(auth_server.seen) - n == 1
        await m.aclose()

    run(loop, go())


def test_cached_credentials_are_sent_pre_emptively_on_the_pool(loop, auth_server: AuthServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        answers = Answers(m, ("user", "passwd"))
        n = len(auth_server.seen)
        r = await m.get(auth_server.url + "/basic/r1/a").wait()
        assert r.status == 200
        # A10: another path, even another realm, goes with Authorization at once and no question
        r = await m.get(auth_server.url + "/basic/r2/b").wait()
        assert r.status == 200
        assert [s["authorization"] for s in auth_server.seen[n:]] == [None, BASIC, BASIC]
        # N4: after clear_connection_cache the credentials stay cached: one 401, answered silently
        await m.clear_connection_cache()
        n = len(auth_server.seen)
        r = await m.get(auth_server.url + "/basic/r1/c").wait()
        assert r.status == 200
        assert [s["authorization"] for s in auth_server.seen[n:]] == [None, BASIC]
        assert len(answers.asked) == 1
        # N4, A9: clear_access_cache forgets the credentials: the question comes back
        await m.clear_access_cache()
        r = await m.get(auth_server.url + "/basic/r1/d").wait()
        assert r.error is NetworkError.AuthenticationRequiredError and len(answers.asked) == 2
        await m.aclose()

    run(loop, go())


def test_managers_do_not_share_credentials(loop, auth_server: AuthServer) -> None:
    async def go() -> None:
        a, b = NetworkManager(), NetworkManager()
        Answers(a, ("user", "passwd"))
        answers_b = Answers(b)
        assert (await a.get(auth_server.url + "/basic/r1/x").wait()).status == 200
        r = await b.get(auth_server.url + "/basic/r1/x").wait()
        assert r.status == 401 and len(answers_b.asked) == 1  # A9: per manager
        await a.aclose()
        await b.aclose()

    run(loop, go())


def test_rejected_credentials_are_asked_again_with_the_previous_user(loop, auth_server: AuthServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        answers = Answers(m, ("bob", "wrong"), ("user", "passwd"))
        r = await m.get(auth_server.url + "/basic/r1/x").wait()
        assert r.status == 200  # A8: wrong then right
        assert [q.previous_user for q in answers.asked] == [None, "bob"]
        # the same wrong credentials twice end it (A8)
        m2 = NetworkManager()
        answers2 = Answers(m2, ("bob", "wrong"), ("bob", "wrong"), ("user", "passwd"))
        r = await m2.get(auth_server.url + "/basic/r1/x").wait()
        assert r.error is NetworkError.AuthenticationRequiredError and len(answers2.asked) == 2
        await m.aclose()
        await m2.aclose()

    run(loop, go())


def test_a_server_that_keeps_challenging_ends_after_a_bounded_number_of_rounds(loop, auth_server: AuthServer) -> None:
    """Deliberate difference 3: QNAM re-asks without limit while the answers differ (A8)."""
    async def go() -> None:
        m = NetworkManager()
        answers = Answers(m, *[(f"user{i}", "pw") for i in range(100)])
        n = len(auth_server.seen)
        r = await m.get(auth_server.url + "/always").wait()
        assert r.error is NetworkError.AuthenticationRequiredError and r.content() == b"never"
        assert len(answers.asked) == m.max_authentication_attempts
        assert len(auth_server.seen) - n == m.max_authentication_attempts + 1
        await m.aclose()

    run(loop, go())


def test_ntlm_loop_server_ends_at_once(loop, auth_server: AuthServer) -> None:
    """QNAM re-sends NTLM type-1 forever here (A13); we treat the bare challenge as a rejection."""
    async def go() -> None:
        m = NetworkManager()
        answers = Answers(m, ("user", "passwd"))
        n = len(auth_server.seen)
        r = await m.get(auth_server.url + "/ntlm-loop").wait()
        assert r.error is NetworkError.AuthenticationRequiredError and r.content() == b"ntlm"
        assert len(auth_server.seen) - n == 2  # none, then one negotiate message
        assert [(q.scheme, q.previous_user) for q in answers.asked] == [("NTLM", None), ("NTLM", "user")]
        await m.aclose()

    run(loop, go())


def test_ntlm_login_on_one_connection(loop, auth_server: AuthServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        answers = Answers(m, NTLM_USER)
        n = len(auth_server.seen)
        r = await m.get(auth_server.url + "/ntlm/a").wait()
        assert r.status == 200 and r.content() == b"hello CORP\\alice", (r.status, r.content())
        seen = auth_server.seen[n:]
        kinds = [(s["authorization"] or "-")[:4] for s in seen]
        assert kinds == ["-", "NTLM", "NTLM"]  # none, negotiate, authenticate
        assert len({s["client"] for s in seen}) == 1  # connection-bound
        assert answers.asked[0].scheme == "NTLM"
        # A13: never pre-emptive; the cached credentials answer the next handshake without a question
        n = len(auth_server.seen)
        r = await m.get(auth_server.url + "/ntlm/b").wait()
        assert r.status == 200 and len(answers.asked) == 1
        assert [(s["authorization"] or "-")[:4] for s in auth_server.seen[n:]] == ["-", "NTLM", "NTLM"]
        await m.aclose()

    run(loop, go())


def test_ntlm_is_preferred_to_basic_and_a_wrong_password_is_asked_again(loop, auth_server: AuthServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        answers = Answers(m, ("CORP\\alice", "wrong"), NTLM_USER)
        r = await m.get(auth_server.url + "/ntlm/and-basic").wait()
        assert r.status == 200  # A2: NTLM over Basic
        assert [(q.scheme, q.previous_user) for q in answers.asked] == [("NTLM", None), ("NTLM", "CORP\\alice")]
        await m.aclose()

    run(loop, go())


def test_url_userinfo_is_used_after_the_first_401_without_a_question(loop, auth_server: AuthServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        answers = Answers(m, ("user", "passwd"))
        n = len(auth_server.seen)
        url = auth_server.url.replace("http://", "http://user:passwd@") + "/basic/r1/x"
        r = await m.get(url).wait()
        assert r.status == 200 and answers.asked == []  # A6
        assert [s["authorization"] for s in auth_server.seen[n:]] == [None, BASIC]
        # wrong userinfo: then the question, pre-filled with the URL's user
        m2 = NetworkManager()
        answers2 = Answers(m2, ("user", "passwd"))
        url = auth_server.url.replace("http://", "http://alice:nope@") + "/basic/r1/x"
        r = await m2.get(url).wait()
        assert r.status == 200 and [q.previous_user for q in answers2.asked] == ["alice"]
        await m.aclose()
        await m2.aclose()

    run(loop, go())


def test_reuse_manual_asks_again_and_sends_nothing_pre_emptively(loop, auth_server: AuthServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        answers = Answers(m, ("user", "passwd"), ("user", "passwd"))
        assert (await m.get(auth_server.url + "/basic/r1/x").wait()).status == 200
        n = len(auth_server.seen)
        req = Request(auth_server.url + "/basic/r1/x",
                      attributes={Attribute.AUTHENTICATION_REUSE_AUTOMATIC: False})
        r = await m.get(req).wait()
        assert r.status == 200 and len(answers.asked) == 2  # A11
        assert [s["authorization"] for s in auth_server.seen[n:]] == [None, BASIC]
        await m.aclose()

    run(loop, go())


def test_app_authorization_header_is_not_overwritten_pre_emptively(loop, auth_server: AuthServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        Answers(m, ("user", "passwd"))
        assert (await m.get(auth_server.url + "/basic/r1/x").wait()).status == 200
        n = len(auth_server.seen)
        req = Request(auth_server.url + "/basic/r1/x", headers=[("Authorization", "Basic Zm9vOmJhcg==")])
        r = await m.get(req).wait()
        # A12: the app's header goes first; after the 401 the computed one replaces it
        assert r.status == 200
        assert [s["authorization"] for s in auth_server.seen[n:]] == ["Basic Zm9vOmJhcg==", BASIC]
        await m.aclose()

    run(loop, go())


def test_bearer_token_setting(loop, auth_httpbin: HttpbinServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        answers = Answers(m, ("user", "passwd"))
        r = await m.get(Request(auth_httpbin.url + "/bearer", bearer_token="tok123")).wait()
        assert r.status == 200 and json.loads(r.content())["token"] == "tok123"
        r = await m.get(auth_httpbin.url + "/bearer").wait()
        # A3: Bearer is not a scheme we answer with a password: no question, the 401 is final
        assert r.error is NetworkError.AuthenticationRequiredError and answers.asked == []
        await m.aclose()

    run(loop, go())


def test_post_body_is_sent_again_on_the_authentication_round(loop, auth_server: AuthServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        Answers(m, ("user", "passwd"))
        n = len(auth_server.seen)
        r = await m.post(auth_server.url + "/basic/r1/form", b"a=1&b=2").wait()
        assert r.status == 200 and json.loads(r.content())["body"] == "a=1&b=2"
        assert [s["body"] for s in auth_server.seen[n:]] == [b"a=1&b=2", b"a=1&b=2"]
        await m.aclose()

    run(loop, go())


def test_a_streamed_body_is_not_sent_twice(loop, auth_server: AuthServer) -> None:
    async def go() -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"once"

        m = NetworkManager()
        answers = Answers(m, ("user", "passwd"))
        n = len(auth_server.seen)
        r = await m.post(auth_server.url + "/basic/r1/stream", IteratorBody(chunks())).wait()
        assert r.error is NetworkError.AuthenticationRequiredError and answers.asked == []
        assert len(auth_server.seen) - n == 1
        await m.aclose()

    run(loop, go())


def test_aborting_while_the_question_is_open_ends_the_reply(loop, auth_server: AuthServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        asked = []
        m.questions.subscribe(asked.append)  # never answered
        r = m.get(auth_server.url + "/basic/r1/x")
        for _ in range(500):
            if asked:
                break
            await asyncio.sleep(0.01)
        assert asked
        r.abort()
        await r.wait()
        assert r.error is NetworkError.OperationCanceledError
        await m.aclose()

    run(loop, go())


def test_parallel_requests_share_one_question(loop, auth_server: AuthServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        asked = []

        def slow_dialog(question) -> None:  # type: ignore[no-untyped-def]
            asked.append(question)
            asyncio.get_running_loop().call_later(0.2, question.answer, ("user", "passwd"))

        m.questions.subscribe(slow_dialog)
        replies = [m.get(f"{auth_server.url}/basic/r1/p{i}") for i in range(5)]
        for r in replies:
            await r.wait()
        assert [r.status for r in replies] == [200] * 5
        assert len(asked) == 1  # one dialog, not five
        # a cancelled dialog ends every request waiting on it
        m2 = NetworkManager()
        m2.questions.subscribe(lambda q: asyncio.get_running_loop().call_later(0.1, q.answer, None))
        replies = [m2.get(f"{auth_server.url}/basic/r1/q{i}") for i in range(3)]
        for r in replies:
            await r.wait()
        assert [r.error for r in replies] == [NetworkError.AuthenticationRequiredError] * 3
        await m.aclose()
        await m2.aclose()

    run(loop, go())
