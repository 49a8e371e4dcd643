"""curl commands as users paste them (browser "Copy as cURL", API docs) become the right request."""

from __future__ import annotations

import pytest

from app.curl_import import CurlParseError, format_curl, looks_like_curl, parse_curl, tokenize
from app.request_spec import AuthKind, BodyKind, join_url, spec_from_curl, split_url


def test_chrome_copy_as_curl_bash() -> None:
    text = (
        "curl 'https://api.example.org/v1/items?page=2' \\\n"
        "  -H 'accept: application/json' \\\n"
        "  -H 'authorization: Bearer abc.def' \\\n"
        "  -H 'content-type: application/json' \\\n"
        "  --data-raw $'{\"name\":\"it\\'s\",\"n\":1}' \\\n"
        "  --compressed"
    )
    p = parse_curl(text)
    assert p.method == "POST"
    assert p.url == "https://api.example.org/v1/items?page=2"
    assert p.body == b'{"name":"it\'s","n":1}'
    assert ("accept", "application/json") in p.headers
    assert p.compressed
    spec = spec_from_curl(p)
    assert spec.body_kind is BodyKind.JSON and spec.json_text == '{"name":"it\'s","n":1}'
    assert spec.auth_kind is AuthKind.BEARER and spec.bearer_token == "abc.def"
    assert [h.name for h in spec.headers] == ["accept"]  # content-type comes from the JSON body kind


def test_short_options_combined_and_attached() -> None:
    p = parse_curl('curl -sSL -XPUT -H"X-A: 1" http://h/x -d a=1 -d b=2 -k --max-redirs 3')
    assert p.method == "PUT" and p.follow_redirects and p.insecure and p.max_redirects == 3
    assert p.headers[0] == ("X-A", "1")
    assert p.body == b"a=1&b=2"
    assert p.header("content-type") == "application/x-www-form-urlencoded"
    spec = spec_from_curl(p)
    assert spec.body_kind is BodyKind.FORM
    assert [(f.name, f.value) for f in spec.form] == [("a", "1"), ("b", "2")]


def test_get_mode_moves_data_into_the_query_and_url_without_scheme() -> None:
    p = parse_curl("curl -G example.org/search --data-urlencode 'q=a b&c' -d lang=en")
    assert p.method == "GET" and p.body is None
    assert p.url == "http://example.org/search?q=a+b%26c&lang=en"


def test_user_form_files_and_head() -> None:
    p = parse_curl("curl -u alice:s3cret -F 'f=@/tmp/a b.png;type=image/png' -F name=x https://h/up")
    assert (p.auth, p.user, p.password) == ("basic", "alice", "s3cret")
    assert p.method == "POST"
    assert p.form[0].path == "/tmp/a b.png" and p.form[0].content_type == "image/png"
    assert p.form[1].value == "x"
    spec = spec_from_curl(p)
    assert spec.body_kind is BodyKind.MULTIPART and spec.auth_kind is AuthKind.BASIC
    assert "s3cret" not in str(spec.to_dict())  # secrets never persist
    assert parse_curl("curl -I http://h/").method == "HEAD"
    assert parse_curl("curl --digest -u u:p http://h/").auth == "digest"
    assert parse_curl("curl -T file.bin http://h/").method == "PUT"


def test_windows_cmd_continuations() -> None:
    p = parse_curl('curl "http://h/a" ^\n  -H "X-Y: z" ^\n  --data-raw "^{^\\^"k^\\^":1^}"')
    assert p.url == "http://h/a" and ("X-Y", "z") in p.headers


def test_bad_input_gives_a_clear_error() -> None:
    with pytest.raises(CurlParseError, match="no URL"):
        parse_curl("curl -H 'A: b'")
    with pytest.raises(CurlParseError, match="start with 'curl'"):
        parse_curl("wget http://h/")
    with pytest.raises(CurlParseError, match="unterminated"):
        parse_curl("curl 'http://h/")
    with pytest.raises(CurlParseError, match="needs a value"):
        parse_curl("curl http://h/ -H")
    assert "ignored unknown option --frobnicate" in parse_curl("curl --frobnicate http://h/").warnings
    assert looks_like_curl("  curl http://x") and not looks_like_curl("https://curl.se")


def test_format_curl_round_trips() -> None:
    cmd = format_curl("PATCH", "http://h/a?x=1", [("A", "it's"), ("Empty", "")], b'{"k": "v\'"}')
    p = parse_curl(cmd)
    assert (p.method, p.url, p.body) == ("PATCH", "http://h/a?x=1", b'{"k": "v\'"}')
    assert p.headers == [("A", "it's"), ("Empty", "")]
    binary = bytes(range(256))
    assert parse_curl(format_curl("POST", "http://h/", [], binary)).body == binary
    assert tokenize("a 'b c' \"d\\\"e\" $'\\x41\\n'") == ["a", "b c", 'd"e', "A\n"]


def test_query_split_and_join() -> None:
    base, pairs, frag = split_url("http://h/p?a=1&b=x%20y&flag#top")
    assert base == "http://h/p" and pairs == [("a", "1"), ("b", "x y"), ("flag", "")] and frag == "#top"
    assert join_url(base, pairs, frag) == "http://h/p?a=1&b=x%20y&flag#top"
    assert join_url("http://h/", [("q", "a&b=c")]) == "http://h/?q=a%26b%3Dc"


def test_the_composers_quick_curl_check_agrees_with_the_parser() -> None:
    from app.ui.composer import looks_like_curl as quick

    for text in ("curl http://x", "  curl\n'http://x'", "curl", "curl.exe http://x", "https://curl.se",
                 "curly http://x", "", "wget http://x", "curl\thttp://x"):
        assert quick(text) == looks_like_curl(text), text
