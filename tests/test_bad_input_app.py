"""Bad input at the app's edges: huge and random curl commands, invalid JSON in the body editor, and
imports that fail while writing. Only clear errors, never a crash, a freeze or a partial write.

(The importers' document fuzz is tests/test_import_fuzz.py; core URL and header checks are
tests/test_bad_input.py.)
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.collections import MemorySecrets, load_collection
from app.curl_import import CurlParseError, parse_curl
from app.importers import read_import, save_import
from app.request_spec import spec_from_curl
from tests.robust_results import record
from tests.test_import import POSTMAN

ROOT = Path(__file__).resolve().parents[1]
MB5 = 5 * 1024 * 1024
FUZZ = settings(max_examples=int(os.environ.get("COURIER_FUZZ_EXAMPLES", "300")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
CURL_WORDS = ["curl", "-X", "-H", "-d", "--data-raw", "--data-binary", "--data-urlencode", "-F", "-u", "--url", "-G",
              "-I", "--json", "-b", "-T", "-L", "-k", "-x", "-U", "--oauth2-bearer", "--compressed", "-sSL",
              "-XPOST", "-HX:1", "--max-time", "--connect-timeout", "--unix-socket", "--http2", "--", "'", '"',
              "\\", "\\\n", "^\n", "$'\\x", "$'\\u", "$'\\0", "@", "@-", "<", "=", ";type=", "http://127.0.0.1/",
              "127.0.0.1:1", "file:///etc/passwd", "{{x}}", "\x00", "\r\n", "\udcff", "a=b&c=d"]


def _parse_or_clear_error(text: str) -> str:
    """parse_curl and spec_from_curl give a request or CurlParseError; anything else fails the test."""
    try:
        parsed = parse_curl(text)
    except CurlParseError as exc:
        assert str(exc), "an empty error message"
        return "error"
    spec_from_curl(parsed)  # the composer's view of it must not crash either
    return "ok"


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(CURL_WORDS), st.text(max_size=12)), max_size=12),
       st.sampled_from([" ", "  ", "\t", " \\\n  "]))
def test_curl_parser_fuzz(words: list[str], sep: str) -> None:
    _parse_or_clear_error("curl " + sep.join(words))


@FUZZ
@given(st.text(max_size=300))
def test_curl_parser_random_text(text: str) -> None:
    _parse_or_clear_error(text)
    _parse_or_clear_error("curl " + text)


def _huge_commands() -> list[tuple[str, str, int]]:
    body = "x" * MB5
    return [
        ("5 MiB body in single quotes", f"curl http://127.0.0.1/x --data-raw '{body}'", MB5),
        ("5 MiB body in double quotes", f'curl http://127.0.0.1/x --data-raw "{body}"', MB5),
        ("5 MiB body unquoted", f"curl http://127.0.0.1/x --data-raw {body}", MB5),
        ("5 MiB of JSON in $'…' with \\n escapes", "curl http://127.0.0.1/x --json $'"
         + ('{"k": "v"},\\n' * (MB5 // 14)) + "'", len(('{"k": "v"},\n' * (MB5 // 14)).encode())),
        ("5 MiB as 400,000 -H options", "curl http://127.0.0.1/x " + "-H 'X-A: b' " * 400_000, 0),
        ("5 MiB with an unterminated quote at the end", f"curl http://127.0.0.1/x --data-raw '{body}", -1),
    ]


@pytest.mark.parametrize("case", range(6))
def test_a_huge_pasted_curl_command_is_read_quickly_or_refused_clearly(case: int) -> None:
    name, command, size = _huge_commands()[case]
    start = time.perf_counter()
    try:
        parsed = parse_curl(command)
        outcome = f"read: body {len(parsed.body or b''):,} bytes, {len(parsed.headers):,} headers"
    except CurlParseError as exc:
        parsed, outcome = None, f"CurlParseError: {exc}"
    took = time.perf_counter() - start
    record("Bad input", f"pasted curl command, {name} ({len(command) / 2**20:.1f} MiB)",
           "parsed (or a clear CurlParseError) without freezing", f"{outcome} in {took:.2f} s")
    if size < 0:
        assert parsed is None and "unterminated" in outcome
    else:
        assert parsed is not None and len(parsed.body or b"") == size
    assert took < 20  # generous: ~0.1 s for a body on an idle machine; it was 2.5-5 s per quoted body before


def test_invalid_json_in_the_body_editor_is_marked_and_never_sent(qtbot, http_server) -> None:  # type: ignore[no-untyped-def]
    from app.bridge import QtNetworkManager
    from app.ui.main_window import MainWindow

    manager = QtNetworkManager()
    window = MainWindow(manager, restore=False)
    qtbot.addWidget(window)
    try:
        c = window.composer()
        c.method.setCurrentText("POST")
        c.url.setText(http_server.url + "/echo")
        c.body_kind.setCurrentIndex(2)  # JSON
        broken = '{"name": "Ada",\n "tags": [1, 2,]}'
        c.json_edit.setPlainText(broken)
        before = len(http_server.seen.requests)
        window.send()
        blocked_message, marker = c.message.text(), c.json_status.text()
        sent_while_invalid = len(http_server.seen.requests) - before
        kept = c.json_edit.toPlainText() == broken
        c.json_edit.setPlainText('{"name": "Ada", "tags": [1, 2]}')
        window.send()
        qtbot.waitUntil(lambda: len(http_server.seen.requests) > before, timeout=20000)
        record("Bad input", "invalid JSON in the body editor, then fixed",
               "a marker at the error; Send blocked with a message; the text kept; sent once valid",
               f"marker {marker!r}; message {blocked_message!r}; {sent_while_invalid} sent while invalid; "
               f"text kept: {kept}; sent after the fix: {http_server.seen.requests[-1]['body']!r}")
        assert marker.startswith("✗ line 2") and "JSON body" in blocked_message
        assert sent_while_invalid == 0 and kept
        assert json.loads(http_server.seen.requests[-1]["body"]) == {"name": "Ada", "tags": [1, 2]}
    finally:
        manager.close()


def test_a_pasted_5_mib_body_is_previewed_read_only_and_sent_whole(qtbot, http_server) -> None:  # type: ignore[no-untyped-def]
    from app.bridge import QtNetworkManager
    from app.ui.composer_pages import BIG_EDIT, PREVIEW
    from app.ui.main_window import MainWindow
    from tests.ui_helpers import GapMonitor

    manager = QtNetworkManager()
    window = MainWindow(manager, restore=False)
    qtbot.addWidget(window)
    window.show()
    try:
        c = window.composer()
        body = ("0123456789abcdef" * 4 + " ") * (MB5 // 65)
        mon = GapMonitor(4).start()
        c.import_curl(f"curl {http_server.url}/echo -H 'Content-Type: text/plain' --data-raw '{body}'")
        qtbot.wait(50)
        mon.stop()
        c.tabs.setCurrentIndex(2)
        shown = c.raw_edit.document().characterCount() - 1
        banner = c.raw_big.label.text()
        read_only = c.raw_edit.isReadOnly()
        whole = c.spec().raw_text == body
        before = len(http_server.seen.requests)
        window.send()
        qtbot.waitUntil(lambda: len(http_server.seen.requests) > before, timeout=20000)
        sent = http_server.seen.requests[-1]["body"]
        record("Bad input", f"a curl command with a {len(body) / 2**20:.1f} MiB body pasted into the composer",
               "the window stays responsive; the body is kept and sent whole",
               f"editor shows {shown:,} characters read-only ({read_only}) with a note; longest GUI stall "
               f"{mon.longest * 1000:.0f} ms; sent {len(sent):,} bytes, equal to the body: {sent == body.encode()}")
        assert len(body) > BIG_EDIT and shown == PREVIEW and read_only and "MiB" in banner
        assert c.raw_big.isVisibleTo(c) and whole and sent == body.encode()
        c.raw_big.edit_anyway()  # the user's choice: the whole body in the editor, editable
        assert c.raw_edit.toPlainText() == body and not c.raw_edit.isReadOnly() and not c.raw_big.isVisibleTo(c)
        c.raw_edit.setPlainText("small")  # and a small body is edited in place as before
        assert c.spec().raw_text == "small"
        c.import_curl(f"curl {http_server.url}/echo --data-raw 'k={body}'")  # a form: a 5 MiB value in a cell
        shown_cell = c.form.data(c.form.index(0, 1))
        assert len(shown_cell) < 1100 and shown_cell.endswith(f"({len(body):,} characters)")
        assert c.spec().form[0].value == body
    finally:
        manager.close()


# -- imports that fail while writing --------------------------------------------------------------
_IMPORT_WRITER = r"""
import json, resource, signal, sys
from app.collections import MemorySecrets
from app.importers import ImportFailed, parse, save_import
mode, dest = sys.argv[1], sys.argv[2]
count = 200 if mode == "limit" else 40
items = [{"name": f"request {i}", "request": {"method": "POST", "url": f"http://127.0.0.1/{i}",
          "body": {"mode": "raw", "raw": "x" * (400_000 if i == count // 2 else 4000)}}} for i in range(count)]
doc = json.dumps({"info": {"name": "Big", "schema":
                 "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"}, "item": items})
if mode == "limit":  # a disk that fills up in the middle of the import
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))
    try:
        save_import(parse(doc, "postman"), dest, MemorySecrets())
        print("written")
    except ImportFailed as exc:
        print("ImportFailed:", exc)
else:  # import again and again until killed
    print("ready", flush=True)
    n = 0
    while True:
        save_import(parse(doc, "postman"), f"{dest}-{n}", MemorySecrets())
        print(n, flush=True)
        n += 1
"""


def test_an_import_that_runs_out_of_space_writes_nothing_and_says_so(tmp_path: Path) -> None:
    dest = tmp_path / "imported"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", _IMPORT_WRITER, "limit", str(dest)], capture_output=True,
                          env=env, timeout=120)
    out = done.stdout.decode().strip().replace(str(tmp_path), "…")
    left = sorted(p.name for p in tmp_path.iterdir())
    record("Bad input", "an import whose disk fills up half-way (RLIMIT_FSIZE: request 100 of 200 is too big)",
           "ImportFailed with a clear message; nothing written", f"{out or done.stderr.decode()[-200:]!s}",
           f"{len(left)} files or folders in the destination's folder")
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert out.startswith("ImportFailed:") and "cannot be written" in out, out
    assert left == []


def test_an_import_killed_at_any_moment_leaves_whole_collections_or_none(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rng = random.Random(99)
    rounds, whole = 0, 0
    deadline = time.monotonic() + 40
    while rounds < 12 and time.monotonic() < deadline:
        base = tmp_path / f"r{rounds}"
        base.mkdir()
        proc = subprocess.Popen([sys.executable, "-c", _IMPORT_WRITER, "loop", str(base / "c")],
                                stdout=subprocess.PIPE, env=env)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        rounds += 1
        for folder in sorted(base.iterdir()):
            if folder.name.startswith("."):
                continue  # the hidden temp folder of the interrupted import
            col, problems = load_collection(folder)
            assert problems == [] and len(list(col.requests())) == 40, folder  # never a partial collection
            whole += 1
    left = [p for p in tmp_path.rglob(".courier-tmp-import-*") if p.is_dir()]
    # Later (here: the leftovers aged by an hour), the next import into the same folder clears them.
    for p in left:
        os.utime(p, (time.time() - 3600, time.time() - 3600))
    for base in {p.parent for p in left}:
        save_import(read_import([POSTMAN]), base / "next", MemorySecrets())
    after = [p for p in tmp_path.rglob(".courier-tmp-import-*") if p.is_dir()]
    record("Bad input", f"an import of 40 requests killed with SIGKILL at a random moment ({rounds} kills)",
           "each collection folder complete or absent; the interrupted write cleared later",
           f"{whole} complete collections, none partial (the interrupted one is absent)",
           f"{len(left)} hidden .courier-tmp-import-* folders after the kills, {len(after)} after the next "
           "import into the same folder")
    assert rounds >= 5 and whole > 0  # some kills landed between imports, some in the middle
    assert len(left) <= rounds and after == []


def test_urlencoded_raw_bytes_are_percent_encoded_not_a_crash() -> None:
    """Found by the fuzz: ``--data-urlencode $'\\xff'`` raised UnicodeEncodeError out of the parser."""
    parsed = parse_curl("curl http://127.0.0.1/ --data-urlencode $'\\xff' --data-urlencode 'a=\udcff'")
    assert parsed.body == b"%FF&a=%FF"  # what curl sends for those bytes
