"""A real Secret Service for tests: a private D-Bus session bus and gnome-keyring-daemon in a temp dir.

Nothing touches the user's own keyring: HOME, XDG_DATA_HOME and XDG_RUNTIME_DIR point into the
temp dir, and only ``DBUS_SESSION_BUS_ADDRESS`` of this process (or a child's environment) is set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
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
    tmp = tempfile.mkdtemp(prefix="courier-keyring-")
    for sub in ("home", "data", "runtime"):
        os.makedirs(os.path.join(tmp, sub), mode=0o700)
    env = dict(os.environ, HOME=f"{tmp}/home", XDG_DATA_HOME=f"{tmp}/data", XDG_RUNTIME_DIR=f"{tmp}/runtime")
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1",
                            f"--address=unix:path={tmp}/bus"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True, env=env)
    keyring_proc: subprocess.Popen[bytes] | None = None
    try:
        assert bus.stdout is not None
        address = bus.stdout.readline().strip()
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        keyring_proc = subprocess.Popen(["gnome-keyring-daemon", "--foreground", "--unlock",
                                         "--components=secrets"], stdin=subprocess.PIPE,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        assert keyring_proc.stdin is not None
        keyring_proc.stdin.write(b"courier-test\n")
        keyring_proc.stdin.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            out = subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
                                  "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner",
                                  "string:org.freedesktop.secrets"], env=env, capture_output=True, text=True)
            if "boolean true" in out.stdout:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("gnome-keyring-daemon did not appear on the bus")
        yield SecretService(address, env)
    finally:
        for proc in (keyring_proc, bus):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        if bus.stdout is not None:
            bus.stdout.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _fixture():  # type: ignore[no-untyped-def]
    import pytest

    @pytest.fixture(scope="module")
    def secret_service_env():  # type: ignore[no-untyped-def]
        """A running Secret Service; the test process talks to it while the fixture lives."""
        reason = available()
        if reason:
            pytest.skip(reason)
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
