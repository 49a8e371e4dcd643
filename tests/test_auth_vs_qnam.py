"""Authentication rounds through core and through PySide6's QNAM, side by side on the same servers."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtNetwork import QNetworkAccessManager

from core import NetworkError, NetworkManager
from tests.auth_helpers import Answers
from tests.proxies import NTLM_USER, AuthServer, HttpbinServer
from tests.qnam import qnam_request

pytestmark = pytest.mark.qnam


class QnamLogin:
    """A QNAM whose authenticationRequired slot answers from a script (None: leave it empty)."""

    def __init__(self, *answers: tuple[str, str] | None) -> None:
        self.manager = QNetworkAccessManager()
        self.answers = list(answers)
        self.asked: list[tuple[str, str]] = []  # (realm, previous user)
        self.manager.authenticationRequired.connect(self._slot)

    def _slot(self, reply, authenticator) -> None:  # type: ignore[no-untyped-def]
        self.asked.append((authenticator.realm(), authenticator.user()))
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            authenticator.setUser(answer[0])
            authenticator.setPassword(answer[1])


def core_get(loop: asyncio.AbstractEventLoop, m: NetworkManager, url: str):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        return await asyncio.wait_for(m.get(url).wait(), 30)

    return loop.run_until_complete(go())


def test_basic_rounds_and_pre_emptive_reuse_match_qnam(qapp, loop, auth_server: AuthServer) -> None:
    q = QnamLogin(("user", "passwd"))
    n = len(auth_server.seen)
    assert qnam_request(auth_server.url + "/basic/r1/a", manager=q.manager).status == 200
    assert qnam_request(auth_server.url + "/basic/r2/b", manager=q.manager).status == 200
    q_wire = [s["authorization"] for s in auth_server.seen[n:]]
    q_names = [k for k, _ in auth_server.seen[n + 1]["headers"]]

    m = NetworkManager()
    answers = Answers(m, ("user", "passwd"))
    n = len(auth_server.seen)
    assert core_get(loop, m, auth_server.url + "/basic/r1/a").status == 200
    assert core_get(loop, m, auth_server.url + "/basic/r2/b").status == 200
    c_wire = [s["authorization"] for s in auth_server.seen[n:]]
    c_names = [k for k, _ in auth_server.seen[n + 1]["headers"]]
    loop.run_until_complete(m.aclose())

    assert c_wire == q_wire  # A4, A10: None, Basic, then Basic pre-emptively
    assert len(answers.asked) == len(q.asked) == 1
    assert answers.asked[0].realm == q.asked[0][0] == "r1"
    assert c_names == q_names  # Authorization takes QNAM's place among the headers


def test_digest_md5_rounds_match_qnam(qapp, loop, auth_httpbin: HttpbinServer) -> None:
    url = auth_httpbin.url + "/digest-auth/auth/user/passwd/MD5"
    q = QnamLogin(("user", "passwd"))
    n = len(auth_httpbin.requests)
    res = qnam_request(url, manager=q.manager)
    q_wire = [r["headers"].get("authorization", "")[:7] for r in auth_httpbin.requests[n:]]

    m = NetworkManager()
    Answers(m, ("user", "passwd"))
    n = len(auth_httpbin.requests)
    r = core_get(loop, m, url)
    c_wire = [r2["headers"].get("authorization", "")[:7] for r2 in auth_httpbin.requests[n:]]
    loop.run_until_complete(m.aclose())
    assert res.status == r.status == 200 and res.body == r.content()
    assert c_wire == q_wire == ["", "Digest "]


def test_digest_sha256_works_where_qnam_gives_up(qapp, loop, auth_httpbin: HttpbinServer) -> None:
    """Deliberate difference: QNAM's Digest is MD5-only (A1)."""
    url = auth_httpbin.url + "/digest-auth/auth/user/passwd/SHA-256"
    q = QnamLogin(("user", "passwd"))
    res = qnam_request(url, manager=q.manager)
    assert res.error == NetworkError.AuthenticationRequiredError and q.asked == []

    m = NetworkManager()
    Answers(m, ("user", "passwd"))
    r = core_get(loop, m, url)
    loop.run_until_complete(m.aclose())
    assert r.error is NetworkError.NoError and r.status == 200


def test_no_answer_matches_qnam(qapp, loop, auth_server: AuthServer) -> None:
    q = QnamLogin(None)
    res = qnam_request(auth_server.url + "/basic/r1/x", manager=q.manager)
    m = NetworkManager()
    answers = Answers(m)
    r = core_get(loop, m, auth_server.url + "/basic/r1/x")
    loop.run_until_complete(m.aclose())
    assert int(r.error) == res.error == NetworkError.AuthenticationRequiredError  # A7
    assert r.status == res.status == 401 and r.content() == res.body == b"please log in"
    assert r.error_string == res.error_string
    assert len(answers.asked) == len(q.asked) == 1


def test_rejected_then_right_credentials_match_qnam(qapp, loop, auth_server: AuthServer) -> None:
    q = QnamLogin(("bob", "wrong"), ("user", "passwd"))
    res = qnam_request(auth_server.url + "/basic/r1/x", manager=q.manager)
    m = NetworkManager()
    answers = Answers(m, ("bob", "wrong"), ("user", "passwd"))
    r = core_get(loop, m, auth_server.url + "/basic/r1/x")
    loop.run_until_complete(m.aclose())
    assert r.status == res.status == 200  # A8
    assert [a.previous_user or "" for a in answers.asked] == [u for _, u in q.asked] == ["", "bob"]


def test_endless_challenges_are_bounded_unlike_qnam(qapp, loop, auth_server: AuthServer) -> None:
    """Deliberate difference 3: QNAM asks as long as the answers differ; core stops after a few."""
    wrong = [(f"u{i}", "pw") for i in range(9)]
    q = QnamLogin(*wrong)
    res = qnam_request(auth_server.url + "/always", manager=q.manager)
    assert res.error == NetworkError.AuthenticationRequiredError and len(q.asked) == 10  # 9 + the last, unanswered

    m = NetworkManager()
    answers = Answers(m, *wrong)
    r = core_get(loop, m, auth_server.url + "/always")
    loop.run_until_complete(m.aclose())
    assert r.error is NetworkError.AuthenticationRequiredError
    assert len(answers.asked) == m.max_authentication_attempts < len(q.asked)


def test_ntlm_rounds_match_qnam(qapp, loop, auth_server: AuthServer) -> None:
    url = auth_server.url + "/ntlm/and-basic"
    q = QnamLogin(NTLM_USER)
    n = len(auth_server.seen)
    res = qnam_request(url, manager=q.manager)
    q_wire = [(s["authorization"] or "-")[:4] for s in auth_server.seen[n:]]

    m = NetworkManager()
    Answers(m, NTLM_USER)
    n = len(auth_server.seen)
    r = core_get(loop, m, url)
    c_wire = [(s["authorization"] or "-")[:4] for s in auth_server.seen[n:]]
    loop.run_until_complete(m.aclose())
    assert r.status == res.status == 200 and r.content() == res.body == b"hello CORP\\alice"
    assert c_wire == q_wire == ["-", "NTLM", "NTLM"]  # A1, A2: NTLM chosen over Basic
