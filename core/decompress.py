"""Transparent decompression with QNAM's decompression-bomb check (reference E1–E5, D17).

Above ``threshold`` decompressed bytes the ratio to the compressed input is checked: 40:1 for
gzip/deflate, 100:1 for br/zstd. httpx alone would inflate a 1 GiB bomb in full.
"""

from __future__ import annotations

import zlib
from typing import Protocol

from core.errors import CourierError, NetworkError

SUPPORTED = ("zstd", "br", "gzip", "deflate")
ACCEPT_ENCODING = "zstd, br, gzip, deflate"
DEFAULT_THRESHOLD = 10 * 1024 * 1024


class _Decoder(Protocol):
    def decode(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


class _Zlib:
    def __init__(self, deflate: bool) -> None:
        self._deflate = deflate
        self._first = True
        self._d = zlib.decompressobj(zlib.MAX_WBITS | 32 if not deflate else zlib.MAX_WBITS)

    def decode(self, data: bytes) -> bytes:
        if self._deflate and self._first and data:
            self._first = False
            try:
                return self._d.decompress(data, 1 << 20)
            except zlib.error:
                # raw deflate without zlib wrapper
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._d.decompress(data)

    def flush(self) -> bytes:
        return self._d.flush()


class _Brotli:
    def __init__(self) -> None:
        import brotli

        self._d = brotli.Decompressor()

    def decode(self, data: bytes) -> bytes:
        out: bytes = self._d.process(data)
        return out

    def flush(self) -> bytes:
        return b""


class _Zstd:
    def __init__(self) -> None:
        import zstandard

        self._d = zstandard.ZstdDecompressor().decompressobj()

    def decode(self, data: bytes) -> bytes:
        out: bytes = self._d.decompress(data)
        return out

    def flush(self) -> bytes:
        return b""


class Decompressor:
    """Decodes one or more stacked Content-Encodings chunk by chunk with a bomb check."""

    def __init__(self, encodings: list[str], threshold: int = DEFAULT_THRESHOLD) -> None:
        self._decoders: list[_Decoder] = []
        ratio = 40
        for enc in reversed(encodings):
            if enc in ("gzip", "x-gzip"):
                self._decoders.append(_Zlib(False))
            elif enc == "deflate":
                self._decoders.append(_Zlib(True))
            elif enc == "br":
                self._decoders.append(_Brotli())
                ratio = 100
            elif enc == "zstd":
                self._decoders.append(_Zstd())
                ratio = 100
        self._ratio = ratio
        self._threshold = threshold
        self.compressed = 0
        self.decompressed = 0

    @staticmethod
    def for_header(value: str | None, threshold: int = DEFAULT_THRESHOLD) -> Decompressor | None:
        if not value:
            return None
        encs = [e.strip().lower() for e in value.split(",") if e.strip()]
        encs = [e for e in encs if e != "identity"]
        if not encs or any(e not in (*SUPPORTED, "x-gzip") for e in encs):
            return None  # unknown encoding: passed through untouched (E4)
        return Decompressor(encs, threshold)

    def _check(self) -> None:
        if self._threshold >= 0 and self.decompressed > self._threshold and \
                self.decompressed > self._ratio * max(1, self.compressed):
            raise CourierError(
                NetworkError.UnknownContentError,
                "Decompression failed: The decompressed output exceeds the limits specified by "
                "QNetworkRequest::decompressedSafetyCheckThreshold()")

    def decode(self, data: bytes) -> bytes:
        self.compressed += len(data)
        try:
            for d in self._decoders:
                data = d.decode(data)
        except CourierError:
            raise
        except Exception as exc:
            raise CourierError(NetworkError.UnknownContentError, f"Decompression failed: {exc}") from exc
        self.decompressed += len(data)
        self._check()
        return data

    def flush(self) -> bytes:
        out = b""
        try:
            for d in self._decoders:
                out = d.decode(out) + d.flush() if out else d.flush()
        except Exception as exc:
            raise CourierError(NetworkError.UnknownContentError, f"Decompression failed: {exc}") from exc
        self.decompressed += len(out)
        self._check()
        return out
