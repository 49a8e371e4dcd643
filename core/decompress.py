"""Transparent decompression with QNAM's decompression-bomb check (reference E1–E5, D17).

Above ``threshold`` decompressed bytes the ratio to the compressed input is checked: 40:1 for
gzip/deflate, 100:1 for br/zstd. httpx alone would inflate a 1 GiB bomb in full.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Protocol

from core.errors import CourierError, NetworkError

SUPPORTED = ("zstd", "br", "gzip", "deflate")
ACCEPT_ENCODING = "zstd, br, gzip, deflate"
DEFAULT_THRESHOLD = 10 * 1024 * 1024


STEP = 1024 * 1024  # decompressed bytes produced per step, so a bomb is caught early


class _Decoder(Protocol):
    def steps(self, data: bytes) -> Iterator[bytes]:
        """Decompress ``data`` in pieces of at most about ``STEP`` bytes."""
        ...

    def flush(self) -> Iterator[bytes]: ...


class _Zlib:
    def __init__(self, deflate: bool) -> None:
        self._deflate = deflate
        self._first = True
        self._d = zlib.decompressobj(zlib.MAX_WBITS | 32 if not deflate else zlib.MAX_WBITS)

    def steps(self, data: bytes) -> Iterator[bytes]:
        if self._deflate and self._first and data:
            self._first = False
            probe = zlib.decompressobj(zlib.MAX_WBITS)
            try:
                probe.decompress(data[:64], 1)
            except zlib.error:
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate without zlib wrapper
        while data:
            out = self._d.decompress(data, STEP)
            data = self._d.unconsumed_tail
            if out:
                yield out
            if self._d.eof:
                rest = self._d.unused_data
                if self._deflate or not rest:
                    return
                # RFC 1952 §2.2: a gzip file may hold several members, one after another.
                self._d = zlib.decompressobj(zlib.MAX_WBITS | 32)
                data = rest

    def flush(self) -> Iterator[bytes]:
        out = self._d.flush()
        if out:
            yield out


class _Brotli:
    def __init__(self) -> None:
        import brotli

        self._d = brotli.Decompressor()

    def steps(self, data: bytes) -> Iterator[bytes]:
        # brotli keeps output beyond the limit inside; drain it with empty input until it is empty
        # (can_accept_more_data() alone turns True while output is still pending).
        out: bytes = self._d.process(data, output_buffer_limit=STEP)
        while out:
            yield out
            out = self._d.process(b"", output_buffer_limit=STEP)

    def flush(self) -> Iterator[bytes]:
        return iter(())


class _Zstd:
    """zstandard's decompressobj has no output limit: feed it small input slices instead
    (a zstd RLE block turns 4 bytes into 128 KiB, so 256 input bytes make at most ~8 MiB)."""

    SLICE = 256

    def __init__(self) -> None:
        import zstandard

        self._d = zstandard.ZstdDecompressor().decompressobj()
        self._slice = self.SLICE  # start small; grows while the ratio looks ordinary

    def steps(self, data: bytes) -> Iterator[bytes]:
        view = memoryview(data)
        while view:
            part, view = view[: self._slice], view[self._slice:]
            out: bytes = self._d.decompress(part.tobytes())
            # Adapt: shrink the slice while the ratio is high, grow it back for ordinary data.
            if len(out) > 64 * len(part):
                self._slice = self.SLICE
            elif len(out) < 16 * len(part):
                self._slice = min(64 * 1024, self._slice * 2)
            if out:
                yield out

    def flush(self) -> Iterator[bytes]:
        return iter(())


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

    def _pieces(self, data: bytes, level: int) -> Iterator[bytes]:
        if level == len(self._decoders):
            yield data
            return
        for piece in self._decoders[level].steps(data):
            yield from self._pieces(piece, level + 1)

    def _run(self, pieces: Iterator[bytes]) -> bytes:
        out = bytearray()
        try:
            for piece in pieces:
                self.decompressed += len(piece)
                self._check()
                out += piece
        except CourierError:
            raise
        except Exception as exc:
            raise CourierError(NetworkError.UnknownContentError, f"Decompression failed: {exc}") from exc
        return bytes(out)

    def decode(self, data: bytes) -> bytes:
        """Decompress one chunk; raises ``CourierError`` as soon as a bomb shows itself."""
        self.compressed += len(data)
        return self._run(self._pieces(data, 0))

    def flush(self) -> bytes:
        def tail() -> Iterator[bytes]:
            for level, d in enumerate(self._decoders):
                for piece in d.flush():
                    yield from self._pieces(piece, level + 1)

        return self._run(tail())
