"""The version: from the installed package metadata, else core's ``__version__``.

Kept free of Qt and of core's imports so that ``courier --version`` stays fast and headless.
"""

from __future__ import annotations


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("courier")
    except PackageNotFoundError:  # a plain checkout on PYTHONPATH, or a bundle built without metadata
        from core import __version__

        return __version__
