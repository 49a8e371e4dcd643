"""Variables, scopes and secrets; a saved request sent to a real server as the server sees it."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from app.collections import (
    Auth,
    Body,
    CollectionStore,
    Environment,
    FormField,
    Header,
    KeyringSecrets,
    MemorySecrets,
    PrepareError,
    RequestItem,
    Resolver,
    SecretsUnavailable,
    Variable,
    build_resolver,
    prepare,
)
from app.collections.secrets import COLLECTION_SCOPE, ChainSecrets, EnvironmentSecrets, env_scope, secret_key
from core import NetworkManager
from tests.secret_service import SecretService, secret_service_env  # noqa: F401  (fixture)
from tests.servers import HypercornServer


def test_substitution_nested_cycles_unknown_and_dynamic() -> None:
    r = Resolver({"host": "127.0.0.1", "port": "8080", "base": "http://{{host}}:{{ port }}", "a": "{{b}}",
                  "b": "{{a}}"})
    assert r.substitute("{{base}}/x") == "http://127.0.0.1:8080/x"
    assert r.substitute("{{a}}") == "{{a}}" and "a" in r.unresolved
    assert r.substitute("{{nope}} {{ }}") == "{{nope}} {{ }}" and "nope" in r.unresolved
    guid = r.substitute("{{$guid}}")
    assert len(guid) == 36 and guid != r.substitute("{{$guid}}")
    assert r.substitute("{{$timestamp}}").isdigit()


def test_environment_overrides_collection_and_run_values_override_both(tmp_path: Path) -> None:
    store = CollectionStore.create(tmp_path / "c", "c")
    col = store.collection
    col.variables = [Variable("base", "http://collection"), Variable("only_col", "c"), Variable("off", "x", enabled=False)]
    env = Environment("dev", [Variable("base", "http://dev"), Variable("only_env", "e")])
    r = build_resolver(col, env, None, {"only_env": "cli"})
    assert r.substitute("{{base}} {{only_col}} {{only_env}} {{off}}") == "http://dev c cli {{off}}"
    assert r.unresolved == {"off"}


def test_secrets_come_from_the_store_and_are_redacted() -> None:
    from app.collections import Collection

    col = Collection("c", id="abc", variables=[Variable("token", secret=True)])
    env = Environment("prod", [Variable("password", secret=True), Variable("missing", secret=True)])
    secrets = MemorySecrets({secret_key("abc", COLLECTION_SCOPE, "token"): "t0ken-value",
                             secret_key("abc", env_scope("prod"), "password"): "hunter2"})
    r = build_resolver(col, env, secrets)
    assert r.substitute("Bearer {{token}} {{password}}") == "Bearer t0ken-value hunter2"
    assert r.missing_secrets == {"missing"}
    assert r.redact("url?k=t0ken-value&p=hunter2") == "url?k={{token}}&p={{password}}"
    ci = build_resolver(col, env, ChainSecrets(MemorySecrets(), EnvironmentSecrets({"COURIER_SECRET_MISSING": "m"})))
    assert ci.substitute("{{missing}}") == "m" and ci.secret_values == {"missing": "m"}


def test_secret_values_live_in_the_real_keyring_and_never_in_files(
        tmp_path: Path, secret_service_env: SecretService) -> None:  # noqa: F811
    store = CollectionStore.create(tmp_path / "c", "c")
    col = store.collection
    col.variables = [Variable("token", secret=True)]
    store.save_collection()
    store.save_environment(Environment("prod", [Variable("password", secret=True)]))
    keyring = KeyringSecrets(service="courier-test", backend=secret_service_env.backend())
    keyring.set(secret_key(col.id, COLLECTION_SCOPE, "token"), "kr-token-9f8e")
    keyring.set(secret_key(col.id, env_scope("prod"), "password"), "kr-pass-7a6b")
    store.reload()
    env = store.collection.environment("prod")
    r = build_resolver(store.collection, env, KeyringSecrets(service="courier-test",
                                                             backend=secret_service_env.backend()))
    assert r.substitute("{{token}}/{{password}}") == "kr-token-9f8e/kr-pass-7a6b"
    for path in store.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"kr-token" not in data and b"kr-pass" not in data, path
    keyring.delete(secret_key(col.id, COLLECTION_SCOPE, "token"))
    assert keyring.get(secret_key(col.id, COLLECTION_SCOPE, "token")) is None


def test_no_keyring_is_a_clear_message_not_a_crash() -> None:
    from keyring.backends.fail import Keyring as FailKeyring

    from app.collections import Collection

    store = KeyringSecrets(backend=FailKeyring())
    with pytest.raises(SecretsUnavailable, match="keyring is not available"):
        store.set("a/collection/b", "x")
    col = Collection("c", id="abc", variables=[Variable("token", secret=True)])
    r = build_resolver(col, None, store)
    assert r.missing_secrets == {"token"} and "never writes them to a file" in r.notes[0]


def _send(loop: asyncio.AbstractEventLoop, prepared: Any) -> Any:
    async def go() -> Any:
        m = NetworkManager()
        try:
            req, body = prepared.to_core()
            reply = m.send_custom_request(req, prepared.method, body)
            await asyncio.wait_for(reply.wait(), 20)
            return reply
        finally:
            await m.aclose()

    return loop.run_until_complete(go())


@pytest.fixture
def api(tmp_path: Path, http_server: HypercornServer) -> CollectionStore:
    store = CollectionStore.create(tmp_path / "api", "API")
    store.collection.variables = [Variable("base", http_server.url), Variable("token", secret=True)]
    store.collection.headers = [Header("X-Client", "courier"), Header("X-Layer", "collection")]
    store.collection.auth = Auth("bearer", {"token": "{{token}}"})
    store.save_collection()
    folder = store.new_folder("", "Users")
    f = store.node(folder)
    f.headers = [Header("X-Layer", "folder")]  # type: ignore[union-attr]
    store.save_folder(f)  # type: ignore[arg-type]
    return store


def _echo(reply: Any) -> dict[str, Any]:
    assert reply.status == 200, reply.error_string
    return json.loads(reply.content())  # type: ignore[no-any-return]


def test_headers_auth_and_json_body_as_the_server_sees_them(loop, api: CollectionStore) -> None:  # type: ignore[no-untyped-def]
    path = api.new_request("users", RequestItem("Create", "POST", "{{base}}/echo?u={{user}}",
                                                headers=[Header("X-Req", "{{user}}")],
                                                body=Body("json", '{"name": "{{user}}"}')))
    api.reload()
    item = api.node(path)
    assert isinstance(item, RequestItem)
    secrets = MemorySecrets({secret_key(api.collection.id, COLLECTION_SCOPE, "token"): "sekrit"})
    r = build_resolver(api.collection, Environment("dev", [Variable("user", "ann")]), secrets)
    p = prepare(api.collection, item, r, base_dir=api.root)
    seen = _echo(_send(loop, p))
    headers = {k.lower(): v for k, v in seen["headers"]}
    assert seen["method"] == "POST" and seen["query"] == "u=ann"
    assert headers["x-client"] == "courier" and headers["x-layer"] == "folder" and headers["x-req"] == "ann"
    assert headers["authorization"] == "Bearer sekrit"
    assert headers["content-type"] == "application/json"
    assert json.loads(seen["body"]) == {"name": "ann"}


def test_basic_apikey_form_multipart_and_graphql(loop, api: CollectionStore) -> None:  # type: ignore[no-untyped-def]
    (api.root / "files").mkdir()
    (api.root / "files" / "a.txt").write_bytes(b"file-content")
    cases = [
        RequestItem("basic", "GET", "{{base}}/echo", auth=Auth("basic", {"username": "u", "password": "p:w"})),
        RequestItem("apikey", "GET", "{{base}}/echo?a=1", auth=Auth("apikey", {"key": "api key", "value": "v&1",
                                                                                 "in": "query"})),
        RequestItem("form", "POST", "{{base}}/echo", auth=Auth("none"),
                    body=Body("form", fields=[FormField("a b", "c&d"), FormField("off", "x", enabled=False)])),
        RequestItem("multi", "POST", "{{base}}/echo", body=Body("multipart", fields=[
            FormField("f", file="files/a.txt", content_type="text/plain"), FormField("n", "v")])),
        RequestItem("gql", "POST", "{{base}}/echo", body=Body("graphql", "{ me { id } }", variables='{"x": 1}')),
    ]
    r = build_resolver(api.collection, None, MemorySecrets())
    seen = {}
    for item in cases:
        seen[item.name] = _echo(_send(loop, prepare(api.collection, item, r, base_dir=api.root)))
    h = {k.lower(): v for k, v in seen["basic"]["headers"]}
    assert h["authorization"] == "Basic " + base64.b64encode(b"u:p:w").decode()
    assert seen["apikey"]["query"] == "a=1&api%20key=v%261"
    assert seen["form"]["body"] == "a%20b=c%26d"
    assert "authorization" not in {k.lower() for k, _ in seen["form"]["headers"]}
    assert 'name="f"; filename="a.txt"' in seen["multi"]["body"] and "file-content" in seen["multi"]["body"]
    assert json.loads(seen["gql"]["body"]) == {"query": "{ me { id } }", "variables": {"x": 1}}


def test_unresolved_and_unsendable_requests_say_why(api: CollectionStore) -> None:
    r = build_resolver(api.collection, None, MemorySecrets())
    p = prepare(api.collection, RequestItem("x", url="{{nowhere}}/x"), r)
    assert p.unresolved == {"nowhere", "token"}
    with pytest.raises(PrepareError, match="does not exist"):
        prepare(api.collection, RequestItem("x", "POST", "{{base}}", body=Body("file", file="nope.bin")), r,
                base_dir=api.root)
    with pytest.raises(PrepareError, match="not valid JSON"):
        prepare(api.collection, RequestItem("x", "POST", "{{base}}", body=Body("graphql", "q", variables="{")), r)
