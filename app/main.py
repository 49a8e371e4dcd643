"""The ``courier`` command: the window, ``--version``, and a clear word when there is no display."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from app.version import version


class _Version(argparse.Action):
    """``--version`` without importing the core up front (start-up time: the window comes first)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        print(f"courier {version()}")  # the package metadata, else core.__version__ (app/version.py)
        parser.exit()


def _wants_headless(argv: Sequence[str]) -> bool:
    """A command other than ``gui`` (or --help) is asked for: the headless commands' parsers are
    needed. The window alone does not import them (they pull in the collections and the core)."""
    skip = False
    for tok in argv:
        if skip:
            skip = False
        elif tok == "--quit-after":
            skip = True
        elif tok in ("-h", "--help"):
            return True
        elif not tok.startswith("-"):
            return tok != "gui"
    return False


def _has_display() -> bool:
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal", "vnc")):
        return True
    if sys.platform != "linux":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def build_parser(headless: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="courier", description="Courier: HTTP client and network inspector")
    p.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    p.add_argument("--offscreen", action="store_true",
                   help="run without a display (QT_QPA_PLATFORM=offscreen)")
    p.add_argument("--quit-after", type=float, default=None, metavar="SECONDS",
                   help="close the window after SECONDS (for start-up measurements)")
    p.add_argument("--self-test", action="store_true",
                   help="check this install (window offscreen, HTTP and TLS to 127.0.0.1, keyring) and exit")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("gui", help="open the window (the default)")
    if headless:
        from app import cli  # Qt-free: the headless subcommands

        cli.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:  # plain `courier` (the desktop launcher): the window, without building the parser
        return _gui(offscreen=False, quit_after=None)
    headless = _wants_headless(argv)
    args = build_parser(headless).parse_args(argv)
    if args.self_test:
        from app.selftest import run_self_test

        return run_self_test()
    if headless:
        from app import cli

        if args.command in cli.COMMANDS:
            return cli.dispatch(args)
    return _gui(offscreen=args.offscreen, quit_after=args.quit_after)


def _gui(offscreen: bool, quit_after: float | None) -> int:
    if offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if not _has_display():
        print("courier: no display found (DISPLAY and WAYLAND_DISPLAY are unset); "
              "run it in a desktop session, under `xvfb-run courier`, or with `courier --offscreen`.",
              file=sys.stderr)
        return 2
    from app.application import run_gui

    return run_gui(quit_after=quit_after)


if __name__ == "__main__":
    sys.exit(main())
