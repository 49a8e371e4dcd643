"""Changing a collection on disk: create, save, rename, move, duplicate, delete, reorder.

Every change is an atomic write (``atomic.py``) or a rename; a file's ``name`` key is the
authority and its file name only a readable slug, so a crash between writing a new name and
renaming the file leaves a consistent collection. Paths are relative to the collection folder.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
import uuid
from pathlib import Path

from app.collections import atomic
from app.collections.format import (
    COLLECTION_FILE,
    ENVIRONMENTS_DIR,
    FOLDER_FILE,
    SUFFIX,
    collection_to_doc,
    dumps,
    environment_to_doc,
    folder_to_doc,
    request_to_doc,
)
from app.collections.loader import Problem, load_collection, sort_key
from app.collections.model import Collection, Environment, Folder, RequestItem

ORDER_STEP = 10
GITIGNORE = "# temp files of an interrupted save (safe to delete)\n.courier-tmp-*\n"
_RESERVED = {FOLDER_FILE[: -len(SUFFIX)], COLLECTION_FILE[: -len(SUFFIX)]}


class StoreError(ValueError):
    """A change that cannot be made (unknown path, moving a folder into itself, ...)."""


def slugify(name: str, fallback: str = "untitled") -> str:
    """A readable, portable file name: ``Create user (v2)`` → ``create-user-v2``."""
    s = unicodedata.normalize("NFKC", name).casefold()
    s = re.sub(r"[^\w]+", "-", s, flags=re.UNICODE).strip("-_")
    s = s[:60].rstrip("-_")
    return s or fallback


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


class CollectionStore:
    """One collection folder. ``collection`` is the last loaded state; ``reload`` re-reads it."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.collection: Collection
        self.problems: list[Problem]
        self.reload()

    # -- creating and loading --------------------------------------------------------------
    @classmethod
    def create(cls, root: str | os.PathLike[str], name: str) -> CollectionStore:
        """A new, empty collection in folder ``root`` (created; must be empty if it exists)."""
        root = Path(root)
        if root.exists() and any(root.iterdir()):
            raise StoreError(f"{root} is not empty")
        root.mkdir(parents=True, exist_ok=True)
        col = Collection(name=name, id=uuid.uuid4().hex)
        atomic.atomic_write(root / COLLECTION_FILE, dumps(collection_to_doc(col)))
        atomic.atomic_write(root / ".gitignore", GITIGNORE)
        return cls(root)

    def reload(self) -> Collection:
        self.collection, self.problems = load_collection(self.root)
        return self.collection

    def abspath(self, path: str) -> Path:
        return self.root / path if path else self.root

    def node(self, path: str) -> Folder | RequestItem:
        node = self.collection.find(path)
        if node is None:
            self.reload()
            node = self.collection.find(path)
        if node is None:
            raise StoreError(f"{path!r} is not in the collection")
        return node

    # -- saving ----------------------------------------------------------------------------
    def save_request(self, item: RequestItem) -> None:
        if not item.path:
            raise StoreError("the request has no path; use new_request")
        atomic.atomic_write(self.abspath(item.path), dumps(request_to_doc(item)))

    def save_folder(self, folder: Folder) -> None:
        if not folder.path:
            raise StoreError("the root folder is the collection; use save_collection")
        atomic.atomic_write(self.abspath(folder.path) / FOLDER_FILE, dumps(folder_to_doc(folder)))

    def save_collection(self, col: Collection | None = None) -> None:
        col = col or self.collection
        if not col.id:
            col.id = uuid.uuid4().hex
        atomic.atomic_write(self.root / COLLECTION_FILE, dumps(collection_to_doc(col)))

    def save_environment(self, env: Environment) -> str:
        if not env.path:
            (self.root / ENVIRONMENTS_DIR).mkdir(exist_ok=True)
            env.path = _join(ENVIRONMENTS_DIR, self._free_name(ENVIRONMENTS_DIR, slugify(env.name), SUFFIX))
        atomic.atomic_write(self.abspath(env.path), dumps(environment_to_doc(env)))
        return env.path

    def delete_environment(self, env: Environment) -> None:
        if env.path:
            atomic.remove_tree(self.abspath(env.path))

    def _save_node(self, node: Folder | RequestItem) -> None:
        if isinstance(node, Folder):
            self.save_folder(node)
        else:
            self.save_request(node)

    # -- creating nodes --------------------------------------------------------------------
    def _free_name(self, parent: str, slug: str, suffix: str) -> str:
        here = self.abspath(parent)
        reserved = slug in _RESERVED or (not parent and slug == ENVIRONMENTS_DIR)
        base = slug + "-1" if reserved else slug
        candidate, n = base, 1
        while (here / (candidate + suffix)).exists():
            n += 1
            candidate = f"{base}-{n}"
        return candidate + suffix

    def _folder(self, parent: str) -> Folder:
        node = self.node(parent)
        if not isinstance(node, Folder):
            raise StoreError(f"{parent!r} is a request, not a folder")
        return node

    def _next_order(self, parent: Folder) -> int:
        orders = [c.order for c in parent.children if c.order is not None]
        return (max(orders) if orders else 0) + ORDER_STEP

    def new_request(self, parent: str, item: RequestItem) -> str:
        """Save ``item`` as a new request at the end of folder ``parent``; returns its path."""
        folder = self._folder(parent)
        if item.order is None:
            item.order = self._next_order(folder)
        item.path = _join(parent, self._free_name(parent, slugify(item.name, "request"), SUFFIX))
        self.save_request(item)
        self.reload()
        return item.path

    def new_folder(self, parent: str, name: str) -> str:
        folder = self._folder(parent)
        slug = self._free_name(parent, slugify(name, "folder"), "")
        sub = Folder(name=name, order=self._next_order(folder), path=_join(parent, slug))
        self.abspath(sub.path).mkdir()
        self.save_folder(sub)
        atomic.fsync_dir(self.abspath(parent))
        self.reload()
        return sub.path

    # -- changing nodes --------------------------------------------------------------------
    def rename(self, path: str, new_name: str) -> str:
        """Give a request or folder a new name (and a matching file name); returns the new path."""
        new_name = new_name.strip()
        if not new_name:
            raise StoreError("a name cannot be empty")
        node = self.node(path)
        if not path:
            self.collection.name = new_name
            self.save_collection()
            self.reload()
            return ""
        node.name = new_name
        self._save_node(node)  # the name inside the file is the authority: write it first
        parent = _parent(path)
        suffix = SUFFIX if isinstance(node, RequestItem) else ""
        slug = slugify(new_name, "request" if suffix else "folder")
        current = path.rsplit("/", 1)[-1]
        if current == slug + suffix:
            self.reload()
            return path
        target = _join(parent, self._free_name(parent, slug, suffix))
        atomic.atomic_rename(self.abspath(path), self.abspath(target))
        self.reload()
        return target

    def move(self, path: str, new_parent: str, index: int | None = None) -> str:
        """Move a node into folder ``new_parent`` at position ``index`` (None: the end)."""
        if not path:
            raise StoreError("the collection itself cannot be moved")
        node = self.node(path)
        if isinstance(node, Folder) and (new_parent == path or new_parent.startswith(path + "/")):
            raise StoreError("a folder cannot be moved into itself")
        target_folder = self._folder(new_parent)
        siblings = [c for c in target_folder.children if c.path != path]
        index = len(siblings) if index is None else max(0, min(index, len(siblings)))
        wanted = [*siblings[:index], node, *siblings[index:]]
        self._assign_orders(wanted, moved=node)
        if _parent(path) == new_parent:
            self.reload()
            return path
        suffix = SUFFIX if isinstance(node, RequestItem) else ""
        current = path.rsplit("/", 1)[-1]
        slug = current[: -len(suffix)] if suffix else current
        target = _join(new_parent, self._free_name(new_parent, slug, suffix))
        atomic.atomic_rename(self.abspath(path), self.abspath(target))
        self.reload()
        return target

    def reorder(self, parent: str, paths: list[str]) -> None:
        """Set the order of folder ``parent``'s children to ``paths`` (others keep their place after)."""
        folder = self._folder(parent)
        by_path = {c.path: c for c in folder.children}
        wanted = [by_path[p] for p in paths if p in by_path]
        wanted += [c for c in folder.children if c.path not in paths]
        self._assign_orders(wanted, moved=None)
        self.reload()

    def _assign_orders(self, wanted: list[Folder | RequestItem], moved: Folder | RequestItem | None) -> None:
        """Give ``wanted`` increasing orders, rewriting as few files as possible."""
        if moved is not None:
            i = next(k for k, n in enumerate(wanted) if n is moved)
            before = wanted[i - 1].order if i > 0 else 0
            after = wanted[i + 1].order if i + 1 < len(wanted) else None
            others = [n for n in wanted if n is not moved]
            if all(n.order is not None for n in others) and \
                    [n.order for n in others] == sorted({n.order for n in others if n.order is not None}) and \
                    before is not None:
                if after is None:
                    moved.order = before + ORDER_STEP
                    self._save_node(moved)
                    return
                if after - before > 1:
                    moved.order = (before + after) // 2
                    self._save_node(moved)
                    return
        for k, n in enumerate(wanted):
            order = (k + 1) * ORDER_STEP
            if n.order != order:
                n.order = order
                self._save_node(n)

    def duplicate(self, path: str) -> str:
        """A copy named "<name> copy" right after the original; returns its path."""
        if not path:
            raise StoreError("the collection itself cannot be duplicated")
        node = self.node(path)
        parent = _parent(path)
        folder = self._folder(parent)
        copy_name = f"{node.name} copy"
        if isinstance(node, RequestItem):
            item = node.clone()
            item.name = copy_name
            item.path = _join(parent, self._free_name(parent, slugify(copy_name, "request"), SUFFIX))
            item.order = None
            self.save_request(item)
            new: Folder | RequestItem = item
        else:
            slug = self._free_name(parent, slugify(copy_name, "folder"), "")
            tmp = Path(tempfile.mkdtemp(prefix=atomic.TEMP_PREFIX, dir=self.abspath(parent)))
            try:
                shutil.copytree(self.abspath(path), tmp / "copy", ignore=shutil.ignore_patterns(".*"))
                dup = Folder(name=copy_name, description=node.description, headers=list(node.headers),
                             auth=node.auth, extra=dict(node.extra), path=_join(parent, slug))
                atomic.atomic_write(tmp / "copy" / FOLDER_FILE, dumps(folder_to_doc(dup)))
                atomic.atomic_rename(tmp / "copy", self.abspath(dup.path))
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            new = dup
        siblings = sorted([c for c in folder.children], key=sort_key)
        idx = next(k for k, c in enumerate(siblings) if c.path == path) + 1
        self._assign_orders([*siblings[:idx], new, *siblings[idx:]], moved=new)
        self.reload()
        return new.path

    def delete(self, path: str) -> None:
        if not path:
            raise StoreError("the collection itself cannot be deleted from here")
        self.node(path)
        atomic.remove_tree(self.abspath(path))
        self.reload()
