"""Small building blocks the dialogs share: a headline, muted text, a coloured banner, monospace.

Colours are translucent so that they read on the light and the dark palette alike.
"""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QLabel, QWidget

TONES = {
    "error": ("rgba(220, 53, 69, 0.13)", "rgba(220, 53, 69, 0.55)"),
    "warning": ("rgba(240, 173, 0, 0.16)", "rgba(200, 140, 0, 0.6)"),
    "info": ("rgba(13, 110, 253, 0.10)", "rgba(13, 110, 253, 0.45)"),
    "ok": ("rgba(25, 135, 84, 0.12)", "rgba(25, 135, 84, 0.5)"),
}


def headline(text: str, parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.25)
    font.setWeight(QFont.Weight.DemiBold)
    label.setFont(font)
    label.setWordWrap(True)
    return label


def muted(text: str, parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    pal = label.palette()
    color = pal.color(pal.ColorRole.WindowText)
    color.setAlphaF(0.65)
    pal.setColor(pal.ColorRole.WindowText, color)
    label.setPalette(pal)
    return label


def banner(text: str, tone: str = "info", parent: QWidget | None = None) -> QLabel:
    background, border = TONES[tone]
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setObjectName(f"banner-{tone}")
    label.setStyleSheet(f"QLabel {{ background: {background}; border: 1px solid {border};"
                        " border-radius: 5px; padding: 7px 9px; }")
    return label


def monospace() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    return font
