"""``courier run`` as a user runs it: a subprocess against real servers on 127.0.0.1."""

from __future__ import annotations

import os
import pty
import select
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.collections import (
    Auth,
    Body,
    CollectionStore,
    Environment,
    Header,
    RequestItem,
    Variable,
)
from tests.secret_service import SecretService, secret_service_env  # noqa: F401  (fixture)
from tests.servers import HypercornServer

REPO = Path(__file__).resolve().parents[1]


def courier(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    e = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    e.pop("DBUS_SESSION_BUS_ADDRESS", None)  # never the developer's own keyring
    return subprocess.run([sys.executable, "-m", "app", "run", *args], capture_output=True, text=True,
                          timeout=timeout, env=e)


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def api(tmp_path: Path, http_server: HypercornServer) -> CollectionStore:
    store = CollectionStore.create(tmp_path / "api", "Pet API")
    store.collection.variables = [Variable("base", http_server.url), Variable("who", "everyone")]
    store.collection.headers = [Header("X-Run", "{{$iteration}}")]
    store.save_collection()
    store.save_environment(Environment("staging", [Variable("base", http_server.url), Variable("who", "stage")]))
    store.save_environment(Environment("down", [Variable("base", f"http://127.0.0.1:{closed_port()}")]))
    store.new_request("", RequestItem("List pets", url="{{base}}/echo?who={{who}}"))
    pets = store.new_folder("", "Pets")
    store.new_request(pets, RequestItem("Create pet", "POST", "{{base}}/echo", body=Body("json", '{"n": 1}')))
    store.new_request(pets, RequestItem("Missing pet", url="{{base}}/status/404", expect_status=[404]))
    return store


def junit(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def test_a_passing_run_prints_a_table_and_junit(api: CollectionStore, http_server: HypercornServer,
                                                tmp_path: Path) -> None:
    before = len(http_server.seen.requests)
    report = tmp_path / "report.xml"
    out = courier(str(api.root), "--env", "staging", "--junit", str(report))
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[1].split() == ["#", "request", "method", "status", "time", "size", "result"]
    rows = [ln.split() for ln in lines[2:5]]
    assert [r[:2] for r in rows] == [["1", "List"], ["2", "Pets"], ["3", "Pets"]]
    assert [r[-1] for r in rows] == ["ok", "ok", "ok"]
    assert "200" in lines[2] and "404" in lines[4] and "Pets / Missing pet" in lines[4]
    assert "3 run, 3 passed, 0 failed" in out.stdout
    assert "\x1b[" not in out.stderr  # not a terminal: no progress bar escapes
    seen = http_server.seen.requests[before:]
    assert [r["path"] for r in seen] == ["/echo", "/echo", "/status/404"]
    assert seen[0]["query"] == "who=stage" and seen[1]["body"] == b'{"n": 1}'
    root = junit(report)
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "0"
    assert [c.get("classname") for c in suite.iter("testcase")] == ["Pet API", "Pet API.Pets", "Pet API.Pets"]


def test_failures_exit_non_zero_and_are_in_junit(api: CollectionStore, tmp_path: Path) -> None:
    api.new_request("", RequestItem("Server error", url="{{base}}/status/500"))
    api.new_request("", RequestItem("Not found", url="{{base}}/status/404"))
    api.new_request("", RequestItem("Wrong expectation", url="{{base}}/echo", expect_status=[201]))
    report = tmp_path / "r.xml"
    out = courier(str(api.root), "--junit", str(report))
    assert out.returncode == 1
    assert "FAIL  HTTP 500" in out.stdout and "FAIL  HTTP 404" in out.stdout
    assert "FAIL  expected 201, got 200" in out.stdout
    assert "3 passed, 3 failed" in out.stdout
    suite = junit(report).find("testsuite")
    assert suite is not None and suite.get("failures") == "3" and suite.get("errors") == "0"


def test_network_errors_fail_the_run(api: CollectionStore, tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    out = courier(str(api.root), "--env", "down", "--junit", str(report))
    assert out.returncode == 1
    assert out.stdout.count("FAIL  ConnectionRefusedError") == 3
    suite = junit(report).find("testsuite")
    assert suite is not None and suite.get("errors") == "3"
    assert all(e.get("type") == "network" for e in suite.iter("error"))


def test_iterations_run_everything_n_times(api: CollectionStore, http_server: HypercornServer,
                                           tmp_path: Path) -> None:
    before = len(http_server.seen.requests)
    report = tmp_path / "r.xml"
    out = courier(str(api.root / "pets"), "--iterations", "3", "--junit", str(report))
    assert out.returncode == 0, out.stdout + out.stderr
    seen = http_server.seen.requests[before:]
    assert len(seen) == 6  # only the Pets folder, three times
    runs = [dict((k.lower(), v) for k, v in r["headers"])["x-run"] for r in seen]
    assert runs == ["1", "1", "2", "2", "3", "3"]
    names = [c.get("name") for c in junit(report).iter("testcase")]
    assert names[0] == "Create pet [iteration 1]" and names[-1] == "Missing pet [iteration 3]"


def test_one_request_file(api: CollectionStore, http_server: HypercornServer) -> None:
    before = len(http_server.seen.requests)
    out = courier(str(api.root / "pets" / "create-pet.toml"))
    assert out.returncode == 0, out.stderr
    assert [r["method"] for r in http_server.seen.requests[before:]] == ["POST"]


def test_a_broken_file_is_reported_and_the_rest_runs(api: CollectionStore, http_server: HypercornServer,
                                                      tmp_path: Path) -> None:
    (api.root / "pets" / "broken.toml").write_text('courier_format = 1\nname = "Broken"\nurl = [\n')
    before = len(http_server.seen.requests)
    report = tmp_path / "r.xml"
    out = courier(str(api.root), "--junit", str(report))
    assert out.returncode == 1
    assert f"{api.root / 'pets' / 'broken.toml'}:3: not valid TOML" in out.stderr
    assert len(http_server.seen.requests) - before == 3
    errors = list(junit(report).iter("error"))
    assert len(errors) == 1 and errors[0].get("type") == "file"


def test_secrets_from_the_environment_are_sent_and_never_printed(api: CollectionStore,
                                                                 http_server: HypercornServer,
                                                                 tmp_path: Path) -> None:
    api.reload()
    col = api.collection
    col.variables.append(Variable("token", secret=True))
    col.auth = Auth("bearer", {"token": "{{token}}"})
    api.save_collection(col)
    api.new_request("", RequestItem("Leaky", url="{{base}}/nowhere-{{token}}", expect_status=[201]))
    before = len(http_server.seen.requests)
    report = tmp_path / "r.xml"
    secret = "s3cr3t-VALUE-42"
    out = courier(str(api.root), "--no-keyring", "--junit", str(report), env={"COURIER_SECRET_TOKEN": secret})
    assert out.returncode == 1  # the leaky request answers 200, not the 201 it expects
    auth = [dict((k.lower(), v) for k, v in r["headers"]).get("authorization")
            for r in http_server.seen.requests[before:]]
    assert auth == [f"Bearer {secret}"] * 4
    assert secret not in out.stdout + out.stderr + report.read_text()
    missing = courier(str(api.root), "--no-keyring")
    assert missing.returncode == 1 and "unresolved variables {{token}}" in missing.stdout
    assert "secret not in the keyring: token" in missing.stdout


def test_usage_errors_exit_2(api: CollectionStore, tmp_path: Path) -> None:
    out = courier(str(api.root), "--env", "production")
    assert out.returncode == 2 and "no environment 'production'" in out.stderr and "staging" in out.stderr
    out = courier(str(tmp_path / "nope"))
    assert out.returncode == 2 and "does not exist" in out.stderr
    out = courier(str(api.root), "--iterations", "0")
    assert out.returncode == 2


def test_run_never_imports_qt(api: CollectionStore) -> None:
    code = ("import sys; from app.main import main; rc = main(['run', sys.argv[1]]);"
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'pyqtgraph'))];"
            "print('QT', bad); sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code, str(api.root)], capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert out.returncode == 0, out.stderr
    assert "QT []" in out.stdout


def test_progress_bar_on_a_terminal(api: CollectionStore) -> None:
    master, slave = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "app", "run", str(api.root), "--iterations", "2"],
                            stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    err = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
        elif proc.poll() is not None:
            break
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    proc.stdout.close()
    proc.wait(10)
    os.close(master)
    assert proc.returncode == 0
    assert b"\r\x1b[K[" in err and b"/6" in err  # the bar redraws in place and counts to 6
    assert "\x1b[" not in out  # the table itself stays clean


def test_digest_auth_is_answered_from_the_request(tmp_path: Path, httpbin_server: HypercornServer) -> None:
    store = CollectionStore.create(tmp_path / "digest", "Digest")
    store.collection.variables = [Variable("base", httpbin_server.url), Variable("password", secret=True)]
    store.save_collection()
    for name, password in (("Right", "{{password}}"), ("Wrong", "nope")):
        store.new_request("", RequestItem(name, url="{{base}}/digest-auth/auth/user/passwd/MD5",
                                          auth=Auth("digest", {"username": "user", "password": password})))
    out = courier(str(store.root), "--no-keyring", env={"COURIER_SECRET_PASSWORD": "passwd"})
    assert out.returncode == 1
    rows = [ln for ln in out.stdout.splitlines() if ln.strip()[:1].isdigit()]
    assert "200" in rows[0] and rows[0].endswith("ok")
    assert "FAIL  HTTP 401" in rows[1]


def test_secret_values_set_from_the_command_line_are_used_by_the_run(
        api: CollectionStore, http_server: HypercornServer, secret_service_env: SecretService) -> None:  # noqa: F811
    api.reload()
    api.collection.variables.append(Variable("token", secret=True))
    api.collection.auth = Auth("bearer", {"token": "{{token}}"})
    api.save_collection()
    env = dict(secret_service_env.env, PYTHONPATH=str(REPO))

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, input=stdin,
                              timeout=60, env=env)

    assert run("secret", "list", str(api.root)).stdout == "token\tnot set\n"
    bad = run("secret", "set", str(api.root), "base", stdin="x")
    assert bad.returncode == 2 and "not a secret variable" in bad.stderr
    assert run("secret", "set", str(api.root), "token", stdin="kr-run-7731\n").returncode == 0
    assert run("secret", "list", str(api.root)).stdout == "token\tset\n"
    before = len(http_server.seen.requests)
    out = run("run", str(api.root))
    assert out.returncode == 0, out.stdout + out.stderr
    auth = {dict((k.lower(), v) for k, v in r["headers"]).get("authorization")
            for r in http_server.seen.requests[before:]}
    assert auth == {"Bearer kr-run-7731"}
    for path in api.root.rglob("*"):
        assert not path.is_file() or b"kr-run-7731" not in path.read_bytes()
    assert run("secret", "delete", str(api.root), "token").returncode == 0
    assert run("secret", "list", str(api.root)).stdout == "token\tnot set\n"
