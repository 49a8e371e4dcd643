"""The palette follows the system's light or dark colour scheme, and changes with it live."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


def dark_palette() -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    base, window, text = QColor(30, 30, 32), QColor(45, 45, 48), QColor(225, 225, 225)
    for r, c in ((role.Window, window), (role.WindowText, text), (role.Base, base),
                 (role.AlternateBase, QColor(38, 38, 41)), (role.ToolTipBase, window), (role.ToolTipText, text),
                 (role.Text, text), (role.Button, window), (role.ButtonText, text), (role.BrightText, QColor(255, 80, 80)),
                 (role.Link, QColor(100, 170, 255)), (role.Highlight, QColor(42, 110, 200)),
                 (role.HighlightedText, QColor(255, 255, 255)), (role.PlaceholderText, QColor(140, 140, 140))):
        p.setColor(r, c)
    for r in (role.Text, role.WindowText, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, QColor(120, 120, 120))
    return p


def apply_scheme(app: QApplication, scheme: Qt.ColorScheme) -> None:
    """Dark palette for a dark scheme, the style's own otherwise."""
    if scheme == Qt.ColorScheme.Dark:
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    else:
        app.setPalette(app.style().standardPalette())


def follow_system(app: QApplication) -> None:
    """Apply the scheme now (a light one needs nothing at start) and whenever it changes."""
    hints = QGuiApplication.styleHints()
    if hints.colorScheme() == Qt.ColorScheme.Dark:
        apply_scheme(app, Qt.ColorScheme.Dark)
    hints.colorSchemeChanged.connect(lambda scheme: apply_scheme(app, scheme))


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128
