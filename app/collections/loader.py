"""Loading a collection folder. A broken file becomes a ``Problem`` (path, line, message) and the
rest of the collection still loads."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from app.collections import tomlfmt
from app.collections.format import (
    COLLECTION_FILE,
    ENVIRONMENTS_DIR,
    FOLDER_FILE,
    FORMAT_KEY,
    SUFFIX,
    FormatError,
    collection_from_doc,
    environment_from_doc,
    folder_from_doc,
    request_from_doc,
)
from app.collections.model import Collection, Environment, Folder, RequestItem


@dataclass(frozen=True)
class Problem:
    """A file that could not be read; ``line`` is 1-based when known."""

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.message}"


class NotACollection(ValueError):
    """The path is not a folder (nothing to load)."""


def sort_key(node: Folder | RequestItem) -> tuple[bool, int, str]:
    return (node.order is None, node.order or 0, node.name.casefold())


def read_doc(path: Path) -> tuple[str, dict[str, Any]]:
    """Text and TOML document of a file; raises ``FormatError``-like ``_Bad`` with a line number."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _Bad(f"not UTF-8 text (byte 0x{raw[exc.start]:02x})", line) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return text, tomlfmt.loads(text)
    except tomlfmt.TomlReadError as exc:
        raise _Bad(f"not valid TOML: {exc.message}", exc.line) from None


class _Bad(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message, self.line = message, line


def _parse[T](path: Path, build: Callable[[dict[str, Any]], T], problems: list[Problem],
           *, require_format: bool = False) -> T | None:
    try:
        text, doc = read_doc(path)
        if require_format and FORMAT_KEY not in doc and "url" not in doc:
            raise _Bad(f"not a Courier request: no {FORMAT_KEY} or url key", 1)
        try:
            return build(doc)
        except FormatError as exc:
            line = tomlfmt.line_of(text, exc.key) if exc.key else None
            raise _Bad(exc.message, line) from None
    except _Bad as exc:
        problems.append(Problem(path, exc.line, exc.message))
    except OSError as exc:
        problems.append(Problem(path, None, f"cannot be read: {exc.strerror or exc}"))
    return None


def _has_toml(path: Path) -> bool:
    for _dirpath, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if any(f.endswith(SUFFIX) and not f.startswith(".") for f in files):
            return True
    return False


def _load_folder(root: Path, rel: str, folder: Folder, problems: list[Problem]) -> None:
    here = root / rel if rel else root
    try:
        entries = sorted(os.scandir(here), key=lambda e: e.name)
    except OSError as exc:
        problems.append(Problem(here, None, f"cannot be listed: {exc.strerror or exc}"))
        return
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue  # hidden files, .git, and temp files of an interrupted save
        child_rel = f"{rel}/{name}" if rel else name
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):  # no symlinked folders: no loops
            if not rel and name == ENVIRONMENTS_DIR:
                continue
            meta = path / FOLDER_FILE
            if not meta.exists() and not _has_toml(path):
                continue  # a plain folder (files to upload, docs): not part of the tree
            sub: Folder | None = Folder(name=name)
            if meta.exists():
                sub = _parse(meta, partial(folder_from_doc, default_name=name), problems)
                if sub is None:
                    sub = Folder(name=name)  # its file is broken; its requests still load
            assert sub is not None
            sub.path = child_rel
            _load_folder(root, child_rel, sub, problems)
            folder.children.append(sub)
        elif name.endswith(SUFFIX) and name not in (FOLDER_FILE, COLLECTION_FILE):
            stem = name[: -len(SUFFIX)]
            item = _parse(path, partial(request_from_doc, default_name=stem), problems, require_format=True)
            if item is not None:
                item.path = child_rel
                folder.children.append(item)
    folder.children.sort(key=sort_key)


def load_environments(root: Path, problems: list[Problem]) -> list[Environment]:
    envs: list[Environment] = []
    env_dir = root / ENVIRONMENTS_DIR
    if not env_dir.is_dir():
        return envs
    for path in sorted(env_dir.iterdir()):
        if path.name.startswith(".") or not path.name.endswith(SUFFIX) or not path.is_file():
            continue
        stem = path.name[: -len(SUFFIX)]
        env = _parse(path, partial(environment_from_doc, default_name=stem), problems)
        if env is not None:
            env.path = f"{ENVIRONMENTS_DIR}/{path.name}"
            envs.append(env)
    envs.sort(key=lambda e: e.name.casefold())
    return envs


def load_collection(root: str | os.PathLike[str]) -> tuple[Collection, list[Problem]]:
    """The collection in folder ``root`` and the problems met; broken files are left out."""
    root = Path(root)
    if not root.is_dir():
        raise NotACollection(f"{root} is not a folder")
    problems: list[Problem] = []
    col: Collection | None = None
    meta = root / COLLECTION_FILE
    if meta.exists():
        col = _parse(meta, partial(collection_from_doc, default_name=root.name), problems)
    if col is None:
        col = Collection(name=root.resolve().name)
    col.root = Folder(name=col.name, path="")
    _load_folder(root, "", col.root, problems)
    col.environments = load_environments(root, problems)
    return col, problems

