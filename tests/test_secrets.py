"""Passwords go into a real Secret Service (gnome-keyring on a private bus), never into a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.secrets import Credential, CredentialKey, KeyringUnavailable, SecretStore
from tests.keyring_service import KeyringService

KEY = CredentialKey("server", "https", "127.0.0.1", 8443, "Courier test realm")


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_socket() and needle in path.read_bytes():
            hits.append(path)
    return hits


def test_remember_lookup_forget_in_a_real_secret_service(keyring_service: KeyringService, tmp_path: Path) -> None:
    secret = "s3cret-" + tmp_path.name
    store = SecretStore(tmp_path / "data" / "credentials.json", keyring_service.backend())
    assert store.problem() is None
    assert store.lookup(KEY) is None
    store.remember(KEY, Credential("alice", secret))
    # A new store (as after a restart) finds it through the Secret Service, not through memory.
    again = SecretStore(tmp_path / "data" / "credentials.json", keyring_service.backend())
    assert again.lookup(KEY) == Credential("alice", secret)
    assert [(e.key, e.user) for e in again.remembered()] == [(KEY, "alice")]
    # The password is neither in our files nor in plaintext in the keyring's own files.
    assert _files_containing(tmp_path, secret.encode()) == []
    assert _files_containing(keyring_service.home, secret.encode()) == []
    again.forget(KEY)
    assert again.lookup(KEY) is None
    assert again.remembered() == []


def test_no_bus_means_no_keyring_and_nothing_written(no_keyring: object, tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "credentials.json")
    message = store.problem()
    assert message is not None and "No system keyring" in message and "plaintext" in message
    with pytest.raises(KeyringUnavailable):
        store.remember(KEY, Credential("alice", "never-written"))
    assert _files_containing(tmp_path, b"never-written") == []
    assert not (tmp_path / "credentials.json").exists()


def test_a_locked_keyring_is_reported_and_nothing_is_written(keyring_service: KeyringService, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    store = SecretStore(tmp_path / "credentials.json", keyring_service.backend())
    store.remember(KEY, Credential("alice", "first"))
    # Restart the daemon with another password: the existing login keyring stays locked.
    keyring_service.stop()
    keyring_service.start(password="not-the-same-password")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", keyring_service.address)
    locked = SecretStore(tmp_path / "credentials.json", keyring_service.backend())
    message = locked.problem()
    assert message is not None and "locked" in message
    with pytest.raises(KeyringUnavailable, match="locked"):
        locked.remember(KEY, Credential("alice", "second-never-written"))
    assert _files_containing(tmp_path, b"second-never-written") == []
    assert _files_containing(keyring_service.home, b"second-never-written") == []


def test_plaintext_and_null_backends_are_refused(tmp_path: Path) -> None:
    from keyring.backends import null

    store = SecretStore(tmp_path / "credentials.json", null.Keyring())
    message = store.problem()
    assert message is not None and "switched off" in message
    with pytest.raises(KeyringUnavailable):
        store.remember(KEY, Credential("alice", "x"))
