"""Courier's Qt-free network core: QNetworkAccessManager's model on asyncio + httpx."""

__version__ = "0.1.0"

from core.auth import AuthenticationQuestion, Credentials, ProxyAuthenticationQuestion
from core.body import Body, BytesBody, FileBody, IteratorBody, MultipartBody, Part
from core.cache import DiskCache
from core.cookie_store import SqliteCookieStore
from core.cookies import Cookie, CookieJar
from core.errors import CourierError, NetworkError
from core.hsts import HstsPolicy
from core.manager import NetworkManager
from core.proxy import (
    EnvironmentProxyFactory,
    PacEvaluator,
    PacProxyFactory,
    Proxy,
    ProxyFactory,
    ProxyQuery,
    ProxyRule,
    ProxyType,
    RuleProxyFactory,
)
from core.redirects import RedirectQuestion
from core.reply import Reply
from core.request import Attribute, CacheLoadControl, Operation, RedirectPolicy, Request

__all__ = [
    "Attribute", "AuthenticationQuestion", "Body", "BytesBody", "CacheLoadControl", "Cookie", "CookieJar",
    "CourierError", "Credentials", "DiskCache", "EnvironmentProxyFactory", "FileBody", "HstsPolicy",
    "IteratorBody", "MultipartBody", "NetworkError", "NetworkManager", "Operation", "PacEvaluator",
    "PacProxyFactory", "Part", "Proxy", "ProxyAuthenticationQuestion", "ProxyFactory", "ProxyQuery",
    "ProxyRule", "ProxyType", "RedirectPolicy", "RedirectQuestion", "Reply", "Request", "RuleProxyFactory",
    "SqliteCookieStore", "__version__",
]
