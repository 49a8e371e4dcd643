"""The user's settings: typed, validated, persisted as a small JSON file in the data directory.

Secrets never go here: the manual proxy's password and PKCS#12 passwords live in the system
keyring (``app.secrets``); this file holds names only. A file that cannot be read is kept aside
(``settings.json.corrupt-<time>``) and the defaults are used, so nothing the user wrote is lost.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from app.collections.atomic import atomic_write, stale_entries
from core.request import RedirectPolicy
from core.tls.trust import TrustSource

FORMAT_VERSION = 1
SETTINGS_FILE = "settings.json"


def data_dir() -> Path:
    """Where app state lives: ``$COURIER_DATA_DIR`` or the platform's user data directory."""
    override = os.environ.get("COURIER_DATA_DIR")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("Courier", appauthor=False))


def http_cache_dir() -> Path:
    """The HTTP cache: ``$COURIER_DATA_DIR/http-cache``, or the platform's user cache directory."""
    override = os.environ.get("COURIER_DATA_DIR")
    if override:
        return Path(override) / "http-cache"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("Courier", appauthor=False)) / "http"


STALE_TEMP_PREFIXES = (".courier-tmp-", ".tls-exceptions.json.")  # atomic writes; core's TLS store


def remove_stale_temp_files(directory: Path, older_than: float = 60.0) -> list[str]:
    """Delete the temp files that saves interrupted by a crash left in ``directory`` (not below it).

    They never hold the only copy of anything (the rename had not happened); a file younger than
    ``older_than`` seconds may belong to a save in progress in another Courier and is kept.
    """
    removed = []
    for entry in stale_entries(directory, STALE_TEMP_PREFIXES, older_than):
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(entry.name)
    return removed


def write_state_file(path: Path, data: bytes) -> None:
    """Create the data directory if needed and replace ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data)


class ProxyMode(enum.StrEnum):
    NONE = "none"
    SYSTEM = "system"  # environment variables (http_proxy, https_proxy, all_proxy, no_proxy)
    MANUAL = "manual"
    PAC = "pac"


class ProxyType(enum.StrEnum):
    HTTP = "http"
    SOCKS5 = "socks5"


class CacheLoad(enum.StrEnum):
    ALWAYS_NETWORK = "always-network"
    PREFER_NETWORK = "prefer-network"
    PREFER_CACHE = "prefer-cache"
    ALWAYS_CACHE = "always-cache"


@dataclass
class ClientCertificate:
    """A client certificate offered to ``host``; a PKCS#12 password, if any, is in the keyring."""

    host: str
    cert_file: str
    key_file: str = ""


@dataclass
class Settings:
    proxy_mode: ProxyMode = ProxyMode.SYSTEM
    proxy_type: ProxyType = ProxyType.HTTP
    proxy_host: str = ""
    proxy_port: int = 8080
    proxy_user: str = ""  # the password is in the keyring (CredentialKey.for_configured_proxy)
    no_proxy: str = "localhost, 127.0.0.1, ::1"
    pac_url: str = ""
    redirect_policy: RedirectPolicy = RedirectPolicy.NO_LESS_SAFE
    max_redirects: int = 50
    hsts_enabled: bool = True
    keep_cookies: bool = True  # cookies with an expiry survive a restart (cookies.sqlite); session cookies never
    cache_enabled: bool = False
    cache_size_mb: int = 50
    cache_load_control: CacheLoad = CacheLoad.PREFER_NETWORK
    transfer_timeout: float = 30.0  # seconds of inactivity; 0 = none
    http2_allowed: bool = True
    trust_store: TrustSource = TrustSource.SYSTEM
    extra_ca_files: list[str] = field(default_factory=list)
    client_certificates: list[ClientCertificate] = field(default_factory=list)
    tls_keylog_enabled: bool = False
    tls_keylog_path: str = ""

    # -- persistence -----------------------------------------------------------------------
    def to_json(self) -> bytes:
        data: dict[str, Any] = {"version": FORMAT_VERSION}
        data.update(asdict(self))
        return (json.dumps(data, indent=2, sort_keys=True, default=_enum_value) + "\n").encode()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> tuple[Settings, list[str]]:
        """Build settings from parsed JSON; bad values fall back to defaults, with a note each."""
        out = cls()
        notes: list[str] = []
        for f in fields(cls):
            if f.name not in data:
                continue
            raw = data[f.name]
            try:
                setattr(out, f.name, _coerce(f.name, getattr(out, f.name), raw))
            except (TypeError, ValueError) as exc:
                notes.append(f"{f.name}: {exc}; using the default")
        return out, notes

    def validate(self) -> list[str]:
        """Problems a user must fix before the settings can be applied (empty when fine)."""
        problems = []
        if self.proxy_mode is ProxyMode.MANUAL and not self.proxy_host.strip():
            problems.append("Manual proxy: enter the proxy's host name.")
        if not 1 <= self.proxy_port <= 65535:
            problems.append("Manual proxy: the port must be between 1 and 65535.")
        if self.proxy_mode is ProxyMode.PAC and not self.pac_url.strip():
            problems.append("Automatic proxy configuration: enter the PAC file's URL.")
        if self.tls_keylog_enabled and not self.tls_keylog_path.strip():
            problems.append("TLS key log: choose the file to write the keys to.")
        if self.transfer_timeout < 0 or self.max_redirects < 0 or self.cache_size_mb < 0:
            problems.append("Timeouts, sizes and counts cannot be negative.")
        return problems


def _enum_value(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"cannot store {value!r}")


def _coerce(name: str, default: Any, raw: Any) -> Any:
    if isinstance(default, enum.Enum):
        return type(default)(raw)
    if isinstance(default, bool):
        if not isinstance(raw, bool):
            raise TypeError(f"expected true or false, got {raw!r}")
        return raw
    if isinstance(default, int):
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise TypeError(f"expected a whole number, got {raw!r}")
        return raw
    if isinstance(default, float):
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise TypeError(f"expected a number, got {raw!r}")
        return float(raw)
    if isinstance(default, str):
        if not isinstance(raw, str):
            raise TypeError(f"expected text, got {raw!r}")
        return raw
    if name == "extra_ca_files":
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise TypeError("expected a list of file names")
        return list(raw)
    if name == "client_certificates":
        if not isinstance(raw, list):
            raise TypeError("expected a list")
        return [ClientCertificate(host=str(c["host"]), cert_file=str(c["cert_file"]),
                                  key_file=str(c.get("key_file", ""))) for c in raw]
    raise TypeError(f"unknown setting {name}")


class SettingsFile:
    """Loads and saves ``Settings`` at ``path`` (atomic writes; a broken file is kept aside)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.notes: list[str] = []  # what went wrong while loading, in the user's words

    @classmethod
    def in_data_dir(cls, directory: Path | None = None) -> SettingsFile:
        return cls((directory or data_dir()) / SETTINGS_FILE)

    def load(self) -> Settings:
        self.notes = []
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return Settings()
        except OSError as exc:
            self.notes.append(f"Could not read {self.path}: {exc.strerror}; using the defaults.")
            return Settings()
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            kept = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            with contextlib.suppress(OSError):
                os.replace(self.path, kept)
            self.notes.append(f"{self.path} was not valid ({exc}); it was kept as {kept.name} "
                              "and the defaults are used.")
            return Settings()
        settings, notes = Settings.from_dict(data)
        self.notes.extend(notes)
        return settings

    def save(self, settings: Settings) -> None:
        write_state_file(self.path, settings.to_json())
