"""The collection file format: TOML that reads back exactly, a fixed layout, versions and migrations."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.collections import format as fmt
from app.collections import tomlfmt
from app.collections.model import Auth, Body, Environment, FormField, Header, RequestItem, Variable

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)
keys = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12)
scalars = st.one_of(text, st.integers(-2**63, 2**63 - 1), st.booleans(),
                    st.floats(allow_nan=False), st.just(float("inf")))
records = st.lists(st.dictionaries(keys, st.one_of(text, st.integers(0, 10**6), st.booleans()), max_size=4),
                   max_size=4)
documents = st.dictionaries(
    keys,
    st.one_of(scalars, st.lists(st.one_of(text, st.integers(0, 99)), max_size=4), records,
              st.dictionaries(keys, st.one_of(scalars, records), max_size=4)),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_any_document_reads_back_exactly(doc: dict[str, Any]) -> None:
    doc = {k: v for k, v in doc.items() if not (isinstance(v, list) and v and not all(isinstance(x, dict) for x in v)
                                                and any(isinstance(x, dict) for x in v))}
    out = tomlfmt.dumps(doc)
    assert tomllib.loads(out) == doc


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=200))
def test_multiline_text_keeps_every_character(s: str) -> None:
    """CR, CRLF, tabs, quote runs, backslashes and a missing final newline all survive."""
    out = tomlfmt.dumps({"text": s + "\n" + s})
    assert tomllib.loads(out)["text"] == s + "\n" + s


@pytest.mark.parametrize("s", ['a"', 'a""', 'a"""', '""""""\n', "x\r\ny\r\n", "ends with backslash\\",
                               "\\\n", "\t\n\x00\x7f", "'''\n'''"])
def test_multiline_edge_cases(s: str) -> None:
    assert tomllib.loads(tomlfmt.dumps({"t": s}))["t"] == s


def test_unpaired_surrogate_is_a_clear_error() -> None:
    with pytest.raises(tomlfmt.TomlWriteError, match="surrogate"):
        tomlfmt.dumps({"t": "a\ud800b"})


def _full_request() -> RequestItem:
    return RequestItem(
        name="Create user", method="POST", url="{{base}}/users?x=1",
        headers=[Header("Accept", "application/json"), Header("X-Off", "1", enabled=False)],
        body=Body("multipart", fields=[FormField("name", "Ann"), FormField("avatar", file="files/a.png",
                                                                           content_type="image/png")]),
        auth=Auth("basic", {"username": "{{user}}", "password": "{{pass}}"}),
        description="Makes a user.\nSecond line.", expect_status=[201, 409], timeout=12.5,
        follow_redirects=False, order=30)


def test_request_round_trip_keeps_every_field() -> None:
    item = _full_request()
    text_out = fmt.dumps(fmt.request_to_doc(item))
    back = fmt.request_from_doc(tomllib.loads(text_out), "x")
    assert back == item


def test_layout_is_one_field_per_line_and_stable() -> None:
    item = _full_request()
    out = fmt.dumps(fmt.request_to_doc(item))
    assert out == fmt.dumps(fmt.request_to_doc(fmt.request_from_doc(tomllib.loads(out), "x")))
    lines = out.splitlines()
    assert lines[0] == "courier_format = 1"
    assert '  { name = "Accept", value = "application/json" },' in lines
    assert '  { name = "X-Off", value = "1", enabled = false },' in lines
    assert out.endswith("\n") and not out.endswith("\n\n")
    assert out.index("headers = [") < out.index("[body]") < out.index("[auth]") < out.index("[settings]")


def test_unknown_keys_are_kept() -> None:
    doc = tomllib.loads('courier_format = 1\nname = "a"\nurl = "http://x"\nfuture_key = [1, 2]\n'
                        '[future_table]\nk = "v"\n')
    item = fmt.request_from_doc(doc, "a")
    again = tomllib.loads(fmt.dumps(fmt.request_to_doc(item)))
    assert again["future_key"] == [1, 2] and again["future_table"] == {"k": "v"}


def test_secret_variables_are_written_without_values() -> None:
    env = Environment("prod", [Variable("base", "https://api"), Variable("token", "", secret=True)])
    out = fmt.dumps(fmt.environment_to_doc(env))
    assert '{ name = "token", secret = true }' in out
    assert fmt.environment_from_doc(tomllib.loads(out), "prod") == env


def test_a_secret_value_in_a_file_is_refused() -> None:
    with pytest.raises(fmt.FormatError, match="keyring"):
        fmt.environment_from_doc({"variables": [{"name": "t", "value": "leak", "secret": True}]}, "x")


def test_newer_format_is_refused_with_a_clear_message() -> None:
    with pytest.raises(fmt.FormatError, match="newer Courier"):
        fmt.request_from_doc({"courier_format": fmt.CURRENT_FORMAT + 1, "url": "http://x"}, "x")


def test_migrations_run_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of an older format goes through each step up to the current one."""
    steps: list[int] = []

    def v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
        steps.append(1)
        doc["url"] = doc.pop("address")  # pretend format 1 called it "address"
        return doc

    def v2_to_v3(doc: dict[str, Any]) -> dict[str, Any]:
        steps.append(2)
        doc["method"] = doc["method"].upper()
        return doc

    monkeypatch.setattr(fmt, "CURRENT_FORMAT", 3)
    monkeypatch.setattr(fmt, "MIGRATIONS", {1: v1_to_v2, 2: v2_to_v3})
    item = fmt.request_from_doc({"courier_format": 1, "address": "http://x", "method": "post"}, "x")
    assert (item.url, item.method, steps) == ("http://x", "POST", [1, 2])
    assert tomllib.loads(fmt.dumps(fmt.request_to_doc(item)))["courier_format"] == 3


@pytest.mark.parametrize("doc, key", [
    ({"method": 5}, "method"), ({"headers": "Accept: x"}, "headers"), ({"headers": [{"value": "x"}]}, "headers"),
    ({"body": {"type": "pdf"}}, "body"), ({"auth": {"type": "oauth9"}}, "auth"),
    ({"expect_status": ["404"]}, "expect_status"), ({"settings": {"timeout": "soon"}}, "settings"),
    ({"order": 1.5}, "order"), ({"courier_format": "one"}, "courier_format"),
])
def test_schema_errors_name_the_key(doc: dict[str, Any], key: str) -> None:
    with pytest.raises(fmt.FormatError) as info:
        fmt.request_from_doc({"url": "http://x", **doc}, "x")
    assert info.value.key == key and info.value.message


def test_read_errors_carry_the_line() -> None:
    with pytest.raises(tomlfmt.TomlReadError) as info:
        tomlfmt.loads('a = 1\nb = "x\nc = 3\n')
    assert info.value.line == 2
