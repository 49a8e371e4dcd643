"""The collections sidebar under pytest-qt: the tree, changes saved to disk, changes on disk picked up."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt

from app.collections import CollectionStore, Environment, Header, RequestItem, Variable, load_collection
from app.ui.sidebar import CollectionSidebar


def rows(sidebar: CollectionSidebar, parent: QModelIndex | None = None, depth: int = 0) -> list[str]:
    m = sidebar.model
    parent = parent or QModelIndex()
    out = []
    for r in range(m.rowCount(parent)):
        idx = m.index(r, 0, parent)
        out.append("  " * depth + str(idx.data(Qt.ItemDataRole.EditRole)))
        out += rows(sidebar, idx, depth + 1)
    return out


@pytest.fixture
def collection(tmp_path: Path) -> CollectionStore:
    store = CollectionStore.create(tmp_path / "api", "Pet API")
    store.new_request("", RequestItem("List pets", url="http://127.0.0.1/pets", headers=[Header("Accept", "*/*")]))
    users = store.new_folder("", "Users")
    store.new_request(users, RequestItem("Create user", "POST", "http://127.0.0.1/users"))
    store.new_request(users, RequestItem("Delete user", "DELETE", "http://127.0.0.1/users/1"))
    store.save_environment(Environment("dev", [Variable("base", "http://127.0.0.1:1")]))
    store.save_environment(Environment("prod", [Variable("base", "https://api.example")]))
    return store


@pytest.fixture
def sidebar(qtbot: Any, collection: CollectionStore) -> CollectionSidebar:
    w = CollectionSidebar()
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.loaded, timeout=10000):
        w.open_collection(collection.root)
    return w


def changed(qtbot: Any, sidebar: CollectionSidebar, action: Any) -> None:
    with qtbot.waitSignal(sidebar.loaded, timeout=10000):
        action()


def test_the_tree_and_the_environments(sidebar: CollectionSidebar) -> None:
    assert rows(sidebar) == ["List pets", "Users", "  Create user", "  Delete user"]
    assert sidebar.title.text() == "Pet API"
    assert [sidebar.env_box.itemText(i) for i in range(sidebar.env_box.count())] == ["No environment", "dev", "prod"]
    idx = sidebar.model.index(0, 0)
    assert idx.data() == "GET    List pets" and "http://127.0.0.1/pets" in idx.data(Qt.ItemDataRole.ToolTipRole)
    assert sidebar.problem_label.isHidden()


def test_switching_environment_is_one_click(qtbot: Any, sidebar: CollectionSidebar) -> None:
    with qtbot.waitSignal(sidebar.environment_changed, timeout=2000) as sig:
        sidebar.env_box.setCurrentIndex(2)
    assert sig.args == ["prod"] and sidebar.environment == "prod"


def test_opening_a_request_emits_it(qtbot: Any, sidebar: CollectionSidebar) -> None:
    idx = sidebar.model.index_for_path("users/create-user.toml")
    with qtbot.waitSignal(sidebar.request_opened, timeout=2000) as sig:
        sidebar.view.activated.emit(idx)
    item = sig.args[0]
    assert isinstance(item, RequestItem) and (item.name, item.method) == ("Create user", "POST")
    with qtbot.assertNotEmitted(sidebar.request_opened):
        sidebar.view.activated.emit(sidebar.model.index_for_path("users"))


def test_create_rename_duplicate_delete_are_saved(qtbot: Any, sidebar: CollectionSidebar,
                                                  collection: CollectionStore) -> None:
    root = collection.root
    sidebar.view.setCurrentIndex(sidebar.model.index_for_path("users"))
    changed(qtbot, sidebar, lambda: sidebar.new_request(edit=False))
    assert (root / "users" / "new-request.toml").is_file()
    assert sidebar.selected_path() == "users/new-request.toml"
    changed(qtbot, sidebar, lambda: sidebar.model.setData(sidebar.model.index_for_path("users/new-request.toml"),
                                                          "Find user"))
    assert (root / "users" / "find-user.toml").is_file() and not (root / "users" / "new-request.toml").exists()
    assert rows(sidebar) == ["List pets", "Users", "  Create user", "  Delete user", "  Find user"]
    changed(qtbot, sidebar, lambda: sidebar.duplicate("list-pets.toml"))
    assert rows(sidebar)[:2] == ["List pets", "List pets copy"] and (root / "list-pets-copy.toml").is_file()
    changed(qtbot, sidebar, lambda: sidebar.new_folder("", "Orders", edit=False))
    assert (root / "orders" / "folder.toml").is_file()
    sidebar.confirm = lambda question: "Users" in question
    changed(qtbot, sidebar, lambda: sidebar.delete("users"))
    assert not (root / "users").exists()
    asked: list[str] = []
    sidebar.confirm = lambda question: asked.append(question) is not None  # answers no
    sidebar.delete("list-pets.toml")
    assert sidebar.wait_idle() and asked == ["Delete the request “List pets”? The files are removed from the "
                                             "collection folder."]
    assert (root / "list-pets.toml").exists()
    col, problems = load_collection(root)
    assert problems == [] and [r.name for r in col.requests()] == ["List pets", "List pets copy"]


def test_drag_and_drop_moves_files(qtbot: Any, sidebar: CollectionSidebar, collection: CollectionStore) -> None:
    m = sidebar.model
    src = m.index_for_path("list-pets.toml")
    data = m.mimeData([src])
    users = m.index_for_path("users")
    assert m.canDropMimeData(data, Qt.DropAction.MoveAction, 1, 0, users)
    assert not m.canDropMimeData(m.mimeData([users]), Qt.DropAction.MoveAction, 0, 0, users)  # into itself
    assert not m.canDropMimeData(data, Qt.DropAction.MoveAction, 0, 0, m.index_for_path("users/create-user.toml"))
    changed(qtbot, sidebar, lambda: m.dropMimeData(data, Qt.DropAction.MoveAction, 1, 0, users))
    assert rows(sidebar) == ["Users", "  Create user", "  List pets", "  Delete user"]
    assert (collection.root / "users" / "list-pets.toml").is_file()
    assert sidebar.selected_path() == "users/list-pets.toml"
    # within a folder, downwards: the row counts the dragged item itself
    first = m.index_for_path("users/create-user.toml")
    changed(qtbot, sidebar, lambda: m.dropMimeData(m.mimeData([first]), Qt.DropAction.MoveAction, 3, 0,
                                                   m.index_for_path("users")))
    assert rows(sidebar) == ["Users", "  List pets", "  Delete user", "  Create user"]
    col, _ = load_collection(collection.root)
    assert [r.name for r in col.requests()] == ["List pets", "Delete user", "Create user"]


def test_changes_on_disk_are_picked_up(qtbot: Any, sidebar: CollectionSidebar, collection: CollectionStore) -> None:
    root = collection.root
    sidebar.view.expandAll()
    # an editor changes a name in place
    path = root / "list-pets.toml"
    with qtbot.waitSignal(sidebar.loaded, timeout=10000):
        path.write_text(path.read_text().replace('name = "List pets"', 'name = "All pets"'))
    assert rows(sidebar)[0] == "All pets"
    # a git pull: new files, a removed one, a replaced one
    other = CollectionStore.create(root.parent / "other", "x")
    other.new_request("", RequestItem("Health", url="http://127.0.0.1/health"))
    with qtbot.waitSignal(sidebar.loaded, timeout=10000):
        shutil.copy(other.root / "health.toml", root / "users" / "health.toml")
        os.unlink(root / "users" / "delete-user.toml")
    qtbot.waitUntil(lambda: "  Health" in rows(sidebar) and "  Delete user" not in rows(sidebar), timeout=10000)
    assert sidebar.view.isExpanded(sidebar.model.index_for_path("users"))  # expansion survives reloads
    # a new environment appears in the switch
    with qtbot.waitSignal(sidebar.loaded, timeout=10000):
        CollectionStore(root).save_environment(Environment("staging"))
    assert sidebar.env_box.findText("staging") >= 0


def test_a_broken_file_is_shown_and_the_rest_loads(qtbot: Any, sidebar: CollectionSidebar,
                                                   collection: CollectionStore) -> None:
    with qtbot.waitSignal(sidebar.loaded, timeout=10000):
        (collection.root / "users" / "create-user.toml").write_text('courier_format = 1\nname = "x\n')
    qtbot.waitUntil(lambda: not sidebar.problem_label.isHidden(), timeout=10000)
    assert "users/create-user.toml:2: not valid TOML" in sidebar.problem_label.text()
    assert rows(sidebar) == ["List pets", "Users", "  Delete user"]
    with qtbot.waitSignal(sidebar.loaded, timeout=10000):
        (collection.root / "users" / "create-user.toml").write_text('courier_format = 1\nname = "Fixed"\nurl = "x"\n')
    qtbot.waitUntil(lambda: sidebar.problem_label.isHidden(), timeout=10000)
    assert "  Fixed" in rows(sidebar)


def test_saving_a_request_from_the_composer(qtbot: Any, sidebar: CollectionSidebar,
                                            collection: CollectionStore) -> None:
    changed(qtbot, sidebar, lambda: sidebar.save_request(RequestItem("From composer", "PUT", "http://h/x"), "users"))
    assert (collection.root / "users" / "from-composer.toml").is_file()
    item = sidebar.collection.find("users/from-composer.toml") if sidebar.collection else None
    assert isinstance(item, RequestItem)
    item.url = "http://h/changed"
    changed(qtbot, sidebar, lambda: sidebar.save_request(item))
    assert 'url = "http://h/changed"' in (collection.root / "users" / "from-composer.toml").read_text()


def test_an_error_is_shown_not_raised(qtbot: Any, sidebar: CollectionSidebar) -> None:
    changed(qtbot, sidebar, lambda: sidebar.move(["users"], "users", 0))
    assert "into itself" in sidebar.last_error and not sidebar.problem_label.isHidden()


def test_secret_values_are_entered_in_a_dialog_and_never_written_to_files(
        qtbot: Any, sidebar: CollectionSidebar, collection: CollectionStore) -> None:
    from keyring.backends.fail import Keyring as FailKeyring

    from app.collections import KeyringSecrets, MemorySecrets
    from app.collections.secrets import COLLECTION_SCOPE, env_scope, secret_key

    collection.reload()
    collection.collection.variables = [Variable("token", secret=True)]
    collection.save_collection()
    prod = collection.collection.environment("prod")
    assert prod is not None
    prod.variables.append(Variable("password", secret=True))
    with qtbot.waitSignal(sidebar.loaded, timeout=10000):
        collection.save_environment(prod)
    qtbot.waitUntil(lambda: sidebar.collection is not None and sidebar.collection.variables != [], timeout=10000)
    sidebar.secrets = MemorySecrets()
    sidebar.set_environment("prod")
    dialog = sidebar.secrets_dialog()
    assert dialog is not None
    qtbot.addWidget(dialog)
    cid = collection.collection.id
    token_key, pw_key = secret_key(cid, COLLECTION_SCOPE, "token"), secret_key(cid, env_scope("prod"), "password")
    assert list(dialog.fields) == [token_key, pw_key]  # type: ignore[attr-defined]
    assert dialog.states[token_key].text() == "not set"  # type: ignore[attr-defined]
    dialog.fields[token_key].setText("dlg-secret-123")  # type: ignore[attr-defined]
    assert dialog.save()  # type: ignore[attr-defined]
    assert sidebar.secrets.get(token_key) == "dlg-secret-123"
    assert sidebar.resolver().substitute("{{token}}") == "dlg-secret-123"
    for path in collection.root.rglob("*"):
        assert not path.is_file() or b"dlg-secret-123" not in path.read_bytes()
    sidebar.secrets = KeyringSecrets(backend=FailKeyring())
    broken = sidebar.secrets_dialog()
    qtbot.addWidget(broken)
    broken.fields[token_key].setText("x")  # type: ignore[union-attr]
    assert not broken.save()  # type: ignore[union-attr]
    assert "keyring is not available" in broken.message.text()  # type: ignore[union-attr]
