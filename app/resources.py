"""Where the icon and the desktop file live: ``resources/`` next to the ``app`` package.

The same rule holds in a checkout, an editable install and the PyInstaller bundle (which puts
``resources/`` beside ``app/`` in its ``_internal`` folder). ``COURIER_RESOURCES`` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path

ICON_SVG = "courier.svg"
ICON_PNG = "courier.png"
DESKTOP_FILE = "courier.desktop"
ALL = (ICON_SVG, ICON_PNG, DESKTOP_FILE)


def resource_dir() -> Path:
    override = os.environ.get("COURIER_RESOURCES")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(name: str) -> Path:
    return resource_dir() / name


def missing_resources() -> list[str]:
    return [name for name in ALL if not resource_path(name).is_file()]


def set_app_icon(app: object) -> None:
    """Give the application its icon and desktop-file name (for task bars and docks)."""
    from PySide6.QtGui import QGuiApplication, QIcon

    assert isinstance(app, QGuiApplication)
    icon = QIcon()
    for name in (ICON_SVG, ICON_PNG):
        path = resource_path(name)
        if path.is_file():
            icon.addFile(str(path))
    if not icon.isNull():
        app.setWindowIcon(icon)
    app.setDesktopFileName("courier")
