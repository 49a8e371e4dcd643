"""A collection on disk: create, rename, move, duplicate, delete; broken files; git-friendly diffs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from app.collections import (
    Auth,
    Body,
    CollectionStore,
    Environment,
    Header,
    RequestItem,
    StoreError,
    Variable,
    load_collection,
    slugify,
)
from app.collections.atomic import TEMP_PREFIX, atomic_write, remove_stale_temp_files


def names(store: CollectionStore, path: str = "") -> list[str]:
    node = store.collection.find(path)
    assert node is not None and hasattr(node, "children")
    return [c.name for c in node.children]


@pytest.fixture
def store(tmp_path: Path) -> CollectionStore:
    s = CollectionStore.create(tmp_path / "api", "Pet store")
    s.new_request("", RequestItem("List pets", url="{{base}}/pets", headers=[Header("Accept", "application/json")]))
    users = s.new_folder("", "Users")
    s.new_request(users, RequestItem("Create user", "POST", "{{base}}/users",
                                     body=Body("json", '{\n  "name": "Ann"\n}')))
    s.new_request(users, RequestItem("Delete user", "DELETE", "{{base}}/users/1"))
    return s


def test_a_new_collection_is_plain_files(store: CollectionStore) -> None:
    files = sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())
    assert files == [".gitignore", "collection.toml", "list-pets.toml", "users/create-user.toml",
                     "users/delete-user.toml", "users/folder.toml"]
    assert names(store) == ["List pets", "Users"]
    assert names(store, "users") == ["Create user", "Delete user"]
    again, problems = load_collection(store.root)
    assert problems == [] and again.requests()[1].body.text == '{\n  "name": "Ann"\n}'


def test_rename_changes_the_name_and_the_file(store: CollectionStore) -> None:
    new = store.rename("users/create-user.toml", "Create a user (v2)")
    assert new == "users/create-a-user-v2.toml"
    assert not (store.root / "users/create-user.toml").exists()
    assert names(store, "users") == ["Create a user (v2)", "Delete user"]
    folder = store.rename("users", "People")
    assert folder == "people" and names(store, "people") == ["Create a user (v2)", "Delete user"]
    with pytest.raises(StoreError):
        store.rename("people", "  ")


def test_move_between_folders_and_reorder(store: CollectionStore) -> None:
    moved = store.move("list-pets.toml", "users", 1)
    assert moved == "users/list-pets.toml"
    assert names(store) == ["Users"]
    assert names(store, "users") == ["Create user", "List pets", "Delete user"]
    store.move("users/delete-user.toml", "users", 0)
    assert names(store, "users") == ["Delete user", "Create user", "List pets"]
    back = store.move("users/delete-user.toml", "", 0)
    assert names(store) == ["Delete user", "Users"] and back == "delete-user.toml"
    with pytest.raises(StoreError, match="into itself"):
        store.move("users", "users")


def test_moving_one_request_rewrites_only_that_file_when_there_is_room(store: CollectionStore) -> None:
    before = {p: p.read_bytes() for p in store.root.rglob("*.toml")}
    store.move("users/delete-user.toml", "users", 0)
    changed = [str(p.relative_to(store.root)) for p in store.root.rglob("*.toml") if before.get(p) != p.read_bytes()]
    assert changed == ["users/delete-user.toml"]


def test_duplicate_request_and_folder(store: CollectionStore) -> None:
    dup = store.duplicate("users/create-user.toml")
    assert names(store, "users") == ["Create user", "Create user copy", "Delete user"]
    assert store.node(dup).body.text == store.node("users/create-user.toml").body.text  # type: ignore[union-attr]
    folder = store.duplicate("users")
    assert names(store) == ["List pets", "Users", "Users copy"]
    assert names(store, folder) == ["Create user", "Create user copy", "Delete user"]
    assert not [p for p in store.root.rglob(TEMP_PREFIX + "*")]


def test_delete(store: CollectionStore) -> None:
    store.delete("users/delete-user.toml")
    assert names(store, "users") == ["Create user"]
    store.delete("users")
    assert names(store) == ["List pets"] and not (store.root / "users").exists()
    with pytest.raises(StoreError):
        store.delete("users")


def test_names_that_are_not_file_names(store: CollectionStore) -> None:
    for name in ["a/b\\c", "..", "CON", "ünïcødé 日本", "", "folder", "collection", " spaces  "]:
        store.new_request("", RequestItem(name or "x", url="http://x"))
    assert slugify("../../etc/passwd") == "etc-passwd"
    for p in store.root.iterdir():
        assert p.resolve().parent == store.root.resolve()
    _, problems = load_collection(store.root)
    assert problems == []
    assert "ünïcødé 日本" in names(store)


def test_broken_files_are_reported_with_path_and_line_and_the_rest_loads(store: CollectionStore) -> None:
    (store.root / "users/create-user.toml").write_text('courier_format = 1\nname = "Create user"\nurl = "http://x\n')
    (store.root / "users/delete-user.toml").write_text('courier_format = 1\nname = "D"\n\nheaders = "Accept: */*"\n')
    (store.root / "binary.toml").write_bytes(b"courier_format = 1\nname = \"\xff\xfe\"\n")
    (store.root / "users/folder.toml").write_text("name = [\n")
    col, problems = load_collection(store.root)
    found = {(p.path.relative_to(store.root).as_posix(), p.line) for p in problems}
    assert found == {("users/create-user.toml", 3), ("users/delete-user.toml", 4), ("binary.toml", 2),
                     ("users/folder.toml", 1)}
    assert all(p.message for p in problems)
    assert "users/delete-user.toml:4: headers must be a list" in "\n".join(map(str, problems))
    assert [r.name for r in col.requests()] == ["List pets"]
    assert [f.name for f in col.root.folders()] == ["users"]  # its folder.toml is broken: named after the folder


def test_a_file_from_a_newer_courier_is_reported_and_never_overwritten(store: CollectionStore) -> None:
    path = store.root / "future.toml"
    path.write_text('courier_format = 99\nname = "Future"\nurl = "http://x"\n')
    store.reload()
    assert any("newer Courier" in p.message and p.line == 1 for p in store.problems)
    store.move("list-pets.toml", "users", 0)
    assert path.read_text().startswith("courier_format = 99")


def test_environments_and_collection_settings(store: CollectionStore) -> None:
    col = store.collection
    col.variables = [Variable("base", "http://127.0.0.1:1"), Variable("token", secret=True)]
    col.headers = [Header("X-Client", "courier")]
    col.auth = Auth("bearer", {"token": "{{token}}"})
    store.save_collection()
    path = store.save_environment(Environment("Staging EU", [Variable("base", "https://staging")]))
    assert path == "environments/staging-eu.toml"
    again, problems = load_collection(store.root)
    assert problems == []
    assert again.variables == col.variables and again.auth == col.auth and again.headers == col.headers
    env = again.environment("staging-eu")
    assert env is not None and env.name == "Staging EU"
    assert "token" in (store.root / "collection.toml").read_text()
    assert names(store) == ["List pets", "Users"]  # environments/ is not part of the tree


def test_stale_temp_files_are_ignored_and_cleaned(store: CollectionStore) -> None:
    (store.root / f"{TEMP_PREFIX}list-pets.toml.abc").write_text("half a fi")
    (store.root / f"{TEMP_PREFIX}xyz").mkdir()
    _, problems = load_collection(store.root)
    assert problems == []
    assert len(remove_stale_temp_files(store.root)) == 2
    assert not list(store.root.glob(TEMP_PREFIX + "*"))


def test_atomic_write_keeps_permissions(tmp_path: Path) -> None:
    p = tmp_path / "x.toml"
    p.write_text("old")
    os.chmod(p, 0o640)
    atomic_write(p, "new")
    assert p.read_text() == "new" and (p.stat().st_mode & 0o777) == 0o640


def test_plain_folders_without_requests_are_not_in_the_tree(store: CollectionStore) -> None:
    (store.root / "files").mkdir()
    (store.root / "files" / "avatar.png").write_bytes(b"\x89PNG")
    (store.root / "README.md").write_text("# docs")
    store.reload()
    assert names(store) == ["List pets", "Users"] and store.problems == []


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_one_header_change_is_a_one_line_git_diff(store: CollectionStore) -> None:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.org", GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_SYSTEM="/dev/null")

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=store.root, env=env, capture_output=True, text=True,
                              check=True).stdout

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "collection")
    item = store.node("list-pets.toml")
    assert isinstance(item, RequestItem)
    item.headers[0].value = "application/xml"
    store.save_request(item)
    diff = git("diff", "--numstat")
    assert diff.split() == ["1", "1", "list-pets.toml"]
    body = [ln for ln in git("diff", "-U0").splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert body == ['-  { name = "Accept", value = "application/json" },',
                    '+  { name = "Accept", value = "application/xml" },']
    git("commit", "-qam", "one header")
    item.headers.append(Header("X-Trace", "1"))
    store.save_request(item)
    assert git("diff", "--numstat").split() == ["1", "0", "list-pets.toml"]  # adding a header: one line
