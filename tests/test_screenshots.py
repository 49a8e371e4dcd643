"""The screenshot script still renders every picture the README shows (real Xvfb, real servers)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parent.parent


def test_screenshot_script_renders_the_readme_pictures(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "screenshots.py"), "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
    readme = (ROOT / "README.md").read_text()
    shown = re.findall(r"docs/screenshots/([\w-]+\.png)", readme)
    assert shown, "README.md shows no screenshots"
    for name in shown:
        image = QImage(str(tmp_path / name))
        assert not image.isNull(), name
        assert image.width() >= 400 and image.height() >= 250, name
        colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
        assert len(colours) > 20, f"{name} looks blank"
        assert (ROOT / "docs" / "screenshots" / name).exists(), f"{name} is not committed"
