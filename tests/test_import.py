"""Importing Postman, Insomnia, HAR, OpenAPI and curl into a collection folder, as a user would."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from app.collections import Folder, MemorySecrets, RequestItem, build_resolver, load_collection, prepare
from app.collections.secrets import COLLECTION_SCOPE, KeyringSecrets, env_scope, secret_key
from app.importers import ImportFailed, detect, parse, read_import, save_import
from core import NetworkManager
from tests.secret_service import SecretService, secret_service_env  # noqa: F401  (fixture)
from tests.servers import HypercornServer

SAMPLES = Path(__file__).parent / "samples"
POSTMAN = SAMPLES / "postman_petstore.postman_collection.json"
POSTMAN_ENV = SAMPLES / "postman_petstore_dev.postman_environment.json"
INSOMNIA = SAMPLES / "insomnia_export_v4.json"
HAR = SAMPLES / "browser.har"
OPENAPI = SAMPLES / "openapi_petstore.yaml"
LITERAL_SECRETS = [b"correct-horse-battery", b"pk_live_51HxQ2eJ9", b"dev-token-8f3a1c", b"hunter2", b"s3cret-Adm1n",
                   b"dev-bearer-123", b"9f8e7d6c5b4a", b"eyJhbGciOiJIUzI1NiJ9"]


def tree(folder: Folder, prefix: str = "") -> list[str]:
    out = []
    for c in folder.children:
        if isinstance(c, Folder):
            out.append(f"{prefix}{c.name}/")
            out += tree(c, prefix + "  ")
        else:
            out.append(f"{prefix}{c.name} [{c.method}]")
    return out


def no_secret_in_files(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for s in LITERAL_SECRETS:
                assert s not in data, (path, s)


def by_name(items: list[RequestItem], name: str) -> RequestItem:
    return next(i for i in items if i.name == name)


def test_postman_collection_with_environment(tmp_path: Path) -> None:
    result = read_import([POSTMAN, POSTMAN_ENV])
    secrets = MemorySecrets()
    store = save_import(result, tmp_path / "petstore", secrets)
    col, problems = load_collection(store.root)
    assert problems == []
    assert tree(col.root) == [
        "pets/", "  List pets [GET]", "  Create pet [POST]", "  Get pet by id [GET]", "  Upload photo [POST]",
        "  Delete pet [DELETE]", "store/", "  Place order [POST]", "  Inventory (API key) [GET]",
        "GraphQL search [POST]", "Health [HEAD]"]
    reqs = col.requests()
    listing = by_name(reqs, "List pets")
    assert listing.url == "{{baseUrl}}/pets?limit=20&status=available"
    assert [(h.name, h.value, h.enabled) for h in listing.headers] == [("Accept", "application/json", True),
                                                                       ("X-Debug", "1", False)]
    assert listing.description == "Returns all pets the caller may see."
    assert by_name(reqs, "Get pet by id").url == "{{baseUrl}}/pets/42"
    create = by_name(reqs, "Create pet")
    assert create.body.type == "json" and '"name": "{{petName}}"' in create.body.text
    upload = by_name(reqs, "Upload photo")
    assert [(f.name, f.file, f.enabled) for f in upload.body.fields] == [
        ("caption", None, True), ("photo", "/home/ann/Pictures/rex.jpg", True), ("draft", None, False)]
    assert by_name(reqs, "Delete pet").auth.type == "none" and by_name(reqs, "Delete pet").follow_redirects is False
    gql = by_name(reqs, "GraphQL search")
    assert gql.body.type == "graphql" and json.loads(gql.body.variables) == {"first": 10}
    store_folder = col.find("store")
    assert isinstance(store_folder, Folder) and store_folder.auth.type == "basic"
    assert store_folder.auth.params["password"] == "{{store_auth_password}}"
    assert col.auth.type == "bearer" and col.auth.params == {"token": "{{accessToken}}"}
    env = col.environment("Petstore dev")
    assert env is not None
    assert [(v.name, v.secret, v.enabled) for v in env.variables] == [
        ("baseUrl", False, True), ("accessToken", True, True), ("dbPassword", True, True), ("petName", False, False)]
    assert secrets.values == {
        secret_key(col.id, COLLECTION_SCOPE, "apiKey"): "pk_live_51HxQ2eJ9",
        secret_key(col.id, COLLECTION_SCOPE, "store_auth_password"): "correct-horse-battery",
        secret_key(col.id, env_scope("Petstore dev"), "accessToken"): "dev-token-8f3a1c",
        secret_key(col.id, env_scope("Petstore dev"), "dbPassword"): "hunter2",
    }
    no_secret_in_files(store.root)
    assert "pre-request and test scripts are not imported" in result.warnings


def test_imported_postman_requests_reach_a_real_server(loop, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                       http_server: HypercornServer) -> None:
    result = read_import([POSTMAN, POSTMAN_ENV])
    secrets = MemorySecrets()
    store = save_import(result, tmp_path / "petstore", secrets)
    col = store.collection
    env = col.environment("Petstore dev")
    assert env is not None
    resolver = build_resolver(col, env, secrets, {"baseUrl": http_server.url + "/echo"})

    async def send(item: RequestItem) -> dict[str, Any]:
        m = NetworkManager()
        try:
            p = prepare(col, item, resolver, base_dir=store.root)
            req, body = p.to_core()
            reply = m.send_custom_request(req, p.method, body)
            await asyncio.wait_for(reply.wait(), 20)
            return json.loads(reply.content())  # type: ignore[no-any-return]
        finally:
            await m.aclose()

    reqs = col.requests()
    order = loop.run_until_complete(send(by_name(reqs, "Place order")))
    h = {k.lower(): v for k, v in order["headers"]}
    assert order["body"] == "petId=42&quantity=1&note=gift%20wrap%20%26%20card"
    import base64

    assert h["authorization"] == "Basic " + base64.b64encode(b"storekeeper:correct-horse-battery").decode()
    listing = loop.run_until_complete(send(by_name(reqs, "List pets")))
    h = {k.lower(): v for k, v in listing["headers"]}
    assert h["authorization"] == "Bearer dev-token-8f3a1c" and "x-debug" not in h
    assert listing["query"] == "limit=20&status=available"
    inventory = loop.run_until_complete(send(by_name(reqs, "Inventory (API key)")))
    assert dict((k.lower(), v) for k, v in inventory["headers"])["x-api-key"] == "pk_live_51HxQ2eJ9"


def test_insomnia_export(tmp_path: Path) -> None:
    result = read_import([INSOMNIA])
    store = save_import(result, tmp_path / "users", MemorySecrets())
    col = store.collection
    assert store.problems == []
    assert col.name == "Users API"
    assert tree(col.root) == ["Users/", "  Create user [POST]", "  List users [GET]", "  Admin/", "    Ban user [PATCH]",
                              "Upload avatar [PUT]", "Who am I [POST]"]
    reqs = col.requests()
    assert by_name(reqs, "List users").url == "{{base_url}}/users?page=1&per_page={{page_size}}"
    create = by_name(reqs, "Create user")
    assert create.auth.params == {"token": "{{token}}"} and create.follow_redirects is False
    assert "{% uuid 'v4' %}" in create.body.text
    ban = by_name(reqs, "Ban user")
    assert ban.body.type == "form" and [f.enabled for f in ban.body.fields] == [True, True, False]
    assert ban.auth.params["password"] == "{{ban_user_auth_password}}"
    assert not any(h.name.lower() == "content-type" for h in ban.headers)
    assert by_name(reqs, "Who am I").body.type == "graphql"
    assert {v.name: v.value for v in col.variables if not v.secret} == {
        "base_url": "https://api.example.org/v2", "page_size": "50", "api.version": "2"}
    dev = col.environment("Development")
    assert dev is not None and [(v.name, v.secret) for v in dev.variables] == [
        ("base_url", False), ("token", True), ("api_key", False)]
    assert any("grpc_request" in w for w in result.warnings)
    no_secret_in_files(store.root)


def test_har(tmp_path: Path) -> None:
    result = read_import([HAR])
    store = save_import(result, tmp_path / "har", MemorySecrets())
    reqs = store.collection.requests()
    assert [(r.name, r.method) for r in reqs] == [("GET /api/cart", "GET"), ("POST /api/cart/items", "POST"),
                                                  ("POST /login", "POST")]
    names = [h.name for h in reqs[0].headers]
    assert names == ["accept", "accept-language", "cookie", "user-agent"]  # no :pseudo headers
    assert reqs[0].headers[2].value == "{{cookie}}"
    assert ("authorization", "Bearer {{authorization}}") in [(h.name, h.value) for h in reqs[1].headers]
    assert all(h.name.lower() not in ("content-length", "host") for r in reqs for h in r.headers)
    assert reqs[1].body.type == "json" and reqs[1].body.text == '{"sku":"B-7","quantity":1}'
    assert reqs[2].body.text == "user=ann%40example.com&remember=on"
    no_secret_in_files(store.root)


def test_openapi_yaml_and_json_give_the_same_collection(tmp_path: Path) -> None:
    import yaml

    from_yaml = read_import([OPENAPI])
    as_json = tmp_path / "openapi.json"
    as_json.write_text(json.dumps(yaml.safe_load(OPENAPI.read_text()), default=str))
    from_json = read_import([as_json])
    assert tree(from_yaml.collection.root) == tree(from_json.collection.root)
    col = from_yaml.collection
    assert tree(col.root) == ["pets/", "  List all pets [GET]", "  Create a pet [POST]", "  Info for a specific pet [GET]",
                              "  deletePet [DELETE]", "  Upload a photo [PUT]", "store/", "  Place an order [POST]",
                              "Health check [GET]"]
    reqs = col.requests()
    assert {v.name: (v.value, v.secret) for v in col.variables} == {
        "baseUrl": ("https://api.petstore.example.com/v1", False), "bearerToken": ("", True),
        "petId": ("42", False), "apiKey": ("", True)}
    listing = by_name(reqs, "List all pets")
    assert listing.url == "{{baseUrl}}/pets?limit=25&status=available"
    assert [h.name for h in listing.headers] == ["X-Request-ID"]
    create = json.loads(by_name(reqs, "Create a pet").body.text)
    assert create["name"] == "Rex" and create["owner"]["email"] == "user@example.com"
    assert json.loads(by_name(reqs, "Place an order").body.text) == {"petId": 42, "quantity": 1,
                                                                     "shipDate": "2024-06-01"}
    assert by_name(reqs, "Info for a specific pet").url == "{{baseUrl}}/pets/{{petId}}"
    assert by_name(reqs, "deletePet").auth.type == "apikey" and by_name(reqs, "Health check").auth.type == "none"
    assert col.auth.params == {"token": "{{bearerToken}}"}
    store = save_import(from_yaml, tmp_path / "petstore", MemorySecrets())
    assert store.problems == [] and len(store.collection.requests()) == 7


@pytest.mark.parametrize("command, method, url, headers, body", [
    ("curl https://api.example.com/users", "GET", "https://api.example.com/users", [], ""),
    ("curl -X POST 'http://127.0.0.1:8000/items' -H 'Content-Type: application/json' -d '{\"a\": 1}'",
     "POST", "http://127.0.0.1:8000/items", [("Content-Type", "application/json")], '{"a": 1}'),
    ("curl 'https://x.example/a?b=1' \\\n  -H 'Accept: */*' \\\n  --compressed", "GET", "https://x.example/a?b=1",
     [("Accept", "*/*")], ""),
    ("curl --json '{\"q\": true}' http://h/search", "POST", "http://h/search",
     [("Content-Type", "application/json"), ("Accept", "application/json")], '{"q": true}'),
])
def test_curl(tmp_path: Path, command: str, method: str, url: str, headers: list[tuple[str, str]], body: str) -> None:
    result = parse(command)
    item = result.collection.requests()[0]
    assert (item.method, item.url, [(h.name, h.value) for h in item.headers], item.body.text) == (
        method, url, headers, body)
    store = save_import(result, tmp_path / "c", MemorySecrets())
    assert store.problems == []


def test_curl_credentials_become_secrets(tmp_path: Path) -> None:
    result = parse("curl -u ann:pa55word -H 'Authorization: Bearer abc123' -b 'sid=xyz' https://h/x")
    item = result.collection.requests()[0]
    assert item.auth.params == {"username": "ann", "password": "{{auth_password}}"}
    assert [(h.name, h.value) for h in item.headers] == [("Authorization", "Bearer {{authorization}}"),
                                                          ("Cookie", "{{cookie}}")]
    assert sorted(result.secrets.values()) == ["abc123", "pa55word", "sid=xyz"]


def test_secrets_go_to_the_real_keyring(tmp_path: Path, secret_service_env: SecretService) -> None:  # noqa: F811
    keyring = KeyringSecrets(service="courier-import-test", backend=secret_service_env.backend())
    store = save_import(read_import([POSTMAN, POSTMAN_ENV]), tmp_path / "petstore", keyring)
    col = store.collection
    assert keyring.get(secret_key(col.id, env_scope("Petstore dev"), "accessToken")) == "dev-token-8f3a1c"
    r = build_resolver(col, col.environment("Petstore dev"), keyring)
    assert r.substitute("{{apiKey}}") == "pk_live_51HxQ2eJ9"
    no_secret_in_files(store.root)


def test_without_a_keyring_the_files_are_written_and_the_user_is_told(tmp_path: Path) -> None:
    from keyring.backends.fail import Keyring as FailKeyring

    result = read_import([POSTMAN, POSTMAN_ENV])
    store = save_import(result, tmp_path / "petstore", KeyringSecrets(backend=FailKeyring()))
    assert len(store.collection.requests()) == 9
    msg = next(w for w in result.warnings if w.startswith("secret values not stored"))
    assert "accessToken" in msg and "keyring is not available" in msg
    no_secret_in_files(store.root)


@pytest.mark.parametrize("content, fmt, message", [
    (b'{"info": {"name": "x"}, "item": [', "postman", "not valid JSON: Expecting value at line 1, column 34"),
    (b'{"requests": [], "order": []}', "postman", "Postman v1 collection"),
    (b'{"info": {}, "item": [{"name": "a"}]}', "postman", "item[0]: neither a request nor a folder"),
    (b'{"info": {}, "item": [{"request": {"method": "GE T"}}]}', "postman", "is not an HTTP method"),
    (b'{"info": {}, "item": [{"request": {"header": 5}}]}', "postman", "item[0].request.header: expected a list"),
    (b'{"_type": "export", "__export_format": 3, "resources": []}', "insomnia", "only format 4"),
    (b'{"_type": "export", "__export_format": 4, "resources": {}}', "insomnia", "resources: expected a list"),
    (b'{"log": {"entries": [{"request": {"method": "GET"}}]}}', "har", "log.entries[0].request.url: empty"),
    (b'{"log": {"entries": [{"request": []}]}}', "har", "log.entries[0].request: expected an object"),
    (b'swagger: "2.0"\npaths: {}\n', "openapi", "Swagger 2.0 is not supported"),
    (b"openapi: 3.0.0\npaths:\n  /a: [\n", "openapi", "not valid YAML or JSON"),
    (b'{"openapi": "3.0.0", "paths": {"/a": {"get": {"requestBody": {"$ref": "#/nowhere"}}}}}', "openapi",
     "points nowhere"),
    (b"curl -H 'Accept: x'", "curl", "has no URL"),
    (b"\xff\xfe garbage", None, "not UTF-8"),
    (b"just some text", None, "not a format Courier imports"),
])
def test_malformed_files_say_what_is_wrong_and_write_nothing(tmp_path: Path, content: bytes, fmt: str | None,
                                                             message: str) -> None:
    src = tmp_path / "input"
    src.write_bytes(content)
    dest = tmp_path / "out"
    with pytest.raises(ImportFailed) as info:
        save_import(read_import([src], fmt), dest, MemorySecrets())
    assert message in str(info.value)
    assert "(internal:" not in str(info.value)
    assert not dest.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input"]


def test_an_import_never_overwrites_a_folder(tmp_path: Path) -> None:
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")
    with pytest.raises(ImportFailed, match="not an empty folder"):
        save_import(read_import([HAR]), dest, MemorySecrets())
    assert [p.name for p in dest.iterdir()] == ["notes.txt"]


def test_detect() -> None:
    assert detect(POSTMAN.read_bytes()) == "postman"
    assert detect(POSTMAN_ENV.read_bytes()) == "postman-environment"
    assert detect(INSOMNIA.read_bytes()) == "insomnia"
    assert detect(HAR.read_bytes()) == "har"
    assert detect(OPENAPI.read_bytes()) == "openapi"
    assert detect(b"  curl http://x") == "curl"


def _courier(*args: str, stdin: str | None = None) -> Any:
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, input=stdin,
                          timeout=60, env=env)


def test_import_and_export_commands(tmp_path: Path) -> None:
    dest = tmp_path / "petstore"
    out = _courier("import", str(POSTMAN), str(POSTMAN_ENV), "--to", str(dest), "--no-keyring")
    assert out.returncode == 0, out.stderr
    assert "imported 9 request(s) and 1 environment(s) from postman" in out.stdout
    assert "secret values not stored" in out.stderr and "accessToken" in out.stderr
    no_secret_in_files(dest)
    har_out = _courier("export", str(dest / "pets"), "--format", "har", "--env", "Petstore dev")
    assert har_out.returncode == 0, har_out.stderr
    entries = json.loads(har_out.stdout)["log"]["entries"]
    assert [e["request"]["method"] for e in entries] == ["GET", "POST", "GET", "POST", "DELETE"]
    assert entries[0]["request"]["url"] == "http://127.0.0.1:8080/v1/pets?limit=20&status=available"
    curl_out = _courier("export", str(dest / "pets" / "create-pet.toml"), "--format", "curl")
    assert curl_out.returncode == 0 and curl_out.stdout.startswith("# Create pet\ncurl ")
    pm = tmp_path / "pm.json"
    assert _courier("export", str(dest), "--format", "postman", "-o", str(pm)).returncode == 0
    assert json.loads(pm.read_text())["info"]["name"] == "Petstore API"
    bad = _courier("import", str(HAR), "--to", str(dest))
    assert bad.returncode == 1 and "not an empty folder" in bad.stderr and "nothing was written" in bad.stderr
    piped = _courier("import", "-", "--to", str(tmp_path / "c"), "--no-keyring",
                     stdin="curl -X POST http://127.0.0.1:1/x -d a=1")
    assert piped.returncode == 0 and "from curl" in piped.stdout


def test_insomnia_resources_that_loop_are_refused() -> None:
    doc = {"_type": "export", "__export_format": 4, "resources": [
        {"_id": "w", "_type": "workspace", "name": "W"},
        {"_id": "w", "parentId": "w", "_type": "request_group", "name": "a"},
        {"_id": "w", "parentId": "w", "_type": "request_group", "name": "b"},
    ]}
    with pytest.raises(ImportFailed, match="its own ancestor"):
        parse(json.dumps(doc), "insomnia")


def test_openapi_schemas_that_refer_to_themselves_widely_stay_small() -> None:
    props = {f"p{i}": {"$ref": "#/components/schemas/Node"} for i in range(50)}
    doc = {"openapi": "3.1.0", "info": {"title": "loop"}, "paths": {"/n": {"post": {"requestBody": {"content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}}},
        "components": {"schemas": {"Node": {"type": "object", "properties": props}}}}
    result = parse(json.dumps(doc), "openapi")  # 50 ** 6 nodes without the budget: a hang
    assert len(result.collection.requests()[0].body.text) < 200_000


def test_a_killed_imports_leftover_folder_is_cleared_by_the_next_import(tmp_path: Path) -> None:
    # What `kill -9` during an import leaves beside the destination: a half-written temp folder.
    old = tmp_path / ".courier-tmp-import-k1ll3d"
    (old / "requests").mkdir(parents=True)
    (old / "requests" / "half.toml").write_text("method = \"GE")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    young = tmp_path / ".courier-tmp-import-running"  # another import, running now: left alone
    young.mkdir()
    save_import(read_import([POSTMAN, POSTMAN_ENV]), tmp_path / "petstore", MemorySecrets())
    assert not old.exists()
    assert young.exists()
    assert load_collection(tmp_path / "petstore")[0].name
    assert sorted(p.name for p in tmp_path.iterdir()) == [".courier-tmp-import-running", "petstore"]
