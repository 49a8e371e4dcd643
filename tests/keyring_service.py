"""A real Secret Service for tests: dbus-daemon + gnome-keyring-daemon in a private session.

Recipe (shared/reference/real-components.md): a private session bus whose printed address is the
readiness signal; gnome-keyring-daemon ``--foreground --unlock --components=secrets`` with the
password on stdin and HOME/XDG_* in a fresh temp dir (a leftover keyring made with another password
would be locked); ready when ``org.freedesktop.secrets`` has an owner on the bus. keyring caches
its backend, so tests use ``service.backend()`` (a SecretService backend that talks to this bus).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SECRETS_NAME = "org.freedesktop.secrets"


class KeyringService:
    def __init__(self) -> None:
        # A short path: unix socket paths are limited to ~107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="ck-"))
        self.home = self.root / "home"
        self.runtime = self.root / "run"
        self.home.mkdir()
        self.runtime.mkdir(mode=0o700)
        self.address = ""
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def env(self) -> dict[str, str]:
        return {"HOME": str(self.home), "XDG_DATA_HOME": str(self.home / ".local/share"),
                "XDG_CONFIG_HOME": str(self.home / ".config"), "XDG_RUNTIME_DIR": str(self.runtime),
                "DBUS_SESSION_BUS_ADDRESS": self.address}

    def start(self, password: str | None = "courier-test-keyring") -> KeyringService:
        """``password=None`` leaves the new login keyring locked: using it needs a prompt, which
        fails without a display (``KeyringLocked`` or ``InitError: Prompt dismissed``)."""
        bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1",
             f"--address=unix:path={self.root / 'bus'}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._procs.append(bus)
        assert bus.stdout is not None
        ready, _, _ = select.select([bus.stdout], [], [], 10)
        if not ready:
            self.stop()
            raise RuntimeError("dbus-daemon did not print its address within 10 s")
        self.address = bus.stdout.readline().decode().strip()
        env = {**os.environ, **self.env}
        daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", *(["--unlock"] if password is not None else []),
             "--components=secrets"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        self._procs.append(daemon)
        assert daemon.stdin is not None
        if password is not None:
            daemon.stdin.write(password.encode())
        daemon.stdin.close()
        self._wait_for_name(SECRETS_NAME, 10.0)
        return self

    def _wait_for_name(self, name: str, timeout: float) -> None:
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection

        dbus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus",
                           interface="org.freedesktop.DBus")
        deadline = time.monotonic() + timeout
        with open_dbus_connection(self.address) as conn:
            while time.monotonic() < deadline:
                reply = conn.send_and_get_reply(new_method_call(dbus, "NameHasOwner", "s", (name,)), timeout=2)
                if reply.body[0]:
                    return
                if any(p.poll() is not None for p in self._procs):
                    break
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{name} did not appear on the private bus")

    def backend(self) -> Any:
        """keyring's SecretService backend (it opens the bus named in DBUS_SESSION_BUS_ADDRESS)."""
        from keyring.backends import SecretService

        return SecretService.Keyring()

    def stop(self) -> None:
        for p in reversed(self._procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        self._procs.clear()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def keyring_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[KeyringService]:
    """A running, unlocked gnome-keyring on a private bus; this process talks to it."""
    if not (shutil.which("dbus-daemon") and shutil.which("gnome-keyring-daemon")):
        pytest.fail("dbus-daemon and gnome-keyring-daemon are needed: run scripts/setup.sh test")
    service = KeyringService().start()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", service.address)
    try:
        yield service
    finally:
        service.cleanup()


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """No session bus at all: keyring's own detection picks its ``fail`` backend."""
    import keyring
    import keyring.core

    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    previous = keyring.get_keyring()
    keyring.core.init_backend()
    try:
        yield keyring.get_keyring()
    finally:
        keyring.set_keyring(previous)
