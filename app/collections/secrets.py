"""Secret variable values: in the system keyring, never in a file.

``SecretStore`` is the small interface collections use; ``KeyringSecrets`` talks to the real
keyring (the Secret Service on Linux), ``MemorySecrets`` keeps values for this session only (the
"don't remember" choice), ``EnvironmentSecrets`` reads ``COURIER_SECRET_<NAME>`` for headless runs
in CI. Keys are ``<collection id>/<scope>/<name>`` with scope ``collection`` or ``env:<name>``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Protocol

SERVICE = "courier"


class SecretsUnavailable(RuntimeError):
    """No working keyring: secrets can be neither read nor stored (never a plaintext fallback)."""


class SecretStore(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...
    def delete(self, key: str) -> None: ...


def secret_key(collection_id: str, scope: str, name: str) -> str:
    return f"{collection_id or 'unnamed'}/{scope}/{name}"


def env_scope(environment_name: str) -> str:
    return f"env:{environment_name}"


COLLECTION_SCOPE = "collection"


def _explain(exc: Exception) -> SecretsUnavailable:
    kind = type(exc).__name__
    if kind == "NoKeyringError":
        why = "no keyring service is running (on Linux: gnome-keyring or KWallet over D-Bus)"
    elif kind == "KeyringLocked":
        why = "the keyring is locked"
    elif kind == "InitError":
        why = "the keyring could not be opened (unlocking was refused or dismissed)"
    else:
        why = f"{kind}: {exc}"
    return SecretsUnavailable(f"The system keyring is not available: {why}. Secret variables cannot be "
                              "read or stored; Courier never writes them to a file instead.")


class KeyringSecrets:
    """The system keyring through the ``keyring`` package; ``backend`` may be given explicitly."""

    def __init__(self, service: str = SERVICE, backend: Any = None) -> None:
        self.service = service
        self._backend = backend

    def _kr(self) -> Any:
        if self._backend is not None:
            return self._backend
        import keyring

        return keyring.get_keyring()

    def get(self, key: str) -> str | None:
        try:
            value = self._kr().get_password(self.service, key)
        except Exception as exc:
            raise _explain(exc) from exc
        return value if isinstance(value, str) else None

    def set(self, key: str, value: str) -> None:
        try:
            self._kr().set_password(self.service, key, value)
        except Exception as exc:
            raise _explain(exc) from exc

    def delete(self, key: str) -> None:
        try:
            self._kr().delete_password(self.service, key)
        except Exception as exc:
            if type(exc).__name__ == "PasswordDeleteError":
                return  # already gone
            raise _explain(exc) from exc


class MemorySecrets:
    """Values for this session only."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self.values: dict[str, str] = dict(values or {})

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


class EnvironmentSecrets:
    """Read-only: ``COURIER_SECRET_<NAME>`` (name upper-cased, non-alphanumerics as ``_``)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    @staticmethod
    def variable_for(key: str) -> str:
        name = key.rsplit("/", 1)[-1]
        return "COURIER_SECRET_" + "".join(c if c.isalnum() else "_" for c in name).upper()

    def get(self, key: str) -> str | None:
        return self.environ.get(self.variable_for(key))

    def set(self, key: str, value: str) -> None:
        raise SecretsUnavailable("environment secrets are read-only")

    def delete(self, key: str) -> None:
        raise SecretsUnavailable("environment secrets are read-only")


class ChainSecrets:
    """Reads from the first store that has a value; an unavailable store is skipped and noted."""

    def __init__(self, *stores: SecretStore) -> None:
        self.stores = stores
        self.unavailable: list[str] = []

    def get(self, key: str) -> str | None:
        for store in self.stores:
            try:
                value = store.get(key)
            except SecretsUnavailable as exc:
                if str(exc) not in self.unavailable:
                    self.unavailable.append(str(exc))
                continue
            if value is not None:
                return value
        return None

    def set(self, key: str, value: str) -> None:
        self.stores[0].set(key, value)

    def delete(self, key: str) -> None:
        self.stores[0].delete(key)
