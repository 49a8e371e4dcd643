"""``courier import`` and ``courier export``: other tools' files in and out, headless and Qt-free."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from app.collections import ChainSecrets, EnvironmentSecrets, KeyringSecrets, SecretStore, load_collection


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("import", help="import a Postman, Insomnia, HAR, OpenAPI or curl file as a new collection",
                       description="Import into a new collection folder. Further files after the first are "
                                   "Postman environments for it. Secret values go to the keyring, never to files.")
    p.add_argument("files", nargs="+", metavar="FILE", help="the file to import ('-' reads a curl command from stdin)")
    p.add_argument("--to", required=True, metavar="DIR", help="the new collection folder (absent or empty)")
    p.add_argument("--format", choices=["postman", "insomnia", "har", "curl", "openapi"],
                   help="the input format (default: detected)")
    p.add_argument("--no-keyring", action="store_true", help="do not store secret values (they must be re-entered)")

    e = sub.add_parser("export", help="export a collection, folder or request as curl, HAR or Postman v2.1",
                       description="HAR and curl leave out Authorization, Cookie and Set-Cookie headers and "
                                   "keep secret variables as {{name}} unless asked.")
    e.add_argument("path", metavar="PATH", help="a collection folder, a folder in it, or one request file")
    e.add_argument("--format", required=True, choices=["curl", "har", "postman"])
    e.add_argument("--env", metavar="NAME", help="fill in this environment's variables (postman: export it)")
    e.add_argument("--output", "-o", metavar="FILE", help="write here instead of standard output")
    e.add_argument("--include-sensitive", action="store_true",
                   help="keep Authorization, Cookie and Set-Cookie headers")
    e.add_argument("--include-secrets", action="store_true", help="write secret values (from the keyring)")


def _secrets(no_keyring: bool) -> SecretStore:
    return EnvironmentSecrets() if no_keyring else ChainSecrets(KeyringSecrets(), EnvironmentSecrets())


def import_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from app.importers import ImportFailed, parse, read_import, save_import

    try:
        if args.files == ["-"]:
            result = parse(sys.stdin.read(), args.format or "curl", "standard input")
        else:
            result = read_import(args.files, args.format)
        secrets: SecretStore | None = None if args.no_keyring else KeyringSecrets()
        store = save_import(result, args.to, secrets)
    except ImportFailed as exc:
        err.write(f"courier import: {exc}\ncourier import: nothing was written\n")
        return 1
    for w in result.warnings:
        err.write(f"courier import: note: {w}\n")
    col = store.collection
    out.write(f"imported {len(col.requests())} request(s) and {len(col.environments)} environment(s) "
              f"from {result.source_format} into {store.root}\n")
    return 0


def export_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from app.cli import find_root, selected
    from app.collections.prepare import PrepareError
    from app.exporters import curl, har, postman

    target = Path(args.path)
    if not target.exists():
        err.write(f"courier export: {target} does not exist\n")
        return 2
    root, sub = find_root(target)
    col, problems = load_collection(root)
    for p in problems:
        err.write(f"courier export: cannot read {p}\n")
    env = None
    if args.env:
        env = col.environment(args.env)
        if env is None:
            err.write(f"courier export: no environment {args.env!r} in {root}\n")
            return 2
    secrets = _secrets(False) if args.include_secrets else None
    items = selected(col, sub)
    try:
        if args.format == "curl":
            text = "\n\n".join(f"# {item.name}\n" + curl.export_curl(col, item, env, secrets, root, args.include_sensitive,
                                                                     args.include_secrets)
                               for _chain, item in items) + "\n"
        elif args.format == "har":
            entries = [har.entry_from_request(col, item, chain, env, secrets, root, args.include_sensitive,
                                              args.include_secrets) for chain, item in items]
            text = har.dumps(har.har_document(entries))
        elif env is not None:
            text = postman.dumps(postman.export_environment(col, env, args.include_secrets, secrets))
        else:
            doc, warnings = postman.export_collection(col, args.include_secrets, secrets)
            for w in warnings:
                err.write(f"courier export: note: {w}\n")
            text = postman.dumps(doc)
    except PrepareError as exc:
        err.write(f"courier export: {exc}\n")
        return 1
    if args.output:
        from app.collections.atomic import atomic_write

        atomic_write(Path(args.output), text)
    else:
        out.write(text)
    return 1 if problems else 0


def add_secret_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("secret", help="set, delete or list the values of a collection's secret variables",
                       description="Secret values live in the system keyring, never in the collection's files. "
                                   "'set' reads the value from a prompt (or standard input when piped).")
    p.add_argument("action", choices=["set", "delete", "list"])
    p.add_argument("path", metavar="PATH", help="the collection folder (or anything inside it)")
    p.add_argument("name", nargs="?", metavar="NAME", help="the secret variable")
    p.add_argument("--env", metavar="NAME", help="the environment's secret (default: the collection's)")


def secret_command(args: argparse.Namespace, out: TextIO, err: TextIO,
                   store: SecretStore | None = None) -> int:
    from app.cli import find_root
    from app.collections.secrets import COLLECTION_SCOPE, SecretsUnavailable, env_scope, secret_key

    root, _sub = find_root(Path(args.path))
    col, _problems = load_collection(root)
    if not col.id:
        err.write(f"courier secret: {root} has no collection.toml with an id; create the collection first\n")
        return 2
    env = None
    if args.env:
        env = col.environment(args.env)
        if env is None:
            err.write(f"courier secret: no environment {args.env!r} in {root}\n")
            return 2
    declared = [v.name for v in (env.variables if env else col.variables) if v.secret]
    scope = env_scope(env.name) if env else COLLECTION_SCOPE
    keyring = store or KeyringSecrets()
    where = f"environment {env.name!r}" if env else "the collection"
    try:
        if args.action == "list":
            for name in declared:
                state = "set" if keyring.get(secret_key(col.id, scope, name)) is not None else "not set"
                out.write(f"{name}\t{state}\n")
            return 0
        if not args.name or args.name not in declared:
            names = ", ".join(declared) or "none"
            err.write(f"courier secret: {args.name!r} is not a secret variable of {where} (secret: {names})\n")
            return 2
        key = secret_key(col.id, scope, args.name)
        if args.action == "delete":
            keyring.delete(key)
            out.write(f"deleted {args.name} of {where}\n")
            return 0
        if sys.stdin.isatty():
            import getpass

            value = getpass.getpass(f"value of {args.name} ({where}): ")
        else:
            value = sys.stdin.read().rstrip("\r\n")
        keyring.set(key, value)
        out.write(f"stored {args.name} of {where} in the keyring\n")
        return 0
    except SecretsUnavailable as exc:
        err.write(f"courier secret: {exc}\n")
        return 1
