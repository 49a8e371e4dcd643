"""Passwords in the system keyring, never in a file.

``SecretStore`` remembers, looks up and forgets credentials under typed keys (a frozen
``CredentialKey``: kind, scheme, host, port, realm). The password lives only in the keyring; a
small index file in the data directory lists which keys exist (and their user names) so the
settings page can show them. When no keyring works — no Secret Service on the bus
(``NoKeyringError``), a keyring that cannot be opened (``InitError``), a locked one
(``KeyringLocked``), or a configured backend that would write plaintext — every call raises
``KeyringUnavailable`` with a message for the user, and nothing is written anywhere.

``SecretStore`` is synchronous: the app runs its calls on ``app.worker.Worker`` (a keyring call is
D-Bus I/O that may wait for an unlock prompt), never on the GUI thread.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.settings import write_state_file

SERVICE = "Courier"
INDEX_FILE = "credentials.json"
_PROBE_ACCOUNT = "courier-keyring-probe"


class KeyringUnavailable(Exception):
    """No usable keyring; ``str(exc)`` tells the user why and that nothing will be remembered."""


@dataclass(frozen=True, slots=True)
class CredentialKey:
    """What a credential is for. ``kind``: "server", "proxy" or "client-cert"."""

    kind: str
    scheme: str
    host: str
    port: int
    realm: str = ""

    @property
    def account(self) -> str:
        """The keyring's user-name field: readable in Seahorse, unique per key."""
        realm = f" realm={json.dumps(self.realm)}" if self.realm else ""
        return f"{self.kind} {self.scheme}://{self.host}:{self.port}{realm}"

    @classmethod
    def for_configured_proxy(cls, proxy_type: str, host: str, port: int) -> CredentialKey:
        """The manual proxy's password from the settings page (realm-less)."""
        return cls("proxy", proxy_type, host, port, "")

    @classmethod
    def for_client_certificate(cls, host: str, path: str) -> CredentialKey:
        """The password of a PKCS#12 file offered to ``host``."""
        return cls("client-cert", "pkcs12", host, 0, path)

    def describe(self) -> str:
        what = {"server": "Server", "proxy": "Proxy", "client-cert": "Client certificate"}.get(self.kind, self.kind)
        realm = f" — “{self.realm}”" if self.realm else ""
        return f"{what} {self.scheme}://{self.host}:{self.port}{realm}"


@dataclass(frozen=True, slots=True)
class Credential:
    user: str
    password: str

    def __repr__(self) -> str:  # never print a password by accident
        return f"Credential(user={self.user!r}, password=***)"


@dataclass(frozen=True, slots=True)
class RememberedEntry:
    key: CredentialKey
    user: str


def _insecure_reason(backend: Any) -> str | None:
    """Why ``backend`` must not hold passwords, or None when it is a real keyring."""
    from keyring.backends import fail, null

    module = type(backend).__module__
    if isinstance(backend, fail.Keyring):
        return ("No system keyring is available (no Secret Service such as GNOME Keyring or KWallet "
                "answers on the session bus).")
    if isinstance(backend, null.Keyring):
        return "The keyring is switched off (the “null” keyring backend is configured)."
    if module.startswith("keyrings.alt"):
        return (f"The configured keyring backend ({type(backend).__name__}) keeps passwords in a file "
                "that is not protected; Courier does not use it.")
    return None


def resolve_backend(backend: Any) -> Any:
    """The backend to use: a chain is reduced to its best secure member; raises KeyringUnavailable."""
    from keyring.backends.chainer import ChainerBackend

    if isinstance(backend, ChainerBackend):
        secure = [b for b in backend.backends if _insecure_reason(b) is None]
        if not secure:
            first = _insecure_reason(backend.backends[0]) if backend.backends else None
            raise KeyringUnavailable(_explain(first or "No system keyring is available."))
        return secure[0]
    reason = _insecure_reason(backend)
    if reason is not None:
        raise KeyringUnavailable(_explain(reason))
    return backend


def _explain(reason: str) -> str:
    return f"{reason} Passwords will not be remembered; nothing is written in plaintext."


def _map_keyring_error(exc: BaseException) -> KeyringUnavailable:
    from keyring.errors import InitError, KeyringLocked, NoKeyringError

    if isinstance(exc, NoKeyringError):
        return KeyringUnavailable(_explain("No system keyring is available (no Secret Service on the "
                                           "session bus)."))
    if isinstance(exc, KeyringLocked):
        return KeyringUnavailable(_explain("The system keyring is locked. Unlock it (log in to the "
                                           "desktop session or open your keyring manager) and try again."))
    if isinstance(exc, InitError):
        return KeyringUnavailable(_explain(f"The system keyring could not be opened ({exc})."))
    return KeyringUnavailable(_explain(f"The system keyring failed ({type(exc).__name__}: {exc})."))


class SecretStore:
    """Credentials in the keyring; the index of remembered keys in ``index_path``.

    ``backend``: a keyring backend (tests pass one); default: keyring's configured backend.
    Methods may block on D-Bus: call them on ``app.worker.Worker``, not on the GUI thread.
    """

    def __init__(self, index_path: Path, backend: Any = None) -> None:
        self.index_path = index_path
        self._backend_given = backend
        self._backend: Any = None
        self._lock = threading.Lock()
        self.index_problem: str | None = None  # set when a damaged index was set aside

    # -- the backend -----------------------------------------------------------------------
    def _keyring(self) -> Any:
        if self._backend is None:
            import keyring

            self._backend = resolve_backend(self._backend_given or keyring.get_keyring())
        return self._backend

    def check(self) -> None:
        """Raise ``KeyringUnavailable`` unless the keyring can be read (unlocking it if needed)."""
        self._call("get_password", SERVICE, _PROBE_ACCOUNT)

    def problem(self) -> str | None:
        """The message to show when the keyring does not work, else None."""
        try:
            self.check()
        except KeyringUnavailable as exc:
            return str(exc)
        return None

    def _call(self, method: str, *args: str) -> Any:
        from keyring.errors import KeyringError, PasswordDeleteError

        backend = self._keyring()
        try:
            return getattr(backend, method)(*args)
        except PasswordDeleteError:
            return None  # already gone
        except KeyringError as exc:
            raise _map_keyring_error(exc) from exc
        except Exception as exc:  # D-Bus errors the backend did not wrap: still no plaintext fallback
            raise _map_keyring_error(exc) from exc

    # -- credentials -----------------------------------------------------------------------
    def lookup(self, key: CredentialKey) -> Credential | None:
        raw = self._call("get_password", SERVICE, key.account)
        if raw is None:
            self._drop_from_index(key)  # deleted behind our back (e.g. in Seahorse)
            return None
        try:
            data = json.loads(raw)
            return Credential(str(data["user"]), str(data["password"]))
        except (ValueError, KeyError, TypeError):
            return None

    def lookup_first(self, keys: list[CredentialKey]) -> tuple[CredentialKey, Credential] | None:
        for key in keys:
            cred = self.lookup(key)
            if cred is not None:
                return key, cred
        return None

    def remember(self, key: CredentialKey, credential: Credential) -> None:
        payload = json.dumps({"user": credential.user, "password": credential.password})
        self._call("set_password", SERVICE, key.account, payload)
        with self._lock:
            entries = [e for e in self._read_index() if e.key != key]
            entries.append(RememberedEntry(key, credential.user))
            self._write_index(entries)

    def forget(self, key: CredentialKey) -> None:
        self._call("delete_password", SERVICE, key.account)
        self._drop_from_index(key)

    def remembered(self) -> list[RememberedEntry]:
        with self._lock:
            return self._read_index()

    # -- the index (names only, never passwords) -------------------------------------------
    def _drop_from_index(self, key: CredentialKey) -> None:
        with self._lock:
            entries = self._read_index()
            kept = [e for e in entries if e.key != key]
            if len(kept) != len(entries):
                self._write_index(kept)

    def _read_index(self) -> list[RememberedEntry]:
        try:
            data = json.loads(self.index_path.read_bytes())
            return [RememberedEntry(CredentialKey(**e["key"]), str(e["user"])) for e in data["entries"]]
        except FileNotFoundError:
            return []
        except OSError:
            return []  # unreadable for now: it only hides names; the secrets stay in the keyring
        except (ValueError, KeyError, TypeError) as exc:  # damaged: keep it aside, never overwrite it
            aside = self.index_path.with_name(f"{self.index_path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
            try:
                os.replace(self.index_path, aside)
            except OSError:
                return []
            self.index_problem = (f"The list of remembered passwords ({self.index_path.name}) could not be read "
                                  f"({type(exc).__name__}); it was kept as {aside.name}. The passwords themselves "
                                  "are still in the keyring.")
            return []

    def _write_index(self, entries: list[RememberedEntry]) -> None:
        data = {"version": 1, "entries": [{"key": asdict(e.key), "user": e.user} for e in entries]}
        write_state_file(self.index_path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
