"""Courier's Qt-free network core: QNetworkAccessManager's model on asyncio + httpx."""

__version__ = "0.1.0"

from core.body import Body, BytesBody, FileBody, IteratorBody, MultipartBody, Part
from core.errors import CourierError, NetworkError
from core.manager import NetworkManager
from core.reply import Reply
from core.request import Attribute, CacheLoadControl, Operation, RedirectPolicy, Request

__all__ = [
    "Attribute", "Body", "BytesBody", "CacheLoadControl", "CourierError", "FileBody", "IteratorBody",
    "MultipartBody", "NetworkError", "NetworkManager", "Operation", "Part", "RedirectPolicy", "Reply",
    "Request", "__version__",
]
