"""Packaging: the version, the resources, the PyInstaller spec's rules, and the frozen bundle itself
(dist/courier, built by packaging/build.sh; CI builds it before the tests run)."""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from app import resources
from tests.test_selftest import NAMES, base_env, keyring_daemon, needs_secret_service, self_test, stored_items

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "dist" / "courier"
FROZEN = BUNDLE / "courier"


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


# -- version -------------------------------------------------------------------------------------
def test_version_comes_from_the_package_metadata_and_agrees_everywhere() -> None:
    from app.version import version
    from core import __version__

    assert version() == importlib.metadata.version("courier") == __version__ == pyproject()["project"]["version"]


def test_version_falls_back_to_core_when_courier_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.version import version
    from core import __version__

    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert version() == __version__


def test_version_is_headless_and_imports_neither_qt_nor_the_network_core(tmp_path: Path) -> None:
    env = {**base_env(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "app", "--version"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"courier {importlib.metadata.version('courier')}"
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert "app.main" in imported  # the measurement itself works
    assert not {m for m in imported if m.startswith(("PySide6", "shiboken6", "httpx", "core", "numpy"))}


# -- resources -----------------------------------------------------------------------------------
def test_resources_are_where_the_app_looks_for_them() -> None:
    assert resources.resource_dir() == ROOT / "resources"
    assert resources.missing_resources() == []


def test_the_png_icon_is_the_svg_rendered(qapp: Any) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(resources.resource_path(resources.ICON_SVG)))
    assert renderer.isValid()
    png = QImage(str(resources.resource_path(resources.ICON_PNG))).convertToFormat(QImage.Format.Format_ARGB32)
    assert (png.width(), png.height()) == (256, 256)
    drawn = QImage(256, 256, QImage.Format.Format_ARGB32)
    drawn.fill(Qt.GlobalColor.transparent)
    painter = QPainter(drawn)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    # Same picture (allowing antialiasing noise): an edited SVG needs a re-rendered PNG.
    differing = sum(1 for x in range(0, 256, 4) for y in range(0, 256, 4) if drawn.pixel(x, y) != png.pixel(x, y))
    assert differing < 64 * 64 * 0.02
    assert png.pixelColor(128, 20).alpha() == 255 and png.pixelColor(1, 1).alpha() == 0  # a rounded square


def test_the_desktop_file_launches_courier_with_its_icon() -> None:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(resources.resource_path(resources.DESKTOP_FILE), encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "Courier"
    assert entry["Exec"].split()[0] == "courier" == entry["Icon"]
    assert entry["Exec"].split()[0] in pyproject()["project"]["scripts"]
    assert entry["Categories"].endswith(";") and "Network" in entry["Categories"].split(";")
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(resources.resource_path(resources.DESKTOP_FILE))],
                               capture_output=True, text=True, timeout=30)
        assert check.returncode == 0 and not check.stdout.strip(), check.stdout


# -- the spec's rules ----------------------------------------------------------------------------
def spec_functions() -> dict[str, Any]:
    """The spec's constants and functions, without running PyInstaller's Analysis."""
    tree = ast.parse((ROOT / "packaging" / "courier.spec").read_text())
    keep = [node for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.Import | ast.ImportFrom)
            or (isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets))]
    namespace: dict[str, Any] = {"SPECPATH": str(ROOT / "packaging")}
    exec(compile(ast.Module(body=keep, type_ignores=[]), "courier.spec", "exec"), namespace)
    return namespace


def test_the_spec_collects_every_module_of_app_and_core_and_each_runtime_dependency() -> None:
    spec = spec_functions()
    hidden = set(spec["get_hidden_imports"]())
    for package in ("app", "core"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
            assert name in hidden, name
    for module in ("httpx", "h2", "socksio", "sniffio", "brotli", "zstandard", "keyring", "platformdirs",
                   "pyqtgraph", "cryptography", "uvloop"):
        assert module in hidden, module
    assert not {m for m in hidden if m.startswith(("PySide6", "shiboken6", "pytest", "trustme"))}
    datas = {Path(src).name: dest for src, dest in spec["get_data_files"]()}
    assert {name: datas.get(name) for name in resources.ALL} == dict.fromkeys(resources.ALL, "resources")


def test_the_self_test_reads_the_runtime_dependencies_from_the_metadata() -> None:
    from app.selftest import _applies, _requirement, runtime_modules

    assert _requirement('httpx[http2, socks]==0.28.1; sys_platform != "win32"') == (
        "httpx", {"http2", "socks"}, 'sys_platform != "win32"')
    assert _applies('sys_platform != "win32"', set()) is (sys.platform != "win32")
    assert not _applies('extra == "test"', set()) and _applies('extra == "socks"', {"socks"})
    modules = set(runtime_modules())
    # Extras (httpx[socks]), markers (uvloop), a module named unlike its distribution (pyyaml).
    assert {"httpx", "h2", "socksio", "keyring", "yaml"} <= modules
    assert ("uvloop" in modules) is (sys.platform != "win32")
    assert not modules & {"pytest", "trustme", "hypercorn", "PyInstaller", "PySide6", "pyqtgraph"}


def test_the_spec_keeps_the_qt_plugins_courier_uses_and_drops_the_rest() -> None:
    unused = spec_functions()["is_unused"]
    plugins = "PySide6/Qt/plugins/"
    for kept in ("platforms/libqxcb.so", "platforms/libqoffscreen.so", "platforms/libqwayland.so",
                 "imageformats/libqsvg.so", "iconengines/libqsvgicon.so", "tls/libqopensslbackend.so",
                 "xcbglintegrations/libqxcb-glx-integration.so", "wayland-shell-integration/libxdg-shell.so"):
        assert not unused(plugins + kept), kept
    for dropped in ("platforms/libqvnc.so", "platforms/libqeglfs.so", "sqldrivers/libqsqlite.so",
                    "qmltooling/libqmldbg_tcp.so", "platformthemes/libqgtk3.so", "designer/libPySidePlugin.so"):
        assert unused(plugins + dropped), dropped
    for lib, used in (("libQt6OpenGL.so.6", True), ("libQt6Svg.so.6", True), ("libQt6Test.so.6", True),
                      ("libQt6Quick.so.6", False), ("libQt6Qml.so.6", False)):  # pyqtgraph needs the first three
        assert unused("PySide6/Qt/lib/" + lib) is not used, lib
    assert not unused("numpy.libs/libscipy_openblas64_.so") and not unused("libpython3.13.so.1.0")


# -- the frozen bundle ---------------------------------------------------------------------------
def _bundle_problem() -> str | None:
    if not FROZEN.exists():
        return "no frozen bundle in dist/courier: build it with packaging/build.sh (CI does, before pytest)"
    built = FROZEN.stat().st_mtime
    sources = [p for d in ("app", "core", "resources", "packaging") for p in (ROOT / d).rglob("*") if p.is_file()]
    newer = [str(p.relative_to(ROOT)) for p in sources if p.stat().st_mtime > built and "__pycache__" not in p.parts]
    if newer:
        return f"dist/courier is older than {newer[0]} (and {len(newer) - 1} more): rebuild with packaging/build.sh"
    return None


needs_bundle = pytest.mark.skipif(_bundle_problem() is not None, reason=_bundle_problem() or "")


def _elf_files(root: Path) -> list[Path]:
    out = []
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink() and (".so" in p.name or p == FROZEN):
            with open(p, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    out.append(p)
    return out


@needs_bundle
def test_bundle_holds_what_courier_needs_and_not_what_it_does_not() -> None:
    internal = BUNDLE / "_internal"
    qt = internal / "PySide6" / "Qt"
    platforms = {p.name for p in (qt / "plugins" / "platforms").iterdir()}
    assert {"libqxcb.so", "libqoffscreen.so"} <= platforms and "libqvnc.so" not in platforms
    assert (qt / "plugins" / "iconengines" / "libqsvgicon.so").exists()
    assert not (qt / "plugins" / "qmltooling").exists() and not (qt / "plugins" / "sqldrivers").exists()
    libs = {p.name for p in (qt / "lib").iterdir()}
    assert {"libQt6OpenGL.so.6", "libQt6Svg.so.6", "libQt6Test.so.6", "libQt6XcbQpa.so.6"} <= libs
    assert not {name for name in libs if name.startswith(("libQt6Quick", "libQt6Qml", "libQt6WebEngine"))}
    top = {p.name for p in internal.iterdir()}
    assert not top & {"trustme", "pytest", "_pytest", "hypercorn", "hypothesis", "tkinter", "brotlicffi"}
    assert not {name for name in top if name.startswith("libgtk")}
    # The xcb plugin's system libraries from the build host (see scripts/setup.sh) are bundled.
    assert {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"} <= top
    assert {p.name for p in (internal / "resources").iterdir()} >= set(resources.ALL)
    # courier's own metadata: a .dist-info, or the .egg-info that an editable install in a fresh
    # clone leaves in the source tree (importlib.metadata finds that one first there).
    assert any((name.startswith("courier-") and name.endswith(".dist-info")) or name == "courier.egg-info"
               for name in top)
    assert (internal / "certifi" / "cacert.pem").stat().st_size > 100_000


@needs_bundle
def test_every_library_in_the_bundle_finds_its_dependencies() -> None:
    """Dropping Qt plugins and their libraries must leave nothing dangling (checked with ldd)."""
    internal = BUNDLE / "_internal"
    env = {**os.environ, "LD_LIBRARY_PATH": f"{internal}:{internal / 'PySide6' / 'Qt' / 'lib'}"}
    missing = {}
    files = _elf_files(BUNDLE)
    assert len(files) > 100
    for path in files:
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env, timeout=30).stdout
        lost = [line.split()[0] for line in out.splitlines() if "not found" in line]
        if lost:
            missing[str(path.relative_to(BUNDLE))] = lost
    assert missing == {}


@needs_bundle
def test_frozen_version_matches_the_venv(tmp_path: Path) -> None:
    out = subprocess.run([str(FROZEN), "--version"], env=base_env(tmp_path), capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"courier {importlib.metadata.version('courier')}"


@needs_bundle
@needs_secret_service
def test_frozen_self_test_with_a_real_keyring(tmp_path: Path) -> None:
    with keyring_daemon() as service:
        rc, lines, text = self_test([str(FROZEN)], {**base_env(tmp_path), **service.env})
        assert stored_items(service, {"service": "courier-self-test"}) == []
    assert rc == 0, text
    assert list(lines) == NAMES and all(status == "ok" for status, _ in lines.values()), text
    assert "frozen bundle" in text and str(BUNDLE / "_internal" / "resources") in lines["resources"][1]


@needs_bundle
def test_frozen_window_opens_on_an_x_server(tmp_path: Path) -> None:
    """The xcb platform plugin for real (Xvfb; scripts/setup.sh installs it), not only offscreen."""
    assert shutil.which("xvfb-run"), "xvfb-run is missing: run scripts/setup.sh"
    env = {**base_env(tmp_path), "COURIER_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run(["xvfb-run", "-a", str(FROZEN), "--quit-after", "0.5"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "platform plugin" not in out.stderr, out.stderr


@needs_bundle
def test_frozen_self_test_fails_when_a_platform_plugin_is_missing(tmp_path: Path) -> None:
    copy = tmp_path / "courier"
    subprocess.run(["cp", "-al", str(BUNDLE), str(copy)], check=True, timeout=120)  # hard links: cheap
    (copy / "_internal" / "PySide6" / "Qt" / "plugins" / "platforms" / "libqxcb.so").unlink()
    rc, lines, text = self_test([str(copy / "courier")], base_env(tmp_path))
    assert rc == 1, text
    assert lines["qt"][0] == "FAIL" and "platform plugins missing: xcb" in lines["qt"][1], text
    assert "self-test: FAILED (qt" in text
