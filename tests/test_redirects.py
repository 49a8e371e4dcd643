"""A user's requests meet redirects: chains, limits, method rewriting, policies and safety."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest

from core import FileBody, IteratorBody, NetworkError, NetworkManager, RedirectPolicy, Request
from core import events as ev
from core.questions import Question
from core.redirects import RedirectQuestion
from core.request import Attribute
from tests.policy_helpers import echoed, other_host, run, to
from tests.policy_servers import PolicyServer
from tests.servers import HypercornServer


def test_a_chain_of_redirects_is_followed_hop_by_hop_with_timings(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        reply = m.get(policy_server.url + "/chain/3")
        seen: list[ev.Event] = []
        reply.subscribe(seen.append)
        await reply.wait()
        assert reply.error is NetworkError.NoError and reply.status == 200
        assert reply.url == policy_server.url + "/echo/end"
        assert [(h.url.removeprefix(policy_server.url), h.status, h.location) for h in reply.redirects] == [
            ("/chain/3", 302, "/chain/2"), ("/chain/2", 302, "/chain/1"), ("/chain/1", 302, "/echo/end")]
        assert [e.url for e in seen if isinstance(e, ev.Redirected)] == [
            policy_server.url + p for p in ("/chain/2", "/chain/1", "/echo/end")]
        hops = reply.timings.hops
        assert [h.status for h in hops] == [302, 302, 302, 200]
        for hop in hops:
            phases = hop.phases()
            assert phases["waiting"] is not None and phases["download"] is not None
        assert hops[1].connection.reused  # the 3xx body was read, so the connection was kept
        assert reply.redirection_target is None  # R16: not set when followed

    run(loop, story)


def test_fifty_redirects_are_followed_and_the_fifty_first_is_refused(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        ok = await m.get(policy_server.url + "/chain/50").wait()
        assert ok.error is NetworkError.NoError and len(ok.redirects) == 50
        too_many = await m.get(policy_server.url + "/chain/51").wait()
        assert too_many.error is NetworkError.TooManyRedirectsError
        assert too_many.error_string == "Too many redirects"
        assert too_many.status == 302 and too_many.content() == b""
        none_allowed = await m.get(Request(policy_server.url + "/chain/1", maximum_redirects=0)).wait()
        assert none_allowed.error is NetworkError.TooManyRedirectsError

    run(loop, story)


def test_a_redirect_loop_ends_with_too_many_redirects(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        reply = await m.get(Request(policy_server.url + "/loop", maximum_redirects=5)).wait()
        assert reply.error is NetworkError.TooManyRedirectsError
        assert len(reply.redirects) == 5

    run(loop, story)


def test_a_redirect_without_location_is_a_protocol_error(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        reply = await m.get(policy_server.url + "/no-location?status=301").wait()
        assert reply.error is NetworkError.ProtocolUnknownError
        assert reply.status == 301  # R9: the status is the 3xx's

    run(loop, story)


def test_a_relative_location_is_resolved_against_the_request_url(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        reply = await m.get(policy_server.url + "/to?url=echo/relative%3Fa%3D1").wait()
        assert reply.url == policy_server.url + "/echo/relative?a=1"
        assert echoed(reply)["query"] == "a=1"

    run(loop, story)


@pytest.mark.parametrize(("status", "method", "expected"), [
    (301, "POST", "GET"), (302, "PUT", "GET"), (303, "DELETE", "GET"), (305, "PATCH", "GET"),
    (302, "HEAD", "HEAD"), (307, "POST", "POST"), (308, "PUT", "PUT"), (307, "PATCH", "PATCH"),
])
def test_methods_are_rewritten_per_status(loop, policy_server: PolicyServer, status: int, method: str,
                                          expected: str) -> None:
    async def story(m: NetworkManager) -> None:
        req = Request(to(policy_server, "/echo/target", status), headers=[("Content-Type", "text/plain")])
        reply = await m.send_custom_request(req, method, b"DATA" if method != "HEAD" else None).wait()
        assert reply.error is NetworkError.NoError, reply.error_string
        last = policy_server.seen.requests[-1]
        assert last["path"] == "/echo/target" and last["method"] == expected
        sent = dict(last["headers"])
        if expected in ("GET", "HEAD"):  # R2: body, Content-Length and Content-Type dropped
            assert last["body"] == b"" and "content-type" not in sent and "content-length" not in sent
        else:
            assert last["body"] == b"DATA" and sent["content-type"] == "text/plain"

    run(loop, story)


def test_a_get_with_a_body_keeps_it_on_308_only(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        await m.get(to(policy_server, "/echo/307", 307), b"QUERY").wait()
        assert policy_server.seen.requests[-1]["body"] == b""
        await m.get(to(policy_server, "/echo/308", 308), b"QUERY").wait()
        last = policy_server.seen.requests[-1]
        assert last["body"] == b"QUERY" and dict(last["headers"])["content-length"] == "5"

    run(loop, story)


def test_a_307_delete_keeps_its_content_type_without_a_body(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        req = Request(to(policy_server, "/echo/del", 307), headers=[("Content-Type", "text/plain")])
        await m.delete_resource(req).wait()
        last = policy_server.seen.requests[-1]
        assert last["method"] == "DELETE" and dict(last["headers"]).get("content-type") == "text/plain"
        assert "content-length" not in dict(last["headers"])

    run(loop, story)


def test_a_307_post_resends_a_file_body_but_not_a_one_shot_stream(loop, policy_server: PolicyServer,
                                                                   tmp_path) -> None:
    path = tmp_path / "upload.bin"
    path.write_bytes(b"file-body" * 1000)

    async def once() -> AsyncIterator[bytes]:
        yield b"streamed"

    async def story(m: NetworkManager) -> None:
        reply = await m.post(to(policy_server, "/echo/file", 307), FileBody(path)).wait()
        assert reply.error is NetworkError.NoError
        assert policy_server.seen.requests[-1]["body"] == path.read_bytes()
        reply = await m.post(to(policy_server, "/echo/redirected-stream", 307), IteratorBody(once())).wait()
        assert reply.error is NetworkError.ContentReSendError
        assert policy_server.requests_to("/echo/redirected-stream") == []

    run(loop, story)


def test_a_redirected_post_is_never_sent_twice(loop, policy_server: PolicyServer) -> None:
    """Deliberate difference 8: QNAM sometimes re-sends a redirecting request on a kept-alive
    connection; Courier sends each hop exactly once."""
    async def story(m: NetworkManager) -> None:
        before = len(policy_server.requests_to("/to"))
        for i in range(30):
            reply = await m.post(to(policy_server, f"/echo/once{i}", 307), b"PAY").wait()
            assert reply.error is NetworkError.NoError
        posts = policy_server.requests_to("/to")[before:]
        assert len(posts) == 30 and all(r["method"] == "POST" for r in posts)
        for i in range(30):
            assert len(policy_server.requests_to(f"/echo/once{i}")) == 1

    run(loop, story)


def test_manual_policy_hands_the_3xx_to_the_user(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        m.redirect_policy = RedirectPolicy.MANUAL
        reply = await m.get(policy_server.url + "/to?url=/final&body=see+other").wait()
        assert reply.error is NetworkError.NoError and reply.status == 302
        assert reply.content() == b"see other"
        assert reply.redirection_target == "/final"  # raw, relative (R15)
        assert reply.redirects == [] and len(reply.timings.hops) == 1
        use_proxy = await m.get(policy_server.url + "/to?url=/final&status=305").wait()
        assert use_proxy.status == 305 and use_proxy.redirection_target is None  # not for 305

    run(loop, story)


def test_the_request_policy_wins_over_the_managers(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        m.redirect_policy = RedirectPolicy.MANUAL
        req = Request(policy_server.url + "/chain/1",
                      attributes={Attribute.REDIRECT_POLICY: RedirectPolicy.NO_LESS_SAFE})
        reply = await m.get(req).wait()
        assert reply.status == 200 and len(reply.redirects) == 1

    run(loop, story)


def test_no_less_safe_refuses_https_to_http(loop, policy_server: PolicyServer, policy_tls_server: PolicyServer,
                                            tls_files) -> None:
    async def story(m: NetworkManager) -> None:
        up = await m.get(to(policy_server, policy_tls_server.url + "/echo/secure")).wait()
        assert up.error is NetworkError.NoError and up.url.startswith("https://")
        down = await m.get(to(policy_tls_server, policy_server.url + "/echo/after-downgrade")).wait()
        assert down.error is NetworkError.InsecureRedirectError
        assert down.error_string == "Insecure redirect" and down.status == 302
        assert policy_server.requests_to("/echo/after-downgrade") == []
        anything = Request(to(policy_tls_server, policy_server.url + "/echo/after-downgrade"),
                           attributes={Attribute.REDIRECT_POLICY: RedirectPolicy.USER_VERIFIED})
        m.questions.subscribe(lambda q: q.answer(True))
        followed = await m.get(anything).wait()
        assert followed.error is NetworkError.NoError and followed.url.startswith("http://")

    run(loop, story, tls_files["ca"])


def test_same_origin_follows_only_within_the_origin(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        m.redirect_policy = RedirectPolicy.SAME_ORIGIN
        same = await m.get(policy_server.url + "/chain/2").wait()
        assert same.error is NetworkError.NoError and len(same.redirects) == 2
        elsewhere = other_host(policy_server) + "/echo/same-origin-cross"
        cross = await m.get(to(policy_server, elsewhere)).wait()
        assert cross.error is NetworkError.InsecureRedirectError
        assert len(policy_server.requests_to("/echo/same-origin-cross")) == 0

    run(loop, story)


class Answers:
    """The app's side of redirect questions: records them and answers as told."""

    def __init__(self, answer: bool | str | None) -> None:
        self.answer = answer
        self.asked: list[RedirectQuestion] = []

    def __call__(self, question: Question[Any]) -> None:
        assert isinstance(question, RedirectQuestion)
        self.asked.append(question)
        if self.answer != "never":
            question.answer(self.answer)


def _user_verified(url: str) -> Request:
    return Request(url, attributes={Attribute.REDIRECT_POLICY: RedirectPolicy.USER_VERIFIED})


def test_user_verified_asks_and_follows_when_allowed(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        answers = Answers(True)
        m.questions.subscribe(answers)
        reply = await m.get(_user_verified(policy_server.url + "/chain/2")).wait()
        assert reply.error is NetworkError.NoError and reply.status == 200
        assert [(q.url.removeprefix(policy_server.url), q.target.removeprefix(policy_server.url), q.status)
                for q in answers.asked] == [("/chain/2", "/chain/1", 302), ("/chain/1", "/echo/end", 302)]
        assert answers.asked[0].reply is reply and not answers.asked[0].cross_origin

    run(loop, story)


@pytest.mark.parametrize("answer", [False, None])
def test_user_verified_refused_ends_like_qnams_abort(loop, policy_server: PolicyServer, answer: bool | None) -> None:
    async def story(m: NetworkManager) -> None:
        m.questions.subscribe(Answers(answer))
        reply = await m.get(_user_verified(policy_server.url + "/chain/1")).wait()
        assert reply.error is NetworkError.OperationCanceledError
        assert reply.status == 302 and reply.url == policy_server.url + "/echo/end"
        assert reply.redirection_target is None  # R16

    run(loop, story)


def test_user_verified_without_anyone_to_answer_is_refused(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        reply = await m.get(_user_verified(policy_server.url + "/chain/1")).wait()
        assert reply.error is NetworkError.OperationCanceledError

    run(loop, story)


def test_an_unanswered_redirect_question_ends_with_the_transfer_timeout(loop, policy_server: PolicyServer) -> None:
    """Deliberate difference 4: QNAM leaves such a reply unfinished forever."""
    async def story(m: NetworkManager) -> None:
        answers = Answers("never")
        m.questions.subscribe(answers)
        m.transfer_timeout = 0.5
        reply = await m.get(_user_verified(policy_server.url + "/chain/1")).wait()
        assert reply.error is NetworkError.TimeoutError
        assert reply.timings.total is not None and reply.timings.total < 5
        assert len(answers.asked) == 1 and answers.asked[0].answered  # the open question was closed

    run(loop, story)


def test_an_unanswered_redirect_question_ends_when_the_user_aborts(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        answers = Answers("never")
        m.questions.subscribe(answers)
        reply = m.get(_user_verified(policy_server.url + "/chain/1"))
        for _ in range(200):
            if answers.asked:
                break
            await asyncio.sleep(0.01)
        assert answers.asked and not reply.is_finished
        reply.abort()
        assert reply.is_finished and reply.error is NetworkError.OperationCanceledError
        assert answers.asked[0].answered

    run(loop, story)


def test_credentials_are_dropped_on_a_cross_origin_hop(loop, policy_server: PolicyServer) -> None:
    """Deliberate difference 1: QNAM forwards Authorization and Cookie to the other host (R5)."""
    secrets = [("Authorization", "Bearer SECRET"), ("Proxy-Authorization", "Basic cHJveHk="),
               ("Cookie", "sid=app-set"), ("X-Custom", "1")]

    async def story(m: NetworkManager) -> None:
        same = await m.get(Request(to(policy_server, "/echo/same"), headers=secrets)).wait()
        kept = dict(echoed(same)["headers"])
        assert kept["authorization"] == "Bearer SECRET" and kept["cookie"] == "sid=app-set"
        other = other_host(policy_server) + "/echo/other"
        cross = await m.get(Request(to(policy_server, other), headers=secrets)).wait()
        got = dict(echoed(cross)["headers"])
        assert "authorization" not in got and "proxy-authorization" not in got and "cookie" not in got
        assert got["x-custom"] == "1"
        bearer = await m.get(Request(to(policy_server, other), bearer_token="TOKEN")).wait()
        assert "authorization" not in dict(echoed(bearer)["headers"])

    run(loop, story)


@pytest.mark.parametrize("target", ["unix+http://api.sock/echo", "file:///etc/passwd", "data:text/plain,hi"])
def test_a_remote_host_cannot_redirect_into_local_resources(loop, policy_server: PolicyServer, target: str) -> None:
    """Deliberate difference 2: QNAM follows http → unix+http (R12)."""
    async def story(m: NetworkManager) -> None:
        m.redirect_policy = RedirectPolicy.USER_VERIFIED
        m.questions.subscribe(lambda q: q.answer(True))  # not even a user's yes opens the door
        reply = await m.get(to(policy_server, target)).wait()
        assert reply.error is NetworkError.InsecureRedirectError
        assert "local" in reply.error_string

    run(loop, story)


def test_a_local_socket_may_redirect_within_local_sockets(loop, unix_server: HypercornServer) -> None:
    async def story(m: NetworkManager) -> None:
        req = Request("unix+http://api/redirect/1", attributes={Attribute.FULL_LOCAL_SERVER_NAME: unix_server.uds})
        reply = await m.get(req).wait()
        assert reply.error is NetworkError.NoError and reply.url == "unix+http://api/echo"
        out = await m.get(Request("unix+http://api/redirect/1?code=302",
                                  attributes={Attribute.FULL_LOCAL_SERVER_NAME: unix_server.uds})).wait()
        assert out.error is NetworkError.NoError

    run(loop, story)


def test_an_unknown_scheme_in_location_is_a_protocol_error(loop, policy_server: PolicyServer) -> None:
    async def story(m: NetworkManager) -> None:
        reply = await m.get(to(policy_server, "ftp://127.0.0.1/file")).wait()
        assert reply.error is NetworkError.ProtocolUnknownError

    run(loop, story)


def test_httpbin_redirect_endpoints(loop, httpbin_server: HypercornServer) -> None:
    async def story(m: NetworkManager) -> None:
        for path in ("/redirect/3", "/relative-redirect/3", "/absolute-redirect/3"):
            reply = await m.get(httpbin_server.url + path).wait()
            assert reply.error is NetworkError.NoError, (path, reply.error_string)
            assert reply.url == httpbin_server.url + "/get" and len(reply.redirects) == 3
        target = quote(httpbin_server.url + "/anything", safe="")
        reply = await m.post(f"{httpbin_server.url}/redirect-to?url={target}&status_code=307", b"x=1").wait()
        got = json.loads(reply.content())
        assert got["method"] == "POST" and got["form"] == {"x": "1"}
        reply = await m.post(f"{httpbin_server.url}/redirect-to?url={target}&status_code=303", b"x=1").wait()
        assert json.loads(reply.content())["method"] == "GET"

    run(loop, story)
