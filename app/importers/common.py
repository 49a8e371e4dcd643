"""What every importer shares: strict readers that name the place of a problem, and moving secret
values (passwords, tokens, cookies) out of the files into secret variables."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from app.collections.model import Auth, Collection, Header, Variable
from app.collections.secrets import COLLECTION_SCOPE
from app.collections.variables import VARIABLE

MAX_DEPTH = 64
SENSITIVE_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key"}
SECRET_AUTH_PARAMS = {"basic": ("password",), "digest": ("password",), "bearer": ("token",),
                      "apikey": ("value",)}
SECRET_NAME = re.compile(r"pass(word)?|secret|token|api[-_]?key|credential|private[-_]?key|session",
                         re.IGNORECASE)


class ImportFailed(ValueError):
    """The file cannot be imported; the message says what is wrong and where. Nothing was written."""


@dataclass
class ImportResult:
    collection: Collection
    # secret values found in the input: (scope, variable name) → value; they go to the keyring
    secrets: dict[tuple[str, str], str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    source_format: str = ""

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


def load_json(text: str | bytes, what: str) -> Any:
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8-sig")
        return json.loads(text)
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"{what}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ImportFailed(f"{what}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise ImportFailed(f"{what}: nested too deeply") from None


def obj(v: Any, where: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ImportFailed(f"{where}: expected an object, found {_kind(v)}")
    return v


def arr(v: Any, where: str, default: list[Any] | None = None) -> list[Any]:
    if v is None and default is not None:
        return default
    if not isinstance(v, list):
        raise ImportFailed(f"{where}: expected a list, found {_kind(v)}")
    return v


def text(v: Any, where: str, default: str = "") -> str:
    """A string; numbers and booleans are accepted as their text (exports are loose about this)."""
    if v is None:
        return default
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return json.dumps(v)
    if not isinstance(v, str):
        raise ImportFailed(f"{where}: expected text, found {_kind(v)}")
    return v


def _kind(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}.get(
        type(v), "a number" if isinstance(v, int | float) else type(v).__name__)


def description(v: Any, where: str) -> str:
    """Postman descriptions may be text or ``{content, type}``."""
    if isinstance(v, dict):
        return text(v.get("content"), where + ".content")
    return text(v, where)


def is_reference(value: str) -> bool:
    """True when the value is only ``{{variables}}`` (and maybe a prefix like ``Bearer ``)."""
    stripped = VARIABLE.sub("", value).strip()
    return bool(VARIABLE.search(value)) and stripped in ("", "Bearer", "Basic", "Token")


class SecretMover:
    """Replaces literal secret values by ``{{name}}`` of a new secret collection variable."""

    def __init__(self, result: ImportResult) -> None:
        self.result = result
        self.col = result.collection
        self.by_value: dict[str, str] = {}

    def _name_for(self, hint: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_]+", "_", hint).strip("_").lower() or "secret"
        taken = {v.name for v in self.col.variables}
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        return name

    def secret(self, value: str, hint: str) -> str:
        """``{{name}}`` for ``value`` (the same value reuses its variable)."""
        if not value or is_reference(value):
            return value
        if value in self.by_value:
            return "{{" + self.by_value[value] + "}}"
        name = self._name_for(hint)
        self.col.variables.append(Variable(name, secret=True))
        self.result.secrets[(COLLECTION_SCOPE, name)] = value
        self.by_value[value] = name
        return "{{" + name + "}}"

    def auth(self, auth: Auth, hint: str) -> Auth:
        for param in SECRET_AUTH_PARAMS.get(auth.type, ()):
            if auth.params.get(param):
                auth.params[param] = self.secret(auth.params[param], f"{hint}_{param}")
        return auth

    def headers(self, headers: list[Header]) -> list[Header]:
        for h in headers:
            low = h.name.lower()
            if low in SENSITIVE_HEADERS and h.value and not is_reference(h.value):
                if low in ("authorization", "proxy-authorization") and " " in h.value.strip():
                    scheme, _, cred = h.value.strip().partition(" ")
                    h.value = f"{scheme} {self.secret(cred.strip(), low.replace('-', '_'))}"
                else:
                    h.value = self.secret(h.value, low.replace("-", "_"))
        return headers


def flatten(data: Any, prefix: str = "", depth: int = 0) -> dict[str, str]:
    """Nested environment data (``{"a": {"b": 1}}``) as ``{"a.b": "1"}``."""
    out: dict[str, str] = {}
    if depth > MAX_DEPTH:
        raise ImportFailed("environment data nested too deeply")
    if isinstance(data, dict):
        for k, v in data.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict) and v:
                out.update(flatten(v, key, depth + 1))
            elif isinstance(v, str):
                out[key] = v
            else:
                out[key] = json.dumps(v)
    return out
