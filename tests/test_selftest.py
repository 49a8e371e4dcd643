"""``courier --self-test`` from the venv, as a user runs it: a subprocess with its own loopback servers,
with no keyring, with a real unlocked gnome-keyring, with a locked one, and with resources missing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.selftest import CHECKS
from tests.keyring_service import KeyringService
from tests.secret_service import available

ROOT = Path(__file__).resolve().parent.parent
NAMES = [name for name, _ in CHECKS]


def base_env(tmp_path: Path) -> dict[str, str]:
    """No display and no session bus: what a headless server offers."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "QT_QPA_PLATFORM",
                        "PYTHON_KEYRING_BACKEND", "COURIER_RESOURCES")}
    env.update(HOME=str(tmp_path), XDG_RUNTIME_DIR=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               PYTHONPATH=str(ROOT))
    return env


@contextmanager
def keyring_daemon(unlocked: bool = True) -> Iterator[KeyringService]:
    """gnome-keyring on a private bus; ``service.env`` points a child process at it."""
    service = KeyringService().start(**({} if unlocked else {"password": None}))
    try:
        yield service
    finally:
        service.cleanup()


def stored_items(service: KeyringService, attributes: dict[str, str]) -> list[str]:
    """Labels of the items in the keyring matching ``attributes``, read over its bus."""
    import secretstorage
    from jeepney.io.blocking import open_dbus_connection

    with open_dbus_connection(service.address) as conn:
        return [item.get_label() for item in secretstorage.search_items(conn, attributes)]


needs_secret_service = pytest.mark.skipif(available() is not None, reason=available() or "")


def self_test(cmd: list[str], env: dict[str, str]) -> tuple[int, dict[str, tuple[str, str]], str]:
    out = subprocess.run([*cmd, "--self-test"], env=env, capture_output=True, text=True, timeout=120)
    lines: dict[str, tuple[str, str]] = {}
    for line in out.stdout.splitlines():
        m = re.fullmatch(r"([a-z-]+): (ok|FAIL|unavailable|warn) \((.*)\)", line)
        if m:
            lines[m.group(1)] = (m.group(2), m.group(3))
    return out.returncode, lines, out.stdout + out.stderr


VENV = [sys.executable, "-m", "app"]


def test_every_check_passes_headless_and_a_missing_keyring_is_reported_not_failed(tmp_path: Path) -> None:
    rc, lines, text = self_test(VENV, base_env(tmp_path))
    assert rc == 0, text
    assert list(lines) == NAMES, text  # one line per check, in order
    for name in NAMES:
        if name != "keyring":
            assert lines[name][0] == "ok", text
    assert lines["keyring"][0] == "unavailable" and "DBUS_SESSION_BUS_ADDRESS" in lines["keyring"][1], text
    assert "TLSv1." in lines["tls"][1] and "unknown CA is refused" in lines["tls"][1]
    assert "gzip/br/zstd decoded" in lines["http"][1]
    assert "xcb" in lines["qt"][1] and "offscreen" in lines["qt"][1]
    assert re.search(r"self-test: passed \(\d+ checks\)", text)
    assert "Traceback" not in text


@needs_secret_service
def test_a_real_keyring_stores_reads_back_and_deletes_the_probe(tmp_path: Path) -> None:
    with keyring_daemon() as service:
        rc, lines, text = self_test(VENV, {**base_env(tmp_path), **service.env})
        assert rc == 0, text
        assert lines["keyring"] == ("ok", "SecretService.Keyring: stored, read back and deleted a secret"), text
        assert stored_items(service, {"service": "courier-self-test"}) == []  # nothing left behind


@needs_secret_service
def test_a_locked_keyring_is_unavailable_with_its_reason(tmp_path: Path) -> None:
    with keyring_daemon(unlocked=False) as service:
        rc, lines, text = self_test(VENV, {**base_env(tmp_path), **service.env})
    assert rc == 0, text
    status, reason = lines["keyring"]
    # Unlocking needs a prompt, which cannot show without a display: keyring says so one way or the other.
    assert status == "unavailable" and re.search(r"KeyringLocked|InitError: .*Prompt dismissed", reason), text


def test_missing_resources_fail_the_self_test(tmp_path: Path) -> None:
    empty = tmp_path / "no-resources"
    empty.mkdir()
    rc, lines, text = self_test(VENV, {**base_env(tmp_path), "COURIER_RESOURCES": str(empty)})
    assert rc == 1, text
    assert lines["resources"][0] == "FAIL" and "courier.svg" in lines["resources"][1], text
    assert lines["http"][0] == "ok"  # the other checks still ran
    assert "self-test: FAILED (resources)" in text
