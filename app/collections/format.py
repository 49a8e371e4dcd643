"""The on-disk format: one TOML file per request, ``folder.toml``, ``collection.toml``, environments.

Every file starts with ``courier_format = N``. Older files are upgraded on load by the steps in
``MIGRATIONS`` (N → N+1) and written in the current format when next saved; a file from a newer
Courier is refused with a clear message and never overwritten. Keys are written in a fixed order,
defaults are left out, and keys this version does not know are kept and written back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.collections import tomlfmt
from app.collections.model import (
    AUTH_TYPES,
    BODY_TYPES,
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

FORMAT_KEY = "courier_format"
CURRENT_FORMAT = 1
# version N → a function turning a document of version N into version N+1
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

COLLECTION_FILE = "collection.toml"
FOLDER_FILE = "folder.toml"
ENVIRONMENTS_DIR = "environments"
SUFFIX = ".toml"


class FormatError(ValueError):
    """A file whose content does not fit the format. ``key`` names the offending key if known."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.key = key


# -- upgrading ---------------------------------------------------------------------------------
def upgrade(doc: dict[str, Any]) -> dict[str, Any]:
    version = doc.get(FORMAT_KEY, 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FormatError(f"{FORMAT_KEY} must be a positive whole number, not {version!r}", FORMAT_KEY)
    if version > CURRENT_FORMAT:
        raise FormatError(f"written by a newer Courier (format {version}); this Courier reads formats "
                          f"up to {CURRENT_FORMAT} and leaves the file untouched", FORMAT_KEY)
    while version < CURRENT_FORMAT:
        doc = MIGRATIONS[version](dict(doc))
        version += 1
        doc[FORMAT_KEY] = version
    return doc


# -- reading helpers ---------------------------------------------------------------------------
def _str(doc: dict[str, Any], k: str, default: str = "") -> str:
    v = doc.get(k, default)
    if not isinstance(v, str):
        raise FormatError(f"{k} must be text, not {type(v).__name__}", k)
    return v


def _opt_str(doc: dict[str, Any], k: str) -> str | None:
    v = doc.get(k)
    if v is None:
        return None
    if not isinstance(v, str):
        raise FormatError(f"{k} must be text, not {type(v).__name__}", k)
    return v


def _bool(doc: dict[str, Any], k: str, default: bool) -> bool:
    v = doc.get(k, default)
    if not isinstance(v, bool):
        raise FormatError(f"{k} must be true or false", k)
    return v


def _int(doc: dict[str, Any], k: str) -> int | None:
    v = doc.get(k)
    if v is None:
        return None
    if not isinstance(v, int) or isinstance(v, bool):
        raise FormatError(f"{k} must be a whole number", k)
    return v


def _table(doc: dict[str, Any], k: str) -> dict[str, Any]:
    v = doc.get(k, {})
    if not isinstance(v, dict):
        raise FormatError(f"{k} must be a table ([{k}])", k)
    return v


def _records(doc: dict[str, Any], k: str) -> list[dict[str, Any]]:
    v = doc.get(k, [])
    if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
        raise FormatError(f"{k} must be a list of {{ name = ..., value = ... }} entries", k)
    return v


def _headers(doc: dict[str, Any], k: str = "headers") -> list[Header]:
    out = []
    for rec in _records(doc, k):
        try:
            out.append(Header(_str(rec, "name"), _str(rec, "value"), _bool(rec, "enabled", True)))
        except FormatError as exc:
            raise FormatError(f"{k}: {exc.message}", k) from None
        if not out[-1].name:
            raise FormatError(f"{k}: a header without a name", k)
    return out


def _variables(doc: dict[str, Any]) -> list[Variable]:
    out = []
    for rec in _records(doc, "variables"):
        try:
            var = Variable(_str(rec, "name"), _str(rec, "value"), _bool(rec, "secret", False),
                           _bool(rec, "enabled", True))
        except FormatError as exc:
            raise FormatError(f"variables: {exc.message}", "variables") from None
        if not var.name:
            raise FormatError("variables: a variable without a name", "variables")
        if var.secret and var.value:
            raise FormatError(f"variables: secret variable {var.name!r} has a value in the file; "
                              "secret values belong in the keyring", "variables")
        out.append(var)
    return out


def _auth(doc: dict[str, Any]) -> Auth:
    table = _table(doc, "auth")
    if not table:
        return Auth()
    kind = _str(table, "type", "inherit")
    if kind not in AUTH_TYPES:
        raise FormatError(f"auth type {kind!r} is not one of {', '.join(AUTH_TYPES)}", "auth")
    params: dict[str, str] = {}
    for k, v in table.items():
        if k == "type":
            continue
        if not isinstance(v, str):
            raise FormatError(f"auth.{k} must be text", "auth")
        params[k] = v
    return Auth(kind, params)


def _body(doc: dict[str, Any]) -> Body:
    table = _table(doc, "body")
    if not table:
        return Body()
    kind = _str(table, "type", "none")
    if kind not in BODY_TYPES:
        raise FormatError(f"body type {kind!r} is not one of {', '.join(BODY_TYPES)}", "body")
    fields = []
    for rec in _records(table, "fields"):
        try:
            fields.append(FormField(_str(rec, "name"), _str(rec, "value"), _opt_str(rec, "file"),
                                    _opt_str(rec, "content_type"), _bool(rec, "enabled", True)))
        except FormatError as exc:
            raise FormatError(f"body.fields: {exc.message}", "body") from None
    return Body(kind, _str(table, "text"), _opt_str(table, "content_type"), fields,
                _opt_str(table, "file"), _str(table, "variables"))


def _extra(doc: dict[str, Any], known: set[str]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in known}


_REQUEST_KEYS = {FORMAT_KEY, "name", "order", "method", "url", "description", "expect_status", "headers",
                 "body", "auth", "settings"}
_FOLDER_KEYS = {FORMAT_KEY, "name", "order", "description", "headers", "auth"}
_COLLECTION_KEYS = {FORMAT_KEY, "name", "id", "description", "headers", "variables", "auth"}
_ENV_KEYS = {FORMAT_KEY, "name", "variables"}


def request_from_doc(doc: dict[str, Any], default_name: str) -> RequestItem:
    doc = upgrade(doc)
    method = _str(doc, "method", "GET").strip()
    if not method or any(c.isspace() for c in method):
        raise FormatError(f"method {method!r} is not a valid HTTP method", "method")
    expect = doc.get("expect_status", [])
    if not isinstance(expect, list) or not all(isinstance(s, int) and not isinstance(s, bool)
                                               and 100 <= s <= 999 for s in expect):
        raise FormatError("expect_status must be a list of status codes like [404]", "expect_status")
    settings = _table(doc, "settings")
    timeout = settings.get("timeout")
    if timeout is not None and (not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout < 0):
        raise FormatError("settings.timeout must be a number of seconds", "settings")
    follow = settings.get("follow_redirects")
    if follow is not None and not isinstance(follow, bool):
        raise FormatError("settings.follow_redirects must be true or false", "settings")
    return RequestItem(
        name=_str(doc, "name", default_name) or default_name, method=method.upper(),
        url=_str(doc, "url"), headers=_headers(doc), body=_body(doc), auth=_auth(doc),
        description=_str(doc, "description"), expect_status=list(expect),
        timeout=float(timeout) if timeout is not None else None, follow_redirects=follow,
        order=_int(doc, "order"), extra=_extra(doc, _REQUEST_KEYS))


def folder_from_doc(doc: dict[str, Any], default_name: str) -> Folder:
    doc = upgrade(doc)
    return Folder(name=_str(doc, "name", default_name) or default_name, description=_str(doc, "description"),
                  headers=_headers(doc), auth=_auth(doc), order=_int(doc, "order"),
                  extra=_extra(doc, _FOLDER_KEYS))


def collection_from_doc(doc: dict[str, Any], default_name: str) -> Collection:
    doc = upgrade(doc)
    return Collection(name=_str(doc, "name", default_name) or default_name, id=_str(doc, "id"),
                      description=_str(doc, "description"), headers=_headers(doc), auth=_auth(doc),
                      variables=_variables(doc), extra=_extra(doc, _COLLECTION_KEYS))


def environment_from_doc(doc: dict[str, Any], default_name: str) -> Environment:
    doc = upgrade(doc)
    return Environment(name=_str(doc, "name", default_name) or default_name, variables=_variables(doc),
                       extra=_extra(doc, _ENV_KEYS))


# -- writing -----------------------------------------------------------------------------------
def _header_recs(headers: list[Header]) -> list[dict[str, Any]] | None:
    if not headers:
        return None
    return [{"name": h.name, "value": h.value, **({} if h.enabled else {"enabled": False})} for h in headers]


def _variable_recs(variables: list[Variable]) -> list[dict[str, Any]] | None:
    if not variables:
        return None
    out: list[dict[str, Any]] = []
    for v in variables:
        rec: dict[str, Any] = {"name": v.name}
        if v.secret:
            rec["secret"] = True  # the value lives in the keyring, never here
        else:
            rec["value"] = v.value
        if not v.enabled:
            rec["enabled"] = False
        out.append(rec)
    return out


def _auth_doc(auth: Auth) -> dict[str, Any] | None:
    if auth.type == "inherit" and not auth.params:
        return None
    return {"type": auth.type, **dict(sorted(auth.params.items()))}


def _body_doc(body: Body) -> dict[str, Any] | None:
    if body.type == "none" and not body.text and not body.fields and not body.file:
        return None
    out: dict[str, Any] = {"type": body.type}
    if body.content_type:
        out["content_type"] = body.content_type
    if body.file:
        out["file"] = body.file
    if body.fields:
        recs = []
        for f in body.fields:
            rec: dict[str, Any] = {"name": f.name}
            if f.file is not None:
                rec["file"] = f.file
            else:
                rec["value"] = f.value
            if f.content_type:
                rec["content_type"] = f.content_type
            if not f.enabled:
                rec["enabled"] = False
            recs.append(rec)
        out["fields"] = recs
    if body.variables:
        out["variables"] = body.variables
    if body.text:
        out["text"] = body.text  # last: a long multi-line text ends the table
    return out


def request_to_doc(item: RequestItem) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if item.timeout is not None:
        settings["timeout"] = float(item.timeout)
    if item.follow_redirects is not None:
        settings["follow_redirects"] = item.follow_redirects
    doc: dict[str, Any] = {
        FORMAT_KEY: CURRENT_FORMAT,
        "name": item.name,
        "order": item.order,
        "method": item.method,
        "url": item.url,
        "description": item.description or None,
        "expect_status": list(item.expect_status) or None,
        "headers": _header_recs(item.headers),
    }
    doc.update({k: v for k, v in item.extra.items() if not isinstance(v, dict)})
    doc["body"] = _body_doc(item.body)
    doc["auth"] = _auth_doc(item.auth)
    doc["settings"] = settings or None
    doc.update({k: v for k, v in item.extra.items() if isinstance(v, dict)})
    return doc


def folder_to_doc(folder: Folder) -> dict[str, Any]:
    doc: dict[str, Any] = {FORMAT_KEY: CURRENT_FORMAT, "name": folder.name, "order": folder.order,
                           "description": folder.description or None, "headers": _header_recs(folder.headers)}
    doc.update({k: v for k, v in folder.extra.items() if not isinstance(v, dict)})
    doc["auth"] = _auth_doc(folder.auth)
    doc.update({k: v for k, v in folder.extra.items() if isinstance(v, dict)})
    return doc


def collection_to_doc(col: Collection) -> dict[str, Any]:
    doc: dict[str, Any] = {FORMAT_KEY: CURRENT_FORMAT, "name": col.name, "id": col.id or None,
                           "description": col.description or None, "headers": _header_recs(col.headers),
                           "variables": _variable_recs(col.variables)}
    doc.update({k: v for k, v in col.extra.items() if not isinstance(v, dict)})
    doc["auth"] = _auth_doc(col.auth)
    doc.update({k: v for k, v in col.extra.items() if isinstance(v, dict)})
    return doc


def environment_to_doc(env: Environment) -> dict[str, Any]:
    doc: dict[str, Any] = {FORMAT_KEY: CURRENT_FORMAT, "name": env.name,
                           "variables": _variable_recs(env.variables) or []}
    doc.update(env.extra)
    return doc


def dumps(doc: dict[str, Any]) -> str:
    return tomlfmt.dumps(doc)
