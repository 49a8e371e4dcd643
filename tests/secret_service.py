"""A real Secret Service for tests: a private D-Bus session bus and gnome-keyring-daemon in a temp dir.

Nothing touches the user's own keyring: HOME, XDG_DATA_HOME and XDG_RUNTIME_DIR point into the
temp dir, and only ``DBUS_SESSION_BUS_ADDRESS`` of this process (or a child's environment) is set.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class SecretService:
    address: str
    env: dict[str, str]  # environment for child processes that should use this keyring

    def backend(self):  # type: ignore[no-untyped-def]
        from keyring.backends.SecretService import Keyring

        return Keyring()


def available() -> str | None:
    """None when the daemons exist, else why not (a reason a user would accept for a skip)."""
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/setup.sh test installs it)"
    return None


@contextmanager
def secret_service() -> Iterator[SecretService]:
    """The daemons as ``tests.keyring_service.KeyringService`` starts them (one recipe for all tests)."""
    from tests.keyring_service import KeyringService

    service = KeyringService().start()
    try:
        yield SecretService(service.address, {**os.environ, **service.env})
    finally:
        service.cleanup()


def _fixture():  # type: ignore[no-untyped-def]
    import pytest

    @pytest.fixture(scope="module")
    def secret_service_env():  # type: ignore[no-untyped-def]
        """A running Secret Service; the test process talks to it while the fixture lives."""
        reason = available()
        if reason:  # scripts/setup.sh installs both daemons: a missing one is a broken set-up
            pytest.fail(f"no Secret Service for the keyring tests: {reason} "
                        "(scripts/setup.sh test installs gnome-keyring and dbus)")
        old = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        with secret_service() as service:
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = service.address
            try:
                yield service
            finally:
                if old is None:
                    os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
                else:
                    os.environ["DBUS_SESSION_BUS_ADDRESS"] = old

    return secret_service_env


secret_service_env = _fixture()
