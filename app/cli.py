"""``courier run``: run a collection headless and say what passed.

Plain asyncio (uvloop when present) and ``core.NetworkManager``; never imports Qt. Prints a table
(request, method, status, time, size) as results arrive, with a progress bar on a terminal and
plain lines otherwise; writes JUnit XML with ``--junit``. Exit status: 0 when every request
passed, 1 when one failed (a network error, or a status >= 400 the request does not expect, or a
broken file in the collection), 2 when the collection or environment cannot be used at all.
Resolved URLs and secret values are never printed: rows show the request's name.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from app.collections import (
    ChainSecrets,
    Collection,
    EnvironmentSecrets,
    Folder,
    KeyringSecrets,
    Problem,
    RequestItem,
    SecretStore,
    build_resolver,
    load_collection,
)
from app.collections.format import COLLECTION_FILE
from app.collections.prepare import PrepareError, prepare

DEFAULT_TIMEOUT = 30.0


@dataclass
class Result:
    iteration: int
    name: str  # "Folder / Request"
    path: str
    method: str
    status: int | None = None
    reason: str = ""
    duration: float = 0.0
    size: int = 0
    passed: bool = False
    kind: str = ""  # "" when passed; else "status", "network", "prepare", "file"
    message: str = ""
    folders: list[str] = field(default_factory=list)


# -- finding what to run -----------------------------------------------------------------------
def find_root(path: Path) -> tuple[Path, str]:
    """The collection folder holding ``path`` and ``path`` relative to it ("" for all of it)."""
    path = path.resolve()
    start = path if path.is_dir() else path.parent
    for candidate in [start, *start.parents]:
        if (candidate / COLLECTION_FILE).is_file():
            rel = path.relative_to(candidate).as_posix()
            return candidate, "" if rel == "." else rel
    return (path, "") if path.is_dir() else (path.parent, path.name)


def selected(collection: Collection, sub: str) -> list[tuple[list[Folder], RequestItem]]:
    items = collection.root.walk()
    if not sub:
        return items
    return [(chain, item) for chain, item in items
            if item.path == sub or item.path.startswith(sub.rstrip("/") + "/")]


def display_name(chain: list[Folder], item: RequestItem) -> str:
    return " / ".join([*(f.name for f in chain[1:]), item.name])


# -- running -----------------------------------------------------------------------------------
async def run_requests(root: Path, collection: Collection, items: list[tuple[list[Folder], RequestItem]],
                       env_name: str | None, iterations: int, secrets: SecretStore | None,
                       overrides: dict[str, str], timeout: float,
                       on_result: Callable[[Result], None], notes: list[str]) -> list[Result]:
    from core import NetworkManager
    from core.errors import NetworkError, error_for_status

    env = collection.environment(env_name) if env_name else None
    from app.collections.prepare import answer_credentials

    manager = NetworkManager()
    manager.transfer_timeout = timeout
    manager.questions.subscribe(answer_credentials)  # digest credentials; certificate errors are refused
    results: list[Result] = []
    try:
        for iteration in range(1, iterations + 1):
            resolver = build_resolver(collection, env, secrets, {**overrides, "$iteration": str(iteration)})
            for note in resolver.notes:
                if note not in notes:
                    notes.append(note)
            for chain, item in items:
                res = Result(iteration, display_name(chain, item), item.path, item.method.upper(),
                             folders=[f.name for f in chain[1:]])
                try:
                    prepared = prepare(collection, item, resolver, chain, root)
                except PrepareError as exc:
                    res.kind, res.message = "prepare", str(exc)
                    results.append(res)
                    on_result(res)
                    continue
                if prepared.unresolved:
                    names = ", ".join("{{" + n + "}}" for n in sorted(prepared.unresolved))
                    missing = sorted(prepared.unresolved & resolver.missing_secrets)
                    hint = f" (secret not in the keyring: {', '.join(missing)})" if missing else ""
                    res.kind, res.message = "prepare", f"unresolved variables {names}{hint}"
                    results.append(res)
                    on_result(res)
                    continue
                request, body = prepared.to_core()
                start = time.perf_counter()
                reply = manager.send_custom_request(request, prepared.method, body)
                if prepared.credentials is not None:
                    reply.extra["credentials"] = prepared.credentials
                await reply.wait()
                res.duration = reply.timings.total or (time.perf_counter() - start)
                res.status, res.reason, res.size = reply.status, reply.reason, reply.bytes_received
                reply.close()
                transfer_error = reply.error is not NetworkError.NoError and (
                    reply.status is None or reply.error is not error_for_status(reply.status))
                if reply.status is None or transfer_error:
                    res.kind = "network"  # no answer, or the transfer broke (timeout, redirect loop)
                    res.message = resolver.redact(f"{reply.error.name}: {reply.error_string}")
                elif item.expect_status:
                    res.passed = reply.status in item.expect_status
                    if not res.passed:
                        want = ", ".join(map(str, item.expect_status))
                        res.kind, res.message = "status", f"expected {want}, got {reply.status} {reply.reason}".strip()
                elif reply.status >= 400:
                    res.kind, res.message = "status", f"HTTP {reply.status} {reply.reason}".strip()
                else:
                    res.passed = True
                results.append(res)
                on_result(res)
    finally:
        await manager.aclose()
    return results


# -- output ------------------------------------------------------------------------------------
def fmt_time(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.2f} s"


def fmt_size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


class Table:
    """Rows as results arrive; a progress bar on stderr when it is a terminal."""

    def __init__(self, out: TextIO, err: TextIO, total: int, name_width: int) -> None:
        self.out, self.err, self.total = out, err, total
        self.done = 0
        self.width = max(7, min(name_width, 48))
        self.tty = err.isatty()

    def header(self) -> None:
        self.out.write(f"{'#':>4}  {'request':<{self.width}}  {'method':<7} {'status':>6} {'time':>9} "
                       f"{'size':>9}  result\n")
        self.out.flush()

    def row(self, r: Result) -> None:
        self.done += 1
        self._clear()
        name = r.name if len(r.name) <= self.width else r.name[: self.width - 3] + "..."
        status = str(r.status) if r.status is not None else "-"
        verdict = "ok" if r.passed else f"FAIL  {r.message}"
        self.out.write(f"{self.done:>4}  {name:<{self.width}}  {r.method:<7} {status:>6} "
                       f"{fmt_time(r.duration):>9} {fmt_size(r.size):>9}  {verdict}\n")
        self.out.flush()
        self._bar(r.name)

    def _bar(self, last: str) -> None:
        if not self.tty or self.done >= self.total:
            return
        cols = shutil.get_terminal_size((80, 20)).columns
        n = 24
        filled = n * self.done // max(1, self.total)
        text = f"[{'#' * filled}{'.' * (n - filled)}] {self.done}/{self.total}  {last}"
        self.err.write("\r\033[K" + text[: cols - 1])
        self.err.flush()

    def _clear(self) -> None:
        if self.tty:
            self.err.write("\r\033[K")
            self.err.flush()


def write_junit(path: Path, collection: Collection, results: list[Result], problems: list[Problem],
                total_time: float, iterations: int) -> None:
    import xml.etree.ElementTree as ET

    failures = sum(1 for r in results if r.kind == "status")
    errors = sum(1 for r in results if r.kind in ("network", "prepare")) + len(problems)
    tests = len(results) + len(problems)
    suites = ET.Element("testsuites", name="courier", tests=str(tests), failures=str(failures),
                        errors=str(errors), time=f"{total_time:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=collection.name, tests=str(tests), failures=str(failures),
                          errors=str(errors), skipped="0", time=f"{total_time:.3f}",
                          timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"))
    for p in problems:
        case = ET.SubElement(suite, "testcase", classname=collection.name, name=str(p.path.name), time="0")
        ET.SubElement(case, "error", message=str(p), type="file").text = str(p)
    for r in results:
        name = r.name.rsplit(" / ", 1)[-1] + (f" [iteration {r.iteration}]" if iterations > 1 else "")
        classname = ".".join([collection.name, *r.folders])
        case = ET.SubElement(suite, "testcase", classname=classname, name=name, time=f"{r.duration:.3f}")
        case.set("file", r.path)
        if not r.passed:
            tag = "failure" if r.kind == "status" else "error"
            ET.SubElement(case, tag, message=r.message, type=r.kind).text = f"{r.method} {r.name}: {r.message}"
        else:
            ET.SubElement(case, "system-out").text = f"{r.method} {r.status} {r.reason} {r.size} bytes".strip()
    ET.indent(suites)
    data = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="utf-8") + b"\n"
    from app.collections.atomic import atomic_write

    atomic_write(path, data)


# -- the command -------------------------------------------------------------------------------
def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="run a collection headless (exit status 1 when a request fails)",
                       description="Run the requests of a collection (or one folder or request file of "
                                   "it) in order and print what came back.")
    p.add_argument("path", metavar="PATH", help="a collection folder, a folder in it, or one request file")
    p.add_argument("--env", metavar="NAME", help="the environment to use (its name or file name)")
    p.add_argument("--iterations", "-n", type=int, default=1, metavar="N", help="run everything N times")
    p.add_argument("--junit", metavar="FILE", help="write a JUnit XML report to FILE")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                   help="set a variable for this run (overrides collection and environment)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"per-request inactivity timeout (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--no-keyring", action="store_true",
                   help="do not read secrets from the keyring (only COURIER_SECRET_<NAME> variables)")


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop

        return uvloop.new_event_loop  # type: ignore[no-any-return]
    except ImportError:
        return asyncio.new_event_loop


def run_command(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    if args.iterations < 1:
        err.write("courier run: --iterations must be at least 1\n")
        return 2
    overrides: dict[str, str] = {}
    for spec in args.var:
        if "=" not in spec:
            err.write(f"courier run: --var expects NAME=VALUE, got {spec!r}\n")
            return 2
        k, v = spec.split("=", 1)
        overrides[k.strip()] = v
    target = Path(args.path)
    if not target.exists():
        err.write(f"courier run: {target} does not exist\n")
        return 2
    root, sub = find_root(target)
    collection, problems = load_collection(root)
    if sub and not selected(collection, sub) and collection.find(sub) is None:
        broken = [p for p in problems if p.path.resolve() == target.resolve()]
        err.write(f"courier run: {broken[0] if broken else f'{target} is not a request or folder of the collection'}\n")
        return 2 if not broken else 1
    if args.env and collection.environment(args.env) is None:
        names = ", ".join(e.name for e in collection.environments) or "none"
        err.write(f"courier run: no environment {args.env!r} in {root} (environments: {names})\n")
        return 2
    for p in problems:
        err.write(f"courier run: cannot read {p}\n")
    items = selected(collection, sub)
    secrets: SecretStore = EnvironmentSecrets() if args.no_keyring else ChainSecrets(KeyringSecrets(),
                                                                                    EnvironmentSecrets())
    total = len(items) * args.iterations
    table = Table(out, err, total, max([len(display_name(c, i)) for c, i in items] or [7]))
    env_text = f", environment {collection.environment(args.env).name!r}" if args.env else ""  # type: ignore[union-attr]
    out.write(f"{collection.name}: {len(items)} request(s) x {args.iterations}{env_text}\n")
    table.header()
    notes: list[str] = []
    started = time.perf_counter()
    results = asyncio.run(run_requests(root, collection, items, args.env, args.iterations, secrets, overrides,
                                       args.timeout, table.row, notes), loop_factory=_loop_factory())
    elapsed = time.perf_counter() - started
    for note in notes:
        err.write(f"courier run: {note}\n")
    failed = sum(1 for r in results if not r.passed)
    out.write(f"{len(results)} run, {len(results) - failed} passed, {failed} failed"
              f"{f', {len(problems)} unreadable file(s)' if problems else ''} in {fmt_time(elapsed)}\n")
    if args.junit:
        try:
            write_junit(Path(args.junit), collection, results, problems, elapsed, args.iterations)
        except OSError as exc:
            err.write(f"courier run: cannot write {args.junit}: {exc.strerror or exc}\n")
            return 2
    return 1 if failed or problems else 0


COMMANDS = ("run", "import", "export", "secret")


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``run``, ``import`` and ``export``."""
    from app import cli_transfer

    add_parser(sub)
    cli_transfer.add_parsers(sub)
    cli_transfer.add_secret_parser(sub)


def dispatch(args: argparse.Namespace) -> int:
    from app import cli_transfer

    if args.command == "import":
        return cli_transfer.import_command(args, sys.stdout, sys.stderr)
    if args.command == "export":
        return cli_transfer.export_command(args, sys.stdout, sys.stderr)
    if args.command == "secret":
        return cli_transfer.secret_command(args, sys.stdout, sys.stderr)
    return run_command(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="courier")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    return dispatch(parser.parse_args(argv))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
