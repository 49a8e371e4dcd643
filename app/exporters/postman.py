"""Postman collection v2.1 and Postman environment files.

Postman has no collection or folder headers: they are copied into each request (a warning says
so). ``expect_status`` and timeouts have no Postman equivalent and are dropped. Secret variables
are exported with empty values unless ``include_secrets``; so are credentials typed into requests
(``Authorization``/``Cookie`` headers, auth passwords, tokens and API keys, passwords in URLs).
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlsplit

from app.collections.model import Auth, Collection, Environment, Folder, Header, RequestItem
from app.collections.secrets import COLLECTION_SCOPE, SecretStore, SecretsUnavailable, env_scope, secret_key
from app.exporters import SENSITIVE
from app.history import redact_url_password

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
LANGUAGES = {"json": "json", "xml": "xml", "text": "text"}


def _auth(auth: Auth) -> dict[str, Any] | None:
    if auth.type == "inherit":
        return None
    if auth.type == "none":
        return {"type": "noauth"}
    return {"type": auth.type,
            auth.type: [{"key": k, "value": v, "type": "string"} for k, v in auth.params.items()]}


def _url(raw: str) -> dict[str, Any]:
    out: dict[str, Any] = {"raw": raw}
    rest = raw
    if "://" in raw:
        scheme, rest = raw.split("://", 1)
        out["protocol"] = scheme
    host, _, path_q = rest.partition("/")
    path, _, query = path_q.partition("?")
    if "?" in host:
        host, _, query = host.partition("?")
    if host:
        out["host"] = host.split(".") if not host.startswith("{{") else [host]
    if path:
        out["path"] = path.split("/")
    if query:
        pairs = []
        for part in query.split("&"):
            k, sep, v = part.partition("=")
            pairs.append({"key": k, "value": v if sep else None})
        out["query"] = pairs
    try:
        urlsplit(raw)
    except ValueError:
        return {"raw": raw}
    return out


def _body(item: RequestItem) -> dict[str, Any] | None:
    b = item.body
    if b.type == "none":
        return None
    if b.type in LANGUAGES:
        return {"mode": "raw", "raw": b.text, "options": {"raw": {"language": LANGUAGES[b.type]}}}
    if b.type == "form":
        return {"mode": "urlencoded", "urlencoded": [
            {"key": f.name, "value": f.value, "type": "text", **({} if f.enabled else {"disabled": True})}
            for f in b.fields]}
    if b.type == "multipart":
        out = []
        for f in b.fields:
            rec: dict[str, Any] = {"key": f.name}
            if f.file is not None:
                rec.update(type="file", src=f.file)
            else:
                rec.update(type="text", value=f.value)
            if f.content_type:
                rec["contentType"] = f.content_type
            if not f.enabled:
                rec["disabled"] = True
            out.append(rec)
        return {"mode": "formdata", "formdata": out}
    if b.type == "file":
        return {"mode": "file", "file": {"src": b.file or ""}}
    if b.type == "graphql":
        return {"mode": "graphql", "graphql": {"query": b.text, "variables": b.variables}}
    return None


def _headers(layers: list[list[Header]]) -> list[dict[str, Any]]:
    merged: list[Header] = []
    for layer in layers:
        for h in layer:
            merged = [x for x in merged if x.name.lower() != h.name.lower()]
            merged.append(h)
    return [{"key": h.name, "value": h.value, "type": "text", **({} if h.enabled else {"disabled": True})}
            for h in merged]


def _request(item: RequestItem, inherited: list[list[Header]], warnings: list[str]) -> dict[str, Any]:
    req: dict[str, Any] = {"method": item.method, "header": _headers([*inherited, item.headers]),
                           "url": _url(item.url)}
    if item.body.content_type and item.body.type in LANGUAGES and \
            not any(h["key"].lower() == "content-type" for h in req["header"]):
        req["header"].append({"key": "Content-Type", "value": item.body.content_type, "type": "text"})
    body = _body(item)
    if body is not None:
        req["body"] = body
    auth = _auth(item.auth)
    if auth is not None:
        req["auth"] = auth
    if item.description:
        req["description"] = item.description
    out: dict[str, Any] = {"name": item.name, "request": req, "response": []}
    if item.follow_redirects is False:
        out["protocolProfileBehavior"] = {"followRedirects": False}
    if item.expect_status:
        warnings.append("expected statuses have no Postman equivalent and were left out")
    return out


def _folder(folder: Folder, inherited: list[list[Header]], warnings: list[str]) -> list[dict[str, Any]]:
    out = []
    for child in folder.children:
        if isinstance(child, Folder):
            layers = [*inherited, child.headers] if child.headers else inherited
            rec: dict[str, Any] = {"name": child.name, "item": _folder(child, layers, warnings)}
            if child.description:
                rec["description"] = child.description
            auth = _auth(child.auth)
            if auth is not None:
                rec["auth"] = auth
            out.append(rec)
        else:
            out.append(_request(child, inherited, warnings))
    return out


SECRET_AUTH_PARAMS = {"password", "token", "value"}  # basic/digest password, bearer token, API key value


def _typed(value: Any) -> bool:
    """A credential typed in as text (a ``{{variable}}`` is only a name and stays)."""
    return isinstance(value, str) and bool(value) and "{{" not in value


def _leave_out_credentials(node: Any) -> bool:
    """Blank typed-in credentials in a Postman document: sensitive headers, auth secrets, URL passwords."""
    changed = False
    if isinstance(node, list):
        for child in node:
            changed |= _leave_out_credentials(child)
        return changed
    if not isinstance(node, dict):
        return False
    kind = node.get("type")
    if isinstance(kind, str) and isinstance(node.get(kind), list):  # an auth block
        for param in node[kind]:
            if isinstance(param, dict) and param.get("key") in SECRET_AUTH_PARAMS and _typed(param.get("value")):
                param["value"] = ""
                changed = True
    headers = node.get("header")
    for h in headers if isinstance(headers, list) else []:
        if str(h.get("key", "")).lower() in SENSITIVE and _typed(h.get("value")):
            h["value"] = ""
            changed = True
    url = node.get("url")
    if isinstance(url, dict) and isinstance(url.get("raw"), str) and redact_url_password(url["raw"]) != url["raw"]:
        node["url"] = _url(redact_url_password(url["raw"]))
        changed = True
    for key, value in node.items():
        if key != "url" and isinstance(value, (dict, list)):
            changed |= _leave_out_credentials(value)
    return changed


def _secret(secrets: SecretStore | None, key: str) -> str:
    if secrets is None:
        return ""
    try:
        return secrets.get(key) or ""
    except SecretsUnavailable:
        return ""


def export_collection(col: Collection, include_secrets: bool = False,
                      secrets: SecretStore | None = None) -> tuple[dict[str, Any], list[str]]:
    """The Postman v2.1 document and warnings about what Postman cannot hold."""
    warnings: list[str] = []
    if col.headers or any(f.headers for f in _folders(col.root)):
        warnings.append("collection and folder headers were copied into every request (Postman has none)")
    try:
        pid = str(uuid.UUID(col.id)) if col.id else str(uuid.uuid4())
    except ValueError:
        pid = str(uuid.uuid4())
    info: dict[str, Any] = {"_postman_id": pid, "name": col.name, "schema": SCHEMA}
    if col.description:
        info["description"] = col.description
    doc: dict[str, Any] = {"info": info, "item": _folder(col.root, [col.headers] if col.headers else [], warnings)}
    auth = _auth(col.auth)
    if auth is not None:
        doc["auth"] = auth
    variables = []
    for v in col.variables:
        value = _secret(secrets, secret_key(col.id, COLLECTION_SCOPE, v.name)) if v.secret and include_secrets \
            else ("" if v.secret else v.value)
        rec: dict[str, Any] = {"key": v.name, "value": value, "type": "string"}
        if not v.enabled:
            rec["disabled"] = True
        if v.secret and not include_secrets:
            rec["description"] = "secret: the value is kept in Courier's keyring"
        variables.append(rec)
    if variables:
        doc["variable"] = variables
    if not include_secrets and _leave_out_credentials(doc):
        warnings.append("credentials typed into requests (Authorization and Cookie headers, passwords, tokens, "
                        "API keys) were left out; export with secrets to include them")
    return doc, sorted(set(warnings))


def _folders(folder: Folder) -> list[Folder]:
    out = []
    for f in folder.folders():
        out.append(f)
        out.extend(_folders(f))
    return out


def export_environment(col: Collection, env: Environment, include_secrets: bool = False,
                       secrets: SecretStore | None = None) -> dict[str, Any]:
    values = []
    for v in env.variables:
        if v.secret:
            value = _secret(secrets, secret_key(col.id, env_scope(env.name), v.name)) if include_secrets else ""
            values.append({"key": v.name, "value": value, "type": "secret", "enabled": v.enabled})
        else:
            values.append({"key": v.name, "value": v.value, "type": "default", "enabled": v.enabled})
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"courier:{col.id}:{env.name}")), "name": env.name,
            "values": values, "_postman_variable_scope": "environment"}


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
