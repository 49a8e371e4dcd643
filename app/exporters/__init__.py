"""Exporting requests: curl commands, HAR 1.2, Postman collection v2.1 (and environments).

HAR and curl exports leave out ``Authorization``, ``Proxy-Authorization``, ``Cookie`` and
``Set-Cookie`` and passwords in URLs, and keep secret variables as ``{{name}}`` unless the caller asks to include them
(``include_sensitive``, ``include_secrets``), as browsers do for HAR.
"""

from __future__ import annotations

from app.collections.model import Collection, Environment
from app.collections.secrets import SecretStore
from app.collections.variables import Resolver, build_resolver
from app.history import redact_url_password

SENSITIVE = {"authorization", "proxy-authorization", "cookie", "set-cookie", "set-cookie2"}


def export_resolver(collection: Collection, environment: Environment | None, secrets: SecretStore | None,
                    include_secrets: bool) -> Resolver:
    """Variables for an export: secret values only when asked; otherwise they stay ``{{name}}``."""
    resolver = build_resolver(collection, environment, secrets if include_secrets else None)
    if not include_secrets:
        for name in resolver.secret_names:
            resolver.values[name] = "{{" + name + "}}"  # a self-reference: kept as written
    return resolver


def export_url(url: str, include_sensitive: bool) -> str:
    """The URL for an export: a password in it only when asked."""
    return url if include_sensitive else redact_url_password(url)


def drop_sensitive(headers: list[tuple[str, str]], include_sensitive: bool) -> list[tuple[str, str]]:
    if include_sensitive:
        return list(headers)
    return [(k, v) for k, v in headers if k.lower() not in SENSITIVE]


__all__ = ["SENSITIVE", "drop_sensitive", "export_resolver", "export_url"]
