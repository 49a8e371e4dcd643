"""Hypothesis fuzz of the importers: any input gives a collection or a clear ``ImportFailed``, never a
crash, and a failed import never leaves a file behind."""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.collections import MemorySecrets
from app.importers import ImportFailed, parse, save_import
from tests.test_import import HAR, INSOMNIA, OPENAPI, POSTMAN

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
# keys the importers look at, so random objects hit the interesting branches
KEYS = ["info", "item", "request", "name", "method", "url", "header", "body", "mode", "raw", "auth", "type",
        "variable", "key", "value", "values", "_type", "__export_format", "resources", "_id", "parentId",
        "parameters", "headers", "authentication", "log", "entries", "postData", "params", "mimeType", "text",
        "openapi", "paths", "servers", "components", "$ref", "schema", "requestBody", "content", "get", "post",
        "formdata", "urlencoded", "graphql", "src", "disabled", "data", "queryString", "security"]
shaped = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=8) | st.sampled_from(
        ["GET", "POST", "request", "request_group", "workspace", "environment", "export", "raw", "formdata",
         "#/components/x", "3.0.0", "basic", "bearer", "apikey", "file", "{{x}}", "application/json"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS), children, max_size=6),
    max_leaves=30,
)
# COURIER_FUZZ_EXAMPLES=5000 for a long local run; CI keeps the default short
FUZZ = settings(max_examples=int(os.environ.get("COURIER_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def attempt(data: bytes | str, fmt: str | None) -> None:
    """Parse and save: success, or ImportFailed with a clear message and nothing written."""
    dest_parent = Path(tempfile.mkdtemp(prefix="courier-fuzz-"))
    try:
        dest = dest_parent / "out"
        try:
            result = parse(data, fmt, "fuzz")
            save_import(result, dest, MemorySecrets())
        except ImportFailed as exc:
            message = str(exc)
            assert message and "(internal:" not in message, message
            assert list(dest_parent.iterdir()) == [], "a failed import left files behind"
            return
        assert (dest / "collection.toml").is_file()
    finally:
        shutil.rmtree(dest_parent, ignore_errors=True)


@FUZZ
@given(st.sampled_from(["postman", "insomnia", "har", "openapi"]), st.one_of(json_values, shaped))
def test_random_documents(fmt: str, doc: Any) -> None:
    attempt(json.dumps(doc), fmt)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(doc: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    doc = copy.deepcopy(doc)
    if not path:
        return value
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    last = path[-1]
    if action == "delete":
        del parent[last]
    else:
        parent[last] = value
    return doc


def _samples() -> dict[str, Any]:
    import yaml

    return {"postman": json.loads(POSTMAN.read_text()), "insomnia": json.loads(INSOMNIA.read_text()),
            "har": json.loads(HAR.read_text()), "openapi": yaml.safe_load(OPENAPI.read_text())}


SAMPLES = _samples()


@FUZZ
@given(st.sampled_from(sorted(SAMPLES)), st.data())
def test_hand_broken_samples(fmt: str, data: st.DataObject) -> None:
    """A realistic file with one to three values replaced by nonsense or removed."""
    doc = SAMPLES[fmt]
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = data.draw(st.sampled_from(paths))
        action = data.draw(st.sampled_from(["replace", "delete"])) if path else "replace"
        doc = _mutate(doc, path, action, data.draw(st.one_of(json_values, shaped)))
    attempt(json.dumps(doc, default=str), fmt)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    attempt(data, None)


@FUZZ
@given(st.text(max_size=200))
def test_truncated_samples(junk: str) -> None:
    for sample in (POSTMAN, INSOMNIA, HAR):
        text = sample.read_text()
        cut = len(junk) * 37 % len(text)
        attempt(text[:cut] + junk, None)


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(["-X", "-H", "-d", "--data-raw", "-F", "-u", "--url", "-G", "-I",
                                           "--json", "-b", "-T", "-L", "'", '"', "\\", "$'\\x", "--oauth2-bearer"]),
                          st.text(max_size=15)), max_size=8))
def test_curl_commands(parts: list[str]) -> None:
    attempt("curl " + " ".join(parts), "curl")
