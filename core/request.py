"""What to send: URL, method, headers and per-request attributes (QNetworkRequest's role)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any


class Operation(enum.Enum):
    __hash__ = object.__hash__  # looked up per request; Enum's hash is Python code (members are singletons)

    HEAD = "HEAD"
    GET = "GET"
    PUT = "PUT"
    POST = "POST"
    DELETE = "DELETE"
    CUSTOM = "CUSTOM"


class RedirectPolicy(enum.Enum):
    MANUAL = "manual"
    NO_LESS_SAFE = "no-less-safe"
    SAME_ORIGIN = "same-origin"
    USER_VERIFIED = "user-verified"


class CacheLoadControl(enum.Enum):
    ALWAYS_NETWORK = 0
    PREFER_NETWORK = 1
    PREFER_CACHE = 2
    ALWAYS_CACHE = 3


class Attribute(enum.Enum):
    """Per-request attributes. Unset attributes inherit the manager's setting (QNAM D2, T4)."""

    __hash__ = object.__hash__  # members are dict keys on every request; Enum's hash is Python code

    CUSTOM_VERB = "custom_verb"  # str: the verb of send_custom_request (QNAM CustomVerbAttribute)
    HTTP2_ALLOWED = "http2_allowed"  # bool, default True (D6)
    HTTP2_DIRECT = "http2_direct"  # bool: cleartext HTTP/2 with prior knowledge (D8)
    REDIRECT_POLICY = "redirect_policy"  # RedirectPolicy
    CACHE_LOAD_CONTROL = "cache_load_control"  # CacheLoadControl
    CACHE_SAVE_CONTROL = "cache_save_control"  # bool
    COOKIE_LOAD_AUTOMATIC = "cookie_load_automatic"  # bool
    COOKIE_SAVE_AUTOMATIC = "cookie_save_automatic"  # bool
    AUTHENTICATION_REUSE_AUTOMATIC = "auth_reuse_automatic"  # bool
    FULL_LOCAL_SERVER_NAME = "full_local_server_name"  # str: unix socket path (U3)
    STORE_BODY = "store_body"  # bool, default True: keep the body (spooled) on the reply
    TOTAL_TIMEOUT = "total_timeout"  # float seconds: hard limit for the whole request (Courier)
    DECOMPRESSED_SAFETY_THRESHOLD = "decompressed_safety_threshold"  # int bytes, -1 off (D17)
    TLS_NO_VERIFY = "tls_no_verify"  # bool: accept any certificate for this request (the UI says so loudly)


@dataclass(slots=True)
class Request:
    """A request. Headers keep the caller's order and case; names compare case-insensitively."""

    url: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    attributes: dict[Attribute, Any] = field(default_factory=dict)
    transfer_timeout: float = 0.0  # seconds of inactivity; 0 inherits the manager's (T4)
    maximum_redirects: int = 50  # D3
    peer_verify_name: str | None = None
    bearer_token: str | None = None

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None

    def has_header(self, name: str) -> bool:
        return self.header(name) is not None

    def set_header(self, name: str, value: str) -> None:
        low = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != low]
        self.headers.append((name, value))

    def remove_header(self, name: str) -> None:
        low = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != low]

    def attribute(self, attr: Attribute, default: Any = None) -> Any:
        return self.attributes.get(attr, default)

    def copy(self) -> Request:
        if type(self) is not Request:  # a subclass may add fields
            return replace(self, headers=list(self.headers), attributes=dict(self.attributes))
        return Request(self.url, list(self.headers), dict(self.attributes), self.transfer_timeout,
                       self.maximum_redirects, self.peer_verify_name, self.bearer_token)
