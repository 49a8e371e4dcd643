"""Per-reply timings: queued, DNS, connect, TLS, request sent, waiting (TTFB), download.

Two records, both from ``time.perf_counter()`` with one wall-clock anchor per reply: a
``ConnectionTimings`` per connection (absent phases on a reused connection: ``reused=True``), and a
``HopTimings`` per request/redirect hop. Sources: httpcore-compatible trace events emitted by our
transport plus DNS timed by our own resolver.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class ConnectionTimings:
    dns_start: float | None = None
    dns_end: float | None = None
    connect_start: float | None = None
    connect_end: float | None = None
    tls_start: float | None = None
    tls_end: float | None = None
    reused: bool = False
    remote_address: str | None = None
    http_version: str | None = None


@dataclass(slots=True)
class HopTimings:
    url: str = ""
    start: float = field(default_factory=time.perf_counter)
    queued_end: float | None = None  # got a connection slot
    connection: ConnectionTimings = field(default_factory=ConnectionTimings)
    request_start: float | None = None
    request_end: float | None = None  # request fully sent
    response_start: float | None = None  # first byte of the response headers (TTFB)
    response_end: float | None = None  # body complete
    status: int | None = None
    from_cache: bool = False  # answered by the HTTP cache (no connection used)

    def phases(self) -> dict[str, float | None]:
        """Durations in seconds, Chrome's phase names; None where a phase did not happen."""

        def d(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else max(0.0, b - a)

        c = self.connection
        return {
            "queued": d(self.start, self.queued_end),
            "dns": d(c.dns_start, c.dns_end),
            "connect": d(c.connect_start, c.connect_end),
            "tls": d(c.tls_start, c.tls_end),
            "sent": d(self.request_start, self.request_end),
            "waiting": d(self.request_end, self.response_start),
            "download": d(self.response_start, self.response_end),
        }


@dataclass(slots=True)
class Timings:
    wall_start: float = field(default_factory=time.time)
    start: float = field(default_factory=time.perf_counter)
    hops: list[HopTimings] = field(default_factory=list)
    end: float | None = None

    def new_hop(self, url: str) -> HopTimings:
        hop = HopTimings(url=url)
        self.hops.append(hop)
        return hop

    @property
    def total(self) -> float | None:
        return None if self.end is None else self.end - self.start

    def to_wall(self, t: float) -> float:
        return self.wall_start + (t - self.start)
