"""Window state that comes back after a restart: geometry, splitter sizes, open request tabs and
the last request, list columns. A small JSON file in the app's data directory, written atomically
(temp file + fsync + rename). Secrets are never in it: ``RequestSpec.to_dict`` leaves them out.

The data directory is ``$COURIER_DATA_DIR`` when set (tests, portable installs), else the
platform's user data directory for Courier.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

STATE_FILE = "window-state.json"
VERSION = 1


def data_dir() -> Path:
    env = os.environ.get("COURIER_DATA_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("courier", "Courier"))


def state_path() -> Path:
    return data_dir() / STATE_FILE


def load_state(path: Path | None = None) -> dict[str, Any]:
    """The saved state, or {} when there is none or it is unreadable (a broken file is set aside)."""
    p = path or state_path()
    try:
        raw = p.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        try:
            p.replace(p.with_suffix(".broken.json"))  # keep it for the user, start fresh
        except OSError:
            pass
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return {}
    return data


def save_state(state: dict[str, Any], path: Path | None = None) -> None:
    p = path or state_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    data = dict(state, version=VERSION)
    fd, tmp = tempfile.mkstemp(prefix=".window-state-", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
