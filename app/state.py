"""Window state that comes back after a restart: geometry, splitter sizes, open request tabs and
the last request, list columns. A small JSON file in the app's data directory, written atomically
(temp file + fsync + rename). Secrets are never in it: ``RequestSpec.to_dict`` leaves them out.

``data_dir`` is the same directory as ``app.settings.data_dir`` (``$COURIER_DATA_DIR`` or the
platform's); it is repeated here because importing ``app.settings`` pulls in the collections
package and the whole network core, which the window must not wait for at start-up.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

STATE_FILE = "window-state.json"
VERSION = 1


def data_dir() -> Path:
    override = os.environ.get("COURIER_DATA_DIR")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("Courier", appauthor=False))


def write_state_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def state_path() -> Path:
    return data_dir() / STATE_FILE


def load_state(path: Path | None = None) -> dict[str, Any]:
    """The saved state, or {} when there is none or it is unreadable (a broken file is set aside)."""
    p = path or state_path()
    try:
        raw = p.read_bytes()
    except OSError:
        return {}
    import json  # only when there is a file: a first start does without it

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
    import json

    data = dict(state, version=VERSION)
    write_state_file(path or state_path(), json.dumps(data, indent=1, sort_keys=True).encode())
