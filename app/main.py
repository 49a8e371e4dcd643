"""The ``courier`` command: the window, ``--version``, and a clear word when there is no display."""

from __future__ import annotations

import argparse
import os
import sys

from core import __version__


def _has_display() -> bool:
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal", "vnc")):
        return True
    if sys.platform != "linux":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="courier", description="Courier: HTTP client and network inspector")
    p.add_argument("--version", action="version", version=f"courier {__version__}")
    p.add_argument("--offscreen", action="store_true",
                   help="run without a display (QT_QPA_PLATFORM=offscreen)")
    p.add_argument("--quit-after", type=float, default=None, metavar="SECONDS",
                   help="close the window after SECONDS (for start-up measurements)")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("gui", help="open the window (the default)")
    from app import cli  # Qt-free: the headless subcommands

    cli.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from app import cli

    if args.command in cli.COMMANDS:
        return cli.dispatch(args)
    if args.offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if not _has_display():
        print("courier: no display found (DISPLAY and WAYLAND_DISPLAY are unset); "
              "run it in a desktop session, under `xvfb-run courier`, or with `courier --offscreen`.",
              file=sys.stderr)
        return 2
    from app.application import run_gui

    return run_gui(quit_after=args.quit_after)


if __name__ == "__main__":
    sys.exit(main())
