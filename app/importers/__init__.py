"""Importing other tools' files into a new collection folder.

Formats: Postman collection v2.1/v2.0 (plus Postman environment files), Insomnia export v4,
HAR 1.2, a curl command, OpenAPI 3 (JSON or YAML). ``read_import`` parses into memory and raises
``ImportFailed`` with what is wrong and where; ``save_import`` writes the collection all at once
(nothing is written when anything fails) and puts secret values into the keyring.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.collections.secrets import SecretStore, SecretsUnavailable, secret_key
from app.collections.store import CollectionStore, StoreError
from app.collections.tomlfmt import TomlWriteError
from app.collections.writer import write_new
from app.importers.common import ImportFailed, ImportResult, load_json

FORMATS = ("postman", "postman-environment", "insomnia", "har", "curl", "openapi")
MAX_SIZE = 200 * 1024 * 1024

__all__ = ["FORMATS", "ImportFailed", "ImportResult", "detect", "read_import", "save_import"]


def detect(data: bytes, name: str = "") -> str:
    """The format of ``data``; raises ``ImportFailed`` when it is none we know."""
    from app.importers import har, insomnia, openapi, postman

    head = data.lstrip()[:64]
    if head.startswith((b"curl ", b"curl\t", b"curl\n", b"curl.exe ")) or head.rstrip() == b"curl":
        return "curl"
    if head.startswith((b"{", b"[")) or data.startswith(b"\xef\xbb\xbf"):
        doc = load_json(data, name or "the file")
    else:
        doc = openapi.parse_document(data, name or "the file")
    if postman.is_collection(doc):
        return "postman"
    if postman.is_environment(doc):
        return "postman-environment"
    if insomnia.is_export(doc):
        return "insomnia"
    if har.is_har(doc):
        return "har"
    if openapi.is_openapi(doc) or (isinstance(doc, dict) and "swagger" in doc):
        return "openapi"
    raise ImportFailed(f"{name or 'the file'}: not a format Courier imports (Postman v2.1 collection or "
                       "environment, Insomnia v4 export, HAR 1.2, curl command, OpenAPI 3)")


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_SIZE:
            raise ImportFailed(f"{path}: larger than {MAX_SIZE // (1024 * 1024)} MB")
        return path.read_bytes()
    except OSError as exc:
        raise ImportFailed(f"{path}: cannot be read: {exc.strerror or exc}") from None


def parse(data: bytes | str, fmt: str | None = None, name: str = "") -> ImportResult:
    """One file's content as a collection (``fmt`` None: detected)."""
    from app.importers import curl, har, insomnia, openapi, postman

    raw = data.encode("utf-8", errors="surrogatepass") if isinstance(data, str) else data
    fmt = fmt or detect(raw, name)
    label = name or fmt
    try:
        if fmt == "postman":
            return postman.import_collection(raw, label)
        if fmt == "insomnia":
            return insomnia.import_export(raw, label)
        if fmt == "har":
            return har.import_har(raw, label)
        if fmt == "curl":
            return curl.import_curl(raw, label)
        if fmt == "openapi":
            return openapi.import_openapi(raw, label)
        if fmt == "postman-environment":
            raise ImportFailed(f"{label}: a Postman environment; import it together with its collection")
    except RecursionError:
        raise ImportFailed(f"{label}: nested too deeply") from None
    except ImportFailed:
        raise
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
        # a shape the importer's checks missed: still a clear error, never a crash (tests fail on this text)
        raise ImportFailed(f"{label}: could not be read (internal: {type(exc).__name__}: {exc})") from exc
    raise ImportFailed(f"unknown import format {fmt!r} (known: {', '.join(FORMATS)})")


def read_import(paths: list[str | os.PathLike[str]], fmt: str | None = None) -> ImportResult:
    """The first file is the collection; further files are Postman environments for it."""
    from app.importers import postman

    if not paths:
        raise ImportFailed("nothing to import")
    first = Path(paths[0])
    result = parse(_read(first), fmt, str(first))
    for extra in paths[1:]:
        p = Path(extra)
        data = _read(p)
        kind = detect(data, str(p))
        if kind != "postman-environment":
            raise ImportFailed(f"{p}: only Postman environment files can be added to an import, not {kind}")
        postman.import_environment(data, result, str(p))
    return result


def save_import(result: ImportResult, dest: str | os.PathLike[str], secrets: SecretStore | None) -> CollectionStore:
    """Write the imported collection to the new folder ``dest``; secret values go to ``secrets``.

    When the keyring is unavailable the files are still written (they hold no secrets) and a
    warning says which secret values must be entered again.
    """
    try:
        write_new(result.collection, dest)
    except TomlWriteError as exc:
        raise ImportFailed(f"the imported data cannot be saved: {exc}") from None
    except StoreError as exc:
        raise ImportFailed(str(exc)) from None
    except OSError as exc:  # a full disk, a read-only folder: the temp folder is gone already
        raise ImportFailed(f"{dest} cannot be written: {exc.strerror or exc}; nothing was written") from None
    if result.secrets:
        failed: list[str] = []
        for (scope, name), value in result.secrets.items():
            try:
                if secrets is None:
                    raise SecretsUnavailable("no keyring was given")
                secrets.set(secret_key(result.collection.id, scope, name), value)
            except SecretsUnavailable as exc:
                failed.append(name)
                reason = str(exc)
        if failed:
            result.warn(f"secret values not stored ({reason}); enter them again: {', '.join(sorted(set(failed)))}")
    return CollectionStore(dest)
