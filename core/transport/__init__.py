"""The transport: per-origin connection pools with our own queue, under httpx's request/response API."""

from core.transport.pool import OriginKey, Transport

__all__ = ["OriginKey", "Transport"]
