"""Window state that comes back after a restart: geometry, splitter sizes, open request tabs and
the last request, list columns. A small JSON file in the app's data directory (``app.settings.
data_dir``: ``$COURIER_DATA_DIR`` or the platform's), written atomically. Secrets are never in it:
``RequestSpec.to_dict`` leaves them out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.settings import data_dir, write_state_file

STATE_FILE = "window-state.json"
VERSION = 1


def state_path() -> Path:
    return data_dir() / STATE_FILE


def load_state(path: Path | None = None) -> dict[str, Any]:
    """The saved state, or {} when there is none or it is unreadable (a broken file is set aside)."""
    p = path or state_path()
    try:
        raw = p.read_bytes()
    except OSError:
        return {}
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        try:
            p.replace(p.with_suffix(".broken.json"))  # keep it for the user, start fresh
        except OSError:
            pass
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return {}
    return data


def save_state(state: dict[str, Any], path: Path | None = None) -> None:
    data = dict(state, version=VERSION)
    write_state_file(path or state_path(), json.dumps(data, indent=1, sort_keys=True).encode())
