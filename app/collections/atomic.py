"""Atomic file writes: a temp file in the same folder, fsync, rename over the target, fsync the folder.

A crash (even SIGKILL or power loss after the folder fsync) leaves either the old file or the new
one, never a torn mix. Temp files are named ``.courier-tmp-*`` so the loader skips them and
``remove_stale_temp_files`` can clean up after a crash.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

TEMP_PREFIX = ".courier-tmp-"


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # some platforms cannot open folders; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes | str) -> None:
    """Replace ``path`` with ``data`` atomically, keeping an existing file's permissions."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_rename(src: Path, dst: Path) -> None:
    """Rename a file or folder and make the change durable in both parent folders."""
    if Path(dst).exists():
        raise FileExistsError(f"{dst} already exists")
    os.rename(src, dst)
    fsync_dir(Path(dst).parent)
    if Path(src).parent != Path(dst).parent:
        fsync_dir(Path(src).parent)


def remove_tree(path: Path) -> None:
    """Delete a file or folder durably."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
    fsync_dir(path.parent)


def stale_entries(directory: Path, prefixes: str | tuple[str, ...], older_than: float,
                  folders: bool = False) -> list[os.DirEntry[str]]:
    """The files (or ``folders``) directly in ``directory`` whose names start with ``prefixes`` and that
    nobody touched for ``older_than`` seconds: leftovers of a write a crash interrupted. A younger one
    may belong to a write in progress in another Courier."""
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    found = []
    for entry in entries:
        try:
            kind_ok = entry.is_dir(follow_symlinks=False) if folders else entry.is_file(follow_symlinks=False)
            if kind_ok and entry.name.startswith(prefixes) and \
                    now - entry.stat(follow_symlinks=False).st_mtime >= older_than:
                found.append(entry)
        except OSError:
            continue
    return found


def remove_stale_temp_files(root: Path) -> list[Path]:
    """Delete temp files a crashed save left behind (they never hold the only copy of anything)."""
    removed: list[Path] = []
    for dirpath, dirs, files in os.walk(root):
        for name in files:
            if name.startswith(TEMP_PREFIX):
                p = Path(dirpath) / name
                with contextlib.suppress(OSError):
                    p.unlink()
                    removed.append(p)
        for name in [d for d in dirs if d.startswith(TEMP_PREFIX)]:
            dirs.remove(name)  # a half-copied duplicate folder
            shutil.rmtree(Path(dirpath) / name, ignore_errors=True)
            removed.append(Path(dirpath) / name)
    return removed
