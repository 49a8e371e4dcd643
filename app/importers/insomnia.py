"""Insomnia export format 4 (``_type: export``, ``__export_format: 4``, a flat ``resources`` list).

Workspaces, request groups (folders) and requests become the tree (several workspaces: one
top-level folder each), the base environment's data become collection variables and its
sub-environments Courier environments. ``{{ _.name }}`` becomes ``{{name}}``; other template
tags (``{% ... %}``) are kept as written and listed as warnings.
"""

from __future__ import annotations

import json
import re
from typing import Any

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
    flatten,
    is_reference,
    load_json,
    obj,
    text,
)

_UNDERSCORE = re.compile(r"\{\{\s*_\.([^{}\s]+)\s*\}\}")
_TAG = re.compile(r"\{%.*?%\}", re.S)


def is_export(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("_type") == "export" and "resources" in doc


class _Ctx:
    def __init__(self, result: ImportResult) -> None:
        self.result = result
        self.movers = SecretMover(result)

    def t(self, v: Any, where: str, default: str = "") -> str:
        s = text(v, where, default)
        if "{%" in s and _TAG.search(s):
            self.result.warn("Insomnia template tags ({% ... %}) are kept as written; Courier does not run them")
        return _UNDERSCORE.sub(r"{{\1}}", s)


def _sort_key(r: dict[str, Any]) -> tuple[float, str]:
    k = r.get("metaSortKey")
    return (float(k) if isinstance(k, int | float) and not isinstance(k, bool) else 0.0,
            str(r.get("name", "")))


def _auth(v: Any, where: str, ctx: _Ctx) -> Auth:
    if not v:
        return Auth("inherit")
    a = obj(v, where)
    if a.get("disabled") is True:
        return Auth("none")
    kind = text(a.get("type"), where + ".type", "")
    if kind in ("", "none"):
        return Auth("none") if kind == "none" else Auth("inherit")
    if kind in ("basic", "digest"):
        return Auth(kind, {"username": ctx.t(a.get("username"), where + ".username"),
                           "password": ctx.t(a.get("password"), where + ".password")})
    if kind == "bearer":
        params = {"token": ctx.t(a.get("token"), where + ".token")}
        prefix = ctx.t(a.get("prefix"), where + ".prefix")
        if prefix and prefix != "Bearer":
            params["prefix"] = prefix
        return Auth("bearer", params)
    if kind == "apikey":
        where_to = text(a.get("addTo"), where + ".addTo", "header")
        return Auth("apikey", {"key": ctx.t(a.get("key"), where + ".key"), "value": ctx.t(a.get("value"), where),
                               "in": "query" if where_to == "queryParams" else "header"})
    ctx.result.warn(f"Insomnia auth type {kind!r} is not supported; those requests send no auth")
    return Auth("none")


def _pairs(v: Any, where: str, ctx: _Ctx) -> list[tuple[str, str, bool]]:
    out = []
    for i, p in enumerate(arr(v, where, [])):
        p = obj(p, f"{where}[{i}]")
        name = ctx.t(p.get("name"), f"{where}[{i}].name")
        if name.strip():
            out.append((name, ctx.t(p.get("value"), f"{where}[{i}].value"), not bool(p.get("disabled"))))
    return out


def _body(v: Any, where: str, ctx: _Ctx, headers: list[Header]) -> Body:
    if not v:
        return Body()
    b = obj(v, where)
    mime = text(b.get("mimeType"), where + ".mimeType", "") or ""
    base = mime.split(";")[0].strip().lower()
    if base == "application/x-www-form-urlencoded" or base == "multipart/form-data":
        fields = []
        for i, p in enumerate(arr(b.get("params"), where + ".params", [])):
            p = obj(p, f"{where}.params[{i}]")
            name = ctx.t(p.get("name"), f"{where}.params[{i}].name")
            enabled = not bool(p.get("disabled"))
            if p.get("type") == "file":
                ctx.result.warn("file fields keep the path from the exporting machine; check them before sending")
                fields.append(FormField(name, file=text(p.get("fileName"), where) or "", enabled=enabled))
            else:
                fields.append(FormField(name, ctx.t(p.get("value"), f"{where}.params[{i}].value"), enabled=enabled))
        _drop_content_type(headers)
        return Body("form" if base.endswith("urlencoded") else "multipart", fields=fields)
    if base == "application/graphql":
        raw = text(b.get("text"), where + ".text")
        try:
            g = json.loads(raw) if raw.strip() else {}
        except ValueError:
            g = {"query": raw}
        if not isinstance(g, dict):
            g = {"query": raw}
        variables = g.get("variables")
        _drop_content_type(headers)
        return Body("graphql", ctx.t(g.get("query"), where + ".text.query"),
                    variables=json.dumps(variables, indent=2) if variables else "")
    if "fileName" in b and "text" not in b:
        return Body("file", file=text(b.get("fileName"), where + ".fileName") or None, content_type=mime or None)
    body_text = ctx.t(b.get("text"), where + ".text")
    if not body_text and not mime:
        return Body()
    kind = "json" if "json" in base else "xml" if "xml" in base else "text"
    default = {"json": "application/json", "xml": "application/xml"}.get(kind)
    return Body(kind, body_text, None if (not mime or mime == default) else mime)


def _drop_content_type(headers: list[Header]) -> None:
    headers[:] = [h for h in headers if h.name.lower() != "content-type"]


def _request(r: dict[str, Any], where: str, ctx: _Ctx) -> RequestItem:
    name = text(r.get("name"), where + ".name") or "Untitled request"
    method = text(r.get("method"), where + ".method", "GET").strip().upper() or "GET"
    if any(c.isspace() for c in method):
        raise ImportFailed(f"{where}.method: {method!r} is not an HTTP method")
    url = ctx.t(r.get("url"), where + ".url")
    params = [(k, v) for k, v, on in _pairs(r.get("parameters"), where + ".parameters", ctx) if on]
    if params:
        url += ("&" if "?" in url else "?") + "&".join(f"{k}={v}" for k, v in params)
    headers = [Header(k, v, on) for k, v, on in _pairs(r.get("headers"), where + ".headers", ctx)]
    body = _body(r.get("body"), where + ".body", ctx, headers)
    item = RequestItem(name, method, url, headers=headers, body=body,
                       auth=_auth(r.get("authentication"), where + ".authentication", ctx),
                       description=text(r.get("description"), where + ".description"))
    follow = r.get("settingFollowRedirects")
    if follow in ("on", "off"):
        item.follow_redirects = follow == "on"
    ctx.movers.auth(item.auth, name + "_auth")
    ctx.movers.headers(item.headers)
    return item


def _variables(data: Any, where: str, scope: str, ctx: _Ctx) -> list[Variable]:
    if data is None:
        return []
    out = []
    for key, value in flatten(obj(data, where)).items():
        value = _UNDERSCORE.sub(r"{{\1}}", value)
        if SECRET_NAME.search(key) and value and not is_reference(value):
            out.append(Variable(key, secret=True))
            ctx.result.secrets[(scope, key)] = value
            ctx.result.warn(f"variable {key!r} is kept as a secret (its value goes to the keyring)")
        else:
            out.append(Variable(key, value))
    return out


def import_export(data: str | bytes, source: str = "Insomnia export") -> ImportResult:
    doc = obj(load_json(data, source), source)
    if not is_export(doc):
        raise ImportFailed(f"{source}: not an Insomnia export (no _type 'export' and 'resources')")
    fmt = doc.get("__export_format")
    if fmt != 4:
        raise ImportFailed(f"{source}: Insomnia export format {fmt!r}; only format 4 is supported "
                           "(Insomnia: Application → Preferences → Data → Export → Insomnia v4)")
    resources = [obj(r, f"resources[{i}]") for i, r in enumerate(arr(doc["resources"], "resources"))]
    by_parent: dict[str, list[dict[str, Any]]] = {}
    for i, r in enumerate(resources):
        if not text(r.get("_id"), f"resources[{i}]._id"):
            raise ImportFailed(f"{source}: resources[{i}] has no _id")
        by_parent.setdefault(str(r.get("parentId")), []).append(r)
    workspaces = [r for r in resources if r.get("_type") == "workspace"]
    if not workspaces:
        raise ImportFailed(f"{source}: the export holds no workspace")
    name = text(workspaces[0].get("name"), "workspace.name") or "Insomnia"
    result = ImportResult(Collection(name=name if len(workspaces) == 1 else "Insomnia",
                                     description=text(workspaces[0].get("description"), "workspace.description")),
                          source_format="insomnia")
    ctx = _Ctx(result)
    col = result.collection
    col.root = Folder(name=col.name)
    skipped = {str(r.get("_type")) for r in resources} - {"workspace", "request_group", "request", "environment",
                                                          "cookie_jar", "api_spec"}
    if skipped:
        result.warn(f"not imported: {', '.join(sorted(skipped))}")

    visited: set[str] = set()

    def fill(parent_id: str, folder: Folder, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise ImportFailed(f"{source}: folders nested more than {MAX_DEPTH} deep")
        if parent_id in visited:
            raise ImportFailed(f"{source}: resource {parent_id!r} is its own ancestor (duplicate _id?)")
        visited.add(parent_id)
        for r in sorted(by_parent.get(parent_id, []), key=_sort_key):
            where = f"{r.get('_type')} {r.get('name')!r}"
            if r.get("_type") == "request_group":
                sub = Folder(name=text(r.get("name"), where) or "Untitled folder",
                             description=text(r.get("description"), where + ".description"),
                             headers=[Header(k, v, on) for k, v, on in _pairs(r.get("headers"), where, ctx)],
                             auth=_auth(r.get("authentication"), where + ".authentication", ctx))
                ctx.movers.auth(sub.auth, sub.name + "_auth")
                if r.get("environment"):
                    col.variables += [v for v in _variables(r.get("environment"), where, COLLECTION_SCOPE, ctx)
                                      if v.name not in {x.name for x in col.variables}]
                    result.warn("folder environments were merged into the collection variables")
                fill(str(r["_id"]), sub, depth + 1)
                folder.children.append(sub)
            elif r.get("_type") == "request":
                folder.children.append(_request(r, where, ctx))

    for ws in workspaces:
        target = col.root if len(workspaces) == 1 else Folder(name=text(ws.get("name"), "workspace") or "Workspace")
        fill(str(ws["_id"]), target, 0)
        if target is not col.root:
            col.root.children.append(target)
        for base in [r for r in by_parent.get(str(ws["_id"]), []) if r.get("_type") == "environment"]:
            for v in _variables(base.get("data"), f"environment {base.get('name')!r}.data", COLLECTION_SCOPE, ctx):
                if v.name not in {x.name for x in col.variables}:
                    col.variables.append(v)
            for sub_env in by_parent.get(str(base["_id"]), []):
                if sub_env.get("_type") != "environment":
                    continue
                env_name = text(sub_env.get("name"), "environment.name") or "Environment"
                env = Environment(env_name, _variables(sub_env.get("data"), f"environment {env_name!r}.data",
                                                       env_scope(env_name), ctx))
                col.environments.append(env)
    return result
