"""OpenAPI 3.0/3.1 (JSON or YAML): one request per operation, grouped in folders by first tag.

``servers[0]`` becomes the collection variable ``baseUrl``; path parameters become ``{{name}}``
variables (with their example as the collection value); required query and header parameters
are filled from examples; request bodies get the operation's example or one built from the
schema. Security schemes become collection auth with secret variables (never values).
"""

from __future__ import annotations

import json
import re
from typing import Any

from app.collections.model import Auth, Body, Collection, Folder, FormField, Header, RequestItem, Variable
from app.importers.common import ImportFailed, ImportResult, arr, load_json, obj, text

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_REF_DEPTH = 32
EXAMPLE_DEPTH = 6
EXAMPLE_NODES = 2000


def parse_document(data: str | bytes, source: str) -> Any:
    """JSON, else YAML (safe loader)."""
    try:
        raw = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"{source}: not UTF-8 text (byte {exc.start})") from None
    stripped = raw.lstrip()
    if stripped.startswith(("{", "[")):
        return load_json(raw, source)
    try:
        import yaml
    except ImportError:
        raise ImportFailed(f"{source}: YAML needs the PyYAML package; convert the file to JSON") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(raw, Loader=loader)  # a safe loader (CSafeLoader/SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ImportFailed(f"{source}: not valid YAML or JSON: {problem}{where}") from None
    except RecursionError:
        raise ImportFailed(f"{source}: nested too deeply") from None


def is_openapi(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("openapi"), str) and "paths" in doc


class _Spec:
    def __init__(self, doc: dict[str, Any], result: ImportResult) -> None:
        self.doc, self.result = doc, result
        self.budget = EXAMPLE_NODES

    def deref(self, v: Any, where: str, depth: int = 0) -> Any:
        seen = 0
        while isinstance(v, dict) and isinstance(v.get("$ref"), str):
            ref = v["$ref"]
            seen += 1
            if seen > MAX_REF_DEPTH:
                raise ImportFailed(f"{where}: $ref chain longer than {MAX_REF_DEPTH} (a loop?)")
            if not ref.startswith("#/"):
                self.result.warn(f"external $ref {ref!r} is not followed")
                return {}
            node: Any = self.doc
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(node, dict) or part not in node:
                    raise ImportFailed(f"{where}: $ref {ref!r} points nowhere")
                node = node[part]
            v = node
        return v

    def example(self, schema: Any, where: str, depth: int = 0) -> Any:
        if depth == 0:
            self.budget = EXAMPLE_NODES  # a schema that refers to itself widely must not explode
        self.budget -= 1
        s = self.deref(schema, where)
        if not isinstance(s, dict) or depth > EXAMPLE_DEPTH or self.budget <= 0:
            return None
        for key in ("example", "default", "const"):
            if key in s:
                return _plain(s[key])
        if isinstance(s.get("examples"), list) and s["examples"]:
            return _plain(s["examples"][0])
        if isinstance(s.get("enum"), list) and s["enum"]:
            return _plain(s["enum"][0])
        for combo in ("allOf", "oneOf", "anyOf"):
            if isinstance(s.get(combo), list) and s[combo]:
                if combo == "allOf":
                    merged: dict[str, Any] = {}
                    for part in s[combo]:
                        ex = self.example(part, where, depth + 1)
                        if isinstance(ex, dict):
                            merged.update(ex)
                    return merged
                return self.example(s[combo][0], where, depth + 1)
        kind = s.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        if kind == "object" or (kind is None and isinstance(s.get("properties"), dict)):
            props = s.get("properties") if isinstance(s.get("properties"), dict) else {}
            return {str(k): self.example(v, where, depth + 1) for k, v in list(props.items())[:50]}
        if kind == "array":
            item = self.example(s.get("items", {}), where, depth + 1)
            return [] if item is None else [item]
        if kind == "integer":
            return 0
        if kind == "number":
            return 0.0
        if kind == "boolean":
            return False
        if kind == "string":
            return {"date-time": "2024-01-01T00:00:00Z", "date": "2024-01-01", "email": "user@example.com",
                    "uuid": "00000000-0000-0000-0000-000000000000", "uri": "https://example.com"}.get(
                str(s.get("format")), "string")
        return None


def _plain(v: Any) -> Any:
    """YAML may give dates and non-text keys; make it JSON-able."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return str(v)


def _value_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return json.dumps(v) if isinstance(v, dict | list) else text(v, "value")


def _param_example(spec: _Spec, p: dict[str, Any], where: str) -> Any:
    if "example" in p:
        return _plain(p["example"])
    ex = p.get("examples")
    if isinstance(ex, dict) and ex:
        first = spec.deref(next(iter(ex.values())), where)
        if isinstance(first, dict) and "value" in first:
            return _plain(first["value"])
    return spec.example(p.get("schema"), where)


def _server(doc: dict[str, Any], result: ImportResult) -> str:
    servers = doc.get("servers")
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        result.warn("no servers in the document: set the baseUrl variable")
        return "http://localhost"
    s = servers[0]
    url = text(s.get("url"), "servers[0].url") or "/"
    variables = s.get("variables") if isinstance(s.get("variables"), dict) else {}
    for name, var in variables.items():
        default = _value_text(var.get("default")) if isinstance(var, dict) else ""
        url = url.replace("{" + str(name) + "}", default)
    if url.startswith("/"):
        result.warn(f"the server URL {url!r} is relative: prefix the baseUrl variable with the host")
    return url.rstrip("/")


def _security(spec: _Spec, requirement: Any, where: str, col: Collection) -> Auth:
    reqs = arr(requirement, where, [])
    if not reqs:
        return Auth("none")
    schemes = obj(spec.doc.get("components", {}), "components").get("securitySchemes", {})
    for req in reqs:
        if not isinstance(req, dict):
            continue
        for name in req:
            scheme = spec.deref(schemes.get(name) if isinstance(schemes, dict) else None, where)
            if not isinstance(scheme, dict):
                continue
            kind, http = scheme.get("type"), str(scheme.get("scheme", "")).lower()

            def secret(var: str) -> str:
                if not any(v.name == var for v in col.variables):
                    col.variables.append(Variable(var, secret=True))
                return "{{" + var + "}}"

            def plain(var: str) -> str:
                if not any(v.name == var for v in col.variables):
                    col.variables.append(Variable(var, ""))
                return "{{" + var + "}}"

            if kind == "http" and http == "bearer":
                return Auth("bearer", {"token": secret("bearerToken")})
            if kind == "http" and http == "basic":
                return Auth("basic", {"username": plain("username"), "password": secret("password")})
            if kind == "apiKey" and scheme.get("in") in ("header", "query"):
                return Auth("apikey", {"key": text(scheme.get("name"), where) or "X-API-Key",
                                       "value": secret("apiKey"), "in": str(scheme["in"])})
            if kind in ("oauth2", "openIdConnect"):
                return Auth("bearer", {"token": secret("accessToken")})
    return Auth("inherit")


def _body(spec: _Spec, rb: Any, where: str) -> Body:
    body = spec.deref(rb, where)
    if not isinstance(body, dict):
        return Body()
    content = body.get("content")
    if not isinstance(content, dict) or not content:
        return Body()
    mime = next((m for m in content if "json" in str(m)), next(iter(content)))
    media = spec.deref(content[mime], where) if isinstance(content[mime], dict) else {}
    example: Any = None
    if "example" in media:
        example = _plain(media["example"])
    elif isinstance(media.get("examples"), dict) and media["examples"]:
        first = spec.deref(next(iter(media["examples"].values())), where)
        example = _plain(first.get("value")) if isinstance(first, dict) else None
    else:
        example = spec.example(media.get("schema"), where)
    mime = str(mime)
    if mime in ("application/x-www-form-urlencoded", "multipart/form-data"):
        fields = []
        schema = spec.deref(media.get("schema"), where)
        props = schema.get("properties") if isinstance(schema, dict) else None
        props = props if isinstance(props, dict) else {}
        if isinstance(example, dict):
            for k, v in example.items():
                prop = spec.deref(props.get(k), where)
                if isinstance(prop, dict) and prop.get("format") in ("binary", "base64"):
                    spec.result.warn("file fields of multipart bodies are imported empty: choose the files")
                    v = ""
                fields.append(FormField(k, _value_text(v)))
        return Body("form" if "urlencoded" in mime else "multipart", fields=fields)
    if "json" in mime:
        return Body("json", json.dumps(example, indent=2) if example is not None else "",
                    None if mime == "application/json" else mime)
    kind = "xml" if "xml" in mime else "text"
    return Body(kind, _value_text(example), mime)


def _operation(spec: _Spec, path: str, method: str, op: dict[str, Any], common: list[Any], where: str,
               col: Collection, default_auth: Auth) -> RequestItem:
    name = text(op.get("summary"), where + ".summary") or text(op.get("operationId"), where) or \
        f"{method.upper()} {path}"
    url = "{{baseUrl}}" + re.sub(r"\{([^{}]+)\}", r"{{\1}}", path)
    params: dict[tuple[str, str], dict[str, Any]] = {}
    for i, raw in enumerate([*common, *arr(op.get("parameters"), where + ".parameters", [])]):
        p = spec.deref(raw, f"{where}.parameters[{i}]")
        if isinstance(p, dict) and isinstance(p.get("name"), str):
            params[(p["name"], str(p.get("in")))] = p
    query, headers = [], []
    for (pname, loc), p in params.items():
        example = _param_example(spec, p, where)
        if loc == "path":
            if not any(v.name == pname for v in col.variables):
                col.variables.append(Variable(pname, _value_text(example)))
        elif loc == "query" and (p.get("required") or (example is not None and "example" in p)):
            query.append(f"{pname}={_value_text(example)}")
        elif loc == "header" and pname.lower() not in ("authorization", "content-type", "accept") and \
                (p.get("required") or "example" in p):
            headers.append(Header(pname, _value_text(example)))
    if query:
        url += "?" + "&".join(query)
    body = _body(spec, op.get("requestBody"), where + ".requestBody")
    item = RequestItem(name[:120], method.upper(), url, headers=headers, body=body,
                       description=text(op.get("description"), where + ".description"))
    if "security" in op:
        auth = _security(spec, op["security"], where + ".security", col)
        item.auth = auth if auth != default_auth else Auth("inherit")
    return item


def import_openapi(data: str | bytes, source: str = "OpenAPI document") -> ImportResult:
    try:
        doc = parse_document(data, source)
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"{source}: not UTF-8 text (byte {exc.start})") from None
    doc = obj(doc, source)
    if not is_openapi(doc):
        if "swagger" in doc:
            raise ImportFailed(f"{source}: Swagger 2.0 is not supported; convert it to OpenAPI 3")
        raise ImportFailed(f"{source}: not an OpenAPI 3 document (no 'openapi' version and 'paths')")
    version = doc["openapi"]
    if not version.startswith("3."):
        raise ImportFailed(f"{source}: OpenAPI {version!r} is not 3.x")
    info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
    result = ImportResult(Collection(name=text(info.get("title"), "info.title") or "OpenAPI",
                                     description=text(info.get("description"), "info.description")),
                          source_format="openapi")
    spec = _Spec(doc, result)
    col = result.collection
    col.root = Folder(name=col.name)
    col.variables.append(Variable("baseUrl", _server(doc, result)))
    col.auth = _security(spec, doc.get("security"), "security", col) if "security" in doc else Auth("inherit")
    folders: dict[str, Folder] = {}
    paths = obj(doc["paths"], "paths")
    for path, raw_item in paths.items():
        where = f"paths[{path!r}]"
        item = obj(spec.deref(raw_item, where), where)
        common = arr(item.get("parameters"), where + ".parameters", [])
        for method in METHODS:
            if method not in item:
                continue
            op = obj(item[method], f"{where}.{method}")
            req = _operation(spec, str(path), method, op, common, f"{where}.{method}", col, col.auth)
            tags = op.get("tags")
            tag = str(tags[0]) if isinstance(tags, list) and tags else ""
            if tag:
                if tag not in folders:
                    folders[tag] = Folder(name=tag)
                    col.root.children.append(folders[tag])
                folders[tag].children.append(req)
            else:
                col.root.children.append(req)
    tag_docs = {str(t.get("name")): str(t.get("description") or "") for t in doc.get("tags", [])
                if isinstance(t, dict)} if isinstance(doc.get("tags"), list) else {}
    for tag, folder in folders.items():
        folder.description = tag_docs.get(tag, "")
    if not col.root.children:
        result.warn("the document has no operations")
    return result
