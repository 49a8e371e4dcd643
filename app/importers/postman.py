"""Postman collection v2.1 (and v2.0) and Postman environment files.

Follows the public schema (schema.getpostman.com/json/collection/v2.1.0). Literal passwords,
tokens and secret-looking variables move into secret variables (keyring); scripts, saved example
responses and unsupported auth types are listed as warnings.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from app.collections.model import (
    Auth,
    Body,
    Collection,
    Environment,
    Folder,
    FormField,
    Header,
    RequestItem,
    Variable,
)
from app.collections.secrets import COLLECTION_SCOPE, env_scope
from app.importers.common import (
    MAX_DEPTH,
    SECRET_NAME,
    ImportFailed,
    ImportResult,
    SecretMover,
    arr,
    description,
    is_reference,
    load_json,
    obj,
    text,
)

AUTH_PARAMS = {
    "basic": ("username", "password"),
    "digest": ("username", "password"),
    "bearer": ("token",),
    "apikey": ("key", "value", "in"),
}
RAW_LANGUAGES = {"json": ("json", None), "xml": ("xml", None), "text": ("text", None),
                 "html": ("text", "text/html; charset=utf-8"), "javascript": ("text", "application/javascript")}


def is_collection(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("info"), dict) and "item" in doc


def is_environment(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("values"), list) and (
        "_postman_variable_scope" in doc or "name" in doc)


def _params(v: Any, where: str) -> dict[str, str]:
    """Postman auth parameters: v2.1 ``[{key, value}]``, v2.0 ``{key: value}``."""
    if isinstance(v, dict):
        return {str(k): text(val, f"{where}.{k}") for k, val in v.items()
                if not isinstance(val, dict | list)}
    out: dict[str, str] = {}
    for i, p in enumerate(arr(v, where, [])):
        p = obj(p, f"{where}[{i}]")
        out[text(p.get("key"), f"{where}[{i}].key")] = text(p.get("value"), f"{where}[{i}].value") \
            if not isinstance(p.get("value"), dict | list) else ""
    return out


def _auth(v: Any, where: str, result: ImportResult) -> Auth:
    if v is None:
        return Auth("inherit")
    a = obj(v, where)
    kind = text(a.get("type"), where + ".type", "noauth")
    if kind == "noauth":
        return Auth("none")
    if kind not in AUTH_PARAMS:
        result.warn(f"{where}: Postman auth type {kind!r} is not supported; the request sends no auth")
        return Auth("none")
    params = _params(a.get(kind), f"{where}.{kind}")
    keep = {k: params[k] for k in AUTH_PARAMS[kind] if params.get(k)}
    if kind == "apikey":
        keep.setdefault("in", "header")
        if keep["in"] not in ("header", "query"):
            keep["in"] = "header"
    return Auth(kind, keep)


def _url(v: Any, where: str) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    u = obj(v, where)
    raw = text(u.get("raw"), where + ".raw")
    variables = {text(p.get("key"), where): text(p.get("value"), where)
                 for p in arr(u.get("variable"), where + ".variable", []) if isinstance(p, dict)}
    if not raw:
        host = u.get("host")
        host_s = ".".join(text(h, where + ".host") for h in host) if isinstance(host, list) else text(host, where)
        path = u.get("path")
        path_s = "/".join(text(p, where + ".path") if not isinstance(p, dict) else text(p.get("value"), where)
                          for p in path) if isinstance(path, list) else text(path, where)
        raw = f"{text(u.get('protocol'), where) or 'http'}://{host_s}"
        if u.get("port"):
            raw += f":{text(u.get('port'), where)}"
        if path_s:
            raw += "/" + path_s.lstrip("/")
        query = [q for q in arr(u.get("query"), where + ".query", []) if isinstance(q, dict) and not q.get("disabled")]
        if query:
            raw += "?" + "&".join(f"{text(q.get('key'), where)}={text(q.get('value'), where)}" for q in query)
    for key, value in variables.items():  # path variables: /users/:id
        replacement = quote(value, safe="{}") if value else "{{" + key + "}}"
        raw = re.sub(r"/:" + re.escape(key) + r"(?=[/?#]|$)", lambda _m, r=replacement: "/" + r, raw)
    return raw


def _headers(v: Any, where: str) -> list[Header]:
    if v is None:
        return []
    if isinstance(v, str):
        out = []
        for line in v.splitlines():
            if ":" in line:
                k, _, val = line.partition(":")
                out.append(Header(k.strip(), val.strip()))
        return out
    out = []
    for i, h in enumerate(arr(v, where)):
        h = obj(h, f"{where}[{i}]")
        name = text(h.get("key"), f"{where}[{i}].key").strip()
        if name:
            out.append(Header(name, text(h.get("value"), f"{where}[{i}].value"), not bool(h.get("disabled"))))
    return out


def _body(v: Any, where: str, result: ImportResult) -> Body:
    if v is None:
        return Body()
    b = obj(v, where)
    if b.get("disabled") is True:
        return Body()
    mode = text(b.get("mode"), where + ".mode", "")
    if mode == "raw":
        options = b.get("options") if isinstance(b.get("options"), dict) else {}
        raw_opts = options.get("raw") if isinstance(options.get("raw"), dict) else {}
        language = text(raw_opts.get("language"), where + ".options.raw.language", "text")
        kind, ctype = RAW_LANGUAGES.get(language, ("text", None))
        return Body(kind, text(b.get("raw"), where + ".raw"), ctype)
    if mode in ("urlencoded", "formdata"):
        fields = []
        for i, f in enumerate(arr(b.get(mode), f"{where}.{mode}", [])):
            f = obj(f, f"{where}.{mode}[{i}]")
            name = text(f.get("key"), f"{where}.{mode}[{i}].key")
            enabled = not bool(f.get("disabled"))
            ctype = text(f.get("contentType"), f"{where}.{mode}[{i}].contentType") or None
            if mode == "formdata" and f.get("type") == "file":
                src = f.get("src")
                src = src[0] if isinstance(src, list) and src else src
                path = text(src, f"{where}.{mode}[{i}].src") if src is not None else ""
                result.warn("file fields keep the path from the exporting machine; check them before sending")
                fields.append(FormField(name, file=path, content_type=ctype, enabled=enabled))
            else:
                fields.append(FormField(name, text(f.get("value"), f"{where}.{mode}[{i}].value"),
                                        content_type=ctype, enabled=enabled))
        return Body("form" if mode == "urlencoded" else "multipart", fields=fields)
    if mode == "file":
        f = b.get("file") if isinstance(b.get("file"), dict) else {}
        return Body("file", file=text(f.get("src"), where + ".file.src") or None)
    if mode == "graphql":
        g = obj(b.get("graphql", {}), where + ".graphql")
        variables = g.get("variables")
        return Body("graphql", text(g.get("query"), where + ".graphql.query"),
                    variables=text(variables, where + ".graphql.variables") if variables is not None else "")
    if mode:
        result.warn(f"{where}: body mode {mode!r} is not supported; the request has no body")
    return Body()


def _request(item: dict[str, Any], where: str, result: ImportResult, movers: SecretMover) -> RequestItem:
    name = text(item.get("name"), where + ".name") or "Untitled request"
    r = item.get("request")
    if isinstance(r, str):
        return RequestItem(name, "GET", r)
    r = obj(r, where + ".request")
    method = text(r.get("method"), where + ".request.method", "GET").strip().upper() or "GET"
    if any(c.isspace() for c in method):
        raise ImportFailed(f"{where}.request.method: {method!r} is not an HTTP method")
    req = RequestItem(name, method, _url(r.get("url"), where + ".request.url"),
                      headers=_headers(r.get("header"), where + ".request.header"),
                      body=_body(r.get("body"), where + ".request.body", result),
                      auth=_auth(r.get("auth"), where + ".request.auth", result),
                      description=description(r.get("description") or item.get("description"), where))
    behaviour = item.get("protocolProfileBehavior")
    if isinstance(behaviour, dict) and isinstance(behaviour.get("followRedirects"), bool):
        req.follow_redirects = behaviour["followRedirects"]
    movers.auth(req.auth, name + "_auth")
    movers.headers(req.headers)
    if item.get("event"):
        result.warn("pre-request and test scripts are not imported")
    if item.get("response"):
        result.warn("saved example responses are not imported")
    return req


def _items(items: list[Any], where: str, folder: Folder, result: ImportResult, movers: SecretMover,
           depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ImportFailed(f"{where}: folders nested more than {MAX_DEPTH} deep")
    for i, raw in enumerate(items):
        here = f"{where}[{i}]"
        item = obj(raw, here)
        if "item" in item:
            sub = Folder(name=text(item.get("name"), here + ".name") or "Untitled folder",
                         description=description(item.get("description"), here + ".description"),
                         auth=_auth(item.get("auth"), here + ".auth", result))
            movers.auth(sub.auth, sub.name + "_auth")
            if item.get("event"):
                result.warn("pre-request and test scripts are not imported")
            if item.get("variable"):
                _variables(item["variable"], here + ".variable", result, folder_vars=True)
            _items(arr(item["item"], here + ".item"), here + ".item", sub, result, movers, depth + 1)
            folder.children.append(sub)
        elif "request" in item:
            folder.children.append(_request(item, here, result, movers))
        else:
            raise ImportFailed(f"{here}: neither a request nor a folder (no 'request' or 'item' key)")


def _variables(v: Any, where: str, result: ImportResult, folder_vars: bool = False) -> None:
    col = result.collection
    for i, raw in enumerate(arr(v, where, [])):
        var = obj(raw, f"{where}[{i}]")
        name = text(var.get("key") or var.get("id"), f"{where}[{i}].key")
        if not name:
            continue
        value = text(var.get("value"), f"{where}[{i}].value") if not isinstance(var.get("value"), dict | list) \
            else ""
        secret = var.get("type") == "secret" or (bool(SECRET_NAME.search(name)) and bool(value)
                                                  and not is_reference(value))
        if any(x.name == name for x in col.variables):
            continue
        if secret:
            col.variables.append(Variable(name, secret=True))
            if value:
                result.secrets[(COLLECTION_SCOPE, name)] = value
            result.warn(f"variable {name!r} is kept as a secret (its value goes to the keyring)")
        else:
            col.variables.append(Variable(name, value, enabled=not bool(var.get("disabled"))))
    if folder_vars:
        result.warn("folder variables were moved to the collection")


def import_collection(data: str | bytes, source: str = "Postman collection") -> ImportResult:
    doc = obj(load_json(data, source), source)
    if "requests" in doc and "order" in doc:
        raise ImportFailed(f"{source}: a Postman v1 collection; export it again as v2.1 (Postman: Export → v2.1)")
    if not is_collection(doc):
        raise ImportFailed(f"{source}: not a Postman collection (no 'info' and 'item')")
    info = obj(doc["info"], "info")
    schema = text(info.get("schema"), "info.schema")
    if schema and "collection" in schema and not any(v in schema for v in ("v2.1", "v2.0")):
        raise ImportFailed(f"{source}: schema {schema!r} is not Postman collection v2.0 or v2.1")
    result = ImportResult(Collection(name=text(info.get("name"), "info.name") or "Postman collection",
                                     description=description(info.get("description"), "info.description")),
                          source_format="postman")
    col = result.collection
    movers = SecretMover(result)
    _variables(doc.get("variable"), "variable", result)
    col.auth = movers.auth(_auth(doc.get("auth"), "auth", result), "collection_auth")
    if col.auth.type == "inherit":
        col.auth = Auth("inherit")
    if doc.get("event"):
        result.warn("pre-request and test scripts are not imported")
    col.root = Folder(name=col.name)
    _items(arr(doc["item"], "item"), "item", col.root, result, movers, 0)
    return result


def import_environment(data: str | bytes, result: ImportResult, source: str = "Postman environment") -> Environment:
    """Add a Postman environment file to ``result``'s collection."""
    doc = obj(load_json(data, source), source)
    if not is_environment(doc):
        raise ImportFailed(f"{source}: not a Postman environment (no 'values' list)")
    name = text(doc.get("name"), "name") or "Environment"
    env = Environment(name)
    for i, raw in enumerate(arr(doc["values"], "values")):
        v = obj(raw, f"values[{i}]")
        key = text(v.get("key"), f"values[{i}].key")
        if not key:
            continue
        value = text(v.get("value"), f"values[{i}].value") if not isinstance(v.get("value"), dict | list) else ""
        enabled = v.get("enabled") is not False
        secret = v.get("type") == "secret" or (bool(SECRET_NAME.search(key)) and bool(value)
                                                and not is_reference(value))
        if secret:
            env.variables.append(Variable(key, secret=True, enabled=enabled))
            if value:
                result.secrets[(env_scope(name), key)] = value
            result.warn(f"environment {name!r}: {key!r} is kept as a secret (its value goes to the keyring)")
        else:
            env.variables.append(Variable(key, value, enabled=enabled))
    result.collection.environments = [e for e in result.collection.environments if e.name != name] + [env]
    return env
