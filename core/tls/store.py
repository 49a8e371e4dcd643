"""Certificate exceptions: the user's decisions to accept a certificate despite its errors.

A decision is keyed by (host, port, SHA-256 of the leaf certificate) and covers exactly the errors
the user saw (deliberate difference 6: QNAM applies ``ignoreSslErrors`` to a whole connection
pool). Decisions live for the session, or are remembered in an atomically written JSON file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.tls.errors import CertificateError, SslError

FILE_NAME = "tls-exceptions.json"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class ExceptionKey:
    """Where a decision applies: this host and port, this exact certificate."""

    host: str
    port: int
    sha256: str

    @classmethod
    def of(cls, host: str, port: int, sha256: str) -> ExceptionKey:
        return cls(host.strip("[]").rstrip(".").lower(), int(port), sha256.replace(":", "").lower())


ErrorId = tuple[SslError, str]  # (error, SHA-256 of the certificate it is about)


@dataclass(frozen=True, slots=True)
class CertificateException:
    key: ExceptionKey
    errors: frozenset[ErrorId]
    remembered: bool = False
    subject: str = ""
    added: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def covers(self, errors: Iterable[CertificateError]) -> bool:
        return all((e.error, e.fingerprint) in self.errors for e in errors)

    def error_names(self) -> list[str]:
        return sorted({e.name for e, _ in self.errors})


def error_ids(errors: Iterable[CertificateError]) -> frozenset[ErrorId]:
    return frozenset((e.error, e.fingerprint) for e in errors)


class ExceptionStore:
    """Session decisions in memory; remembered ones also in ``directory/tls-exceptions.json``.

    A file that cannot be read is moved aside (never overwritten) and ``load_error`` says why.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(directory) / FILE_NAME if directory is not None else None
        self._items: dict[ExceptionKey, CertificateException] = {}
        self._origins: set[tuple[str, int]] = set()
        self.load_error: str | None = None
        if self.path is not None:
            self._load()
            self._changed()

    # -- queries ---------------------------------------------------------------------------
    def get(self, key: ExceptionKey) -> CertificateException | None:
        return self._items.get(key)

    def allows(self, key: ExceptionKey, errors: Iterable[CertificateError]) -> bool:
        item = self._items.get(key)
        return item is not None and item.covers(errors)

    def has_host(self, host: str, port: int) -> bool:
        """Any decision for ``host:port`` (asked for every https request: a set look-up)."""
        return bool(self._origins) and (host.strip("[]").rstrip(".").lower(), port) in self._origins

    def _changed(self) -> None:
        self._origins = {(k.host, k.port) for k in self._items}

    def entries(self) -> list[CertificateException]:
        return sorted(self._items.values(), key=lambda e: (e.key.host, e.key.port, e.added))

    # -- changes ---------------------------------------------------------------------------
    def add(self, key: ExceptionKey, errors: Iterable[CertificateError], remember: bool = False,
            subject: str = "") -> CertificateException:
        """Accept ``errors`` for ``key``; errors already accepted for that key are kept."""
        old = self._items.get(key)
        ids = error_ids(errors) | (old.errors if old is not None else frozenset())
        item = CertificateException(key, ids, remember or (old is not None and old.remembered), subject)
        self._items[key] = item
        self._changed()
        if item.remembered:
            self._save()
        return item

    def revoke(self, key: ExceptionKey) -> bool:
        item = self._items.pop(key, None)
        self._changed()
        if item is not None and item.remembered:
            self._save()
        return item is not None

    def clear_session(self) -> None:
        """Forget the decisions that were kept only for this session."""
        self._items = {k: v for k, v in self._items.items() if v.remembered}
        self._changed()

    # -- the file --------------------------------------------------------------------------
    def _load(self) -> None:
        assert self.path is not None
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            self.load_error = f"Cannot read {self.path}: {exc}"
            return
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
                raise ValueError(f"unknown format version {data.get('version') if isinstance(data, dict) else None!r}")
            for entry in data["exceptions"]:
                key = ExceptionKey.of(str(entry["host"]), int(entry["port"]), str(entry["sha256"]))
                ids = frozenset((SslError[str(name)], str(fp)) for name, fp in entry["errors"])
                self._items[key] = CertificateException(key, ids, True, str(entry.get("subject", "")),
                                                        str(entry.get("added", "")))
        except (ValueError, KeyError, TypeError) as exc:
            self._items.clear()
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            aside = self.path.with_name(f"{self.path.name}.unreadable-{stamp}")
            try:
                os.replace(self.path, aside)
                kept = f"kept as {aside.name}"
            except OSError:
                kept = "left in place"
            self.load_error = f"Remembered certificate exceptions could not be read ({exc}); the file was {kept}"

    def _save(self) -> None:
        if self.path is None:
            return
        entries = [{"host": e.key.host, "port": e.key.port, "sha256": e.key.sha256,
                    "errors": sorted([err.name, fp] for err, fp in e.errors),
                    "subject": e.subject, "added": e.added}
                   for e in self.entries() if e.remembered]
        text = json.dumps({"version": FORMAT_VERSION, "exceptions": entries}, indent=1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{FILE_NAME}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
