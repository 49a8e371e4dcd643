"""Writing a whole collection at once (an import): every file rendered in memory first, then written
into a hidden temp folder and renamed into place, so a failure leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import tempfile
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
from app.collections.model import Collection, Folder, RequestItem
from app.collections.store import GITIGNORE, ORDER_STEP, StoreError, slugify

_RESERVED = {FOLDER_FILE[: -len(SUFFIX)], COLLECTION_FILE[: -len(SUFFIX)]}


def _unique(slug: str, taken: set[str], top_level: bool) -> str:
    if slug in _RESERVED or (top_level and slug == ENVIRONMENTS_DIR):
        slug += "-1"
    candidate, n = slug, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{slug}-{n}"
    taken.add(candidate.casefold())
    return candidate


def render(col: Collection) -> dict[str, str]:
    """Every file of ``col`` (relative path → text). Assigns paths and orders to nodes without them.

    Raises ``TomlWriteError`` (a ``ValueError``) for text TOML cannot hold.
    """
    if not col.id:
        col.id = uuid.uuid4().hex
    files: dict[str, str] = {COLLECTION_FILE: dumps(collection_to_doc(col)), ".gitignore": GITIGNORE}

    def walk(folder: Folder, rel: str) -> None:
        taken: set[str] = set()
        for i, child in enumerate(folder.children):
            if child.order is None:
                child.order = (i + 1) * ORDER_STEP
            if isinstance(child, RequestItem):
                name = _unique(slugify(child.name, "request"), taken, not rel) + SUFFIX
                child.path = f"{rel}/{name}" if rel else name
                files[child.path] = dumps(request_to_doc(child))
            else:
                name = _unique(slugify(child.name, "folder"), taken, not rel)
                child.path = f"{rel}/{name}" if rel else name
                files[f"{child.path}/{FOLDER_FILE}"] = dumps(folder_to_doc(child))
                walk(child, child.path)

    walk(col.root, "")
    taken: set[str] = set()
    for env in col.environments:
        env.path = f"{ENVIRONMENTS_DIR}/{_unique(slugify(env.name, 'environment'), taken, False)}{SUFFIX}"
        files[env.path] = dumps(environment_to_doc(env))
    return files


IMPORT_TEMP_PREFIX = atomic.TEMP_PREFIX + "import-"
STALE_IMPORT_AGE = 600.0  # seconds: older half-written import folders are leftovers of a killed import


def remove_stale_imports(parent: Path, older_than: float = STALE_IMPORT_AGE) -> list[Path]:
    """Delete ``.courier-tmp-import-*`` folders that an import killed midway left in ``parent``.

    They never hold the only copy of anything (the import's source file still exists); a young one
    may belong to an import running now, so only those untouched for ``older_than`` seconds go."""
    removed = []
    for entry in atomic.stale_entries(parent, IMPORT_TEMP_PREFIX, older_than, folders=True):
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed


def write_new(col: Collection, dest: str | os.PathLike[str]) -> dict[str, str]:
    """Create collection folder ``dest`` (absent or empty) holding ``col``; all or nothing."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise StoreError(f"{dest} already exists and is not an empty folder")
    files = render(col)  # fails before anything touches the disk
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_imports(dest.parent)
    tmp = Path(tempfile.mkdtemp(prefix=IMPORT_TEMP_PREFIX, dir=dest.parent))
    try:
        for rel, text in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(text.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
        for dirpath, _dirs, _files in os.walk(tmp, topdown=False):
            atomic.fsync_dir(Path(dirpath))
        os.chmod(tmp, 0o777 & ~_umask())
        if dest.exists():
            dest.rmdir()  # empty: checked above
        os.rename(tmp, dest)
        atomic.fsync_dir(dest.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return files


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
