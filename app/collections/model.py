"""What a collection holds: requests, folders, collection settings, environments and variables.

Plain dataclasses with no I/O; ``format.py`` turns them into files and back, ``store.py`` keeps
them on disk. A node's ``path`` is where it lives relative to the collection folder
(``users/create-user.toml``, ``users`` for a folder) and serves as its identity.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

BODY_TYPES = ("none", "text", "json", "xml", "form", "multipart", "file", "graphql")
AUTH_TYPES = ("inherit", "none", "basic", "bearer", "digest", "apikey")
DEFAULT_CONTENT_TYPES = {
    "text": "text/plain; charset=utf-8",
    "json": "application/json",
    "xml": "application/xml",
    "graphql": "application/json",
}


@dataclass
class Header:
    name: str
    value: str = ""
    enabled: bool = True


@dataclass
class FormField:
    """A form field: ``value`` text, or ``file`` (a path, relative to the collection folder)."""

    name: str
    value: str = ""
    file: str | None = None
    content_type: str | None = None
    enabled: bool = True


@dataclass
class Body:
    type: str = "none"
    text: str = ""
    content_type: str | None = None  # None: the type's default (or a Content-Type header)
    fields: list[FormField] = field(default_factory=list)
    file: str | None = None  # for type "file"
    variables: str = ""  # for type "graphql": the JSON text of the variables


@dataclass
class Auth:
    """``inherit`` takes the parent folder's (or the collection's) auth; ``none`` sends none.

    ``basic``/``digest``: username, password; ``bearer``: token; ``apikey``: key, value and
    ``in`` ("header" or "query"). Values may hold ``{{variables}}``.
    """

    type: str = "inherit"
    params: dict[str, str] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        return self.params.get(name, default)


@dataclass
class Variable:
    """A variable. A secret one keeps its value in the keyring: ``value`` is never written."""

    name: str
    value: str = ""
    secret: bool = False
    enabled: bool = True


@dataclass
class RequestItem:
    name: str
    method: str = "GET"
    url: str = ""
    headers: list[Header] = field(default_factory=list)
    body: Body = field(default_factory=Body)
    auth: Auth = field(default_factory=Auth)
    description: str = ""
    expect_status: list[int] = field(default_factory=list)  # statuses that count as success
    timeout: float | None = None  # seconds of inactivity; None: the app's default
    follow_redirects: bool | None = None  # None: the app's default policy
    order: int | None = None
    path: str = ""  # relative to the collection folder; set by the store
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys, written back unchanged

    def clone(self) -> RequestItem:
        return copy.deepcopy(self)


@dataclass
class Folder:
    name: str
    description: str = ""
    headers: list[Header] = field(default_factory=list)
    auth: Auth = field(default_factory=Auth)
    order: int | None = None
    path: str = ""  # "" for the collection's root
    children: list[Folder | RequestItem] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def folders(self) -> list[Folder]:
        return [c for c in self.children if isinstance(c, Folder)]

    def requests(self) -> list[RequestItem]:
        return [c for c in self.children if isinstance(c, RequestItem)]

    def walk(self) -> list[tuple[list[Folder], RequestItem]]:
        """Every request depth-first in order, with the folders leading to it (root first)."""
        out: list[tuple[list[Folder], RequestItem]] = []

        def go(folder: Folder, chain: list[Folder]) -> None:
            for child in folder.children:
                if isinstance(child, Folder):
                    go(child, [*chain, child])
                else:
                    out.append((chain, child))

        go(self, [self])
        return out


@dataclass
class Environment:
    name: str
    variables: list[Variable] = field(default_factory=list)
    path: str = ""  # relative to the collection folder, e.g. environments/dev.toml
    extra: dict[str, Any] = field(default_factory=dict)

    def secret_names(self) -> list[str]:
        return [v.name for v in self.variables if v.secret]


@dataclass
class Collection:
    """A collection: its root folder (the tree), settings, variables and environments."""

    name: str
    id: str = ""  # stable id (in collection.toml): the keyring key of the collection's secrets
    description: str = ""
    headers: list[Header] = field(default_factory=list)
    auth: Auth = field(default_factory=Auth)
    variables: list[Variable] = field(default_factory=list)
    root: Folder = field(default_factory=lambda: Folder(name=""))
    environments: list[Environment] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def environment(self, name: str) -> Environment | None:
        for env in self.environments:
            if env.name == name:
                return env
        low = name.lower()
        for env in self.environments:
            if env.name.lower() == low or env.path.rsplit("/", 1)[-1].removesuffix(".toml") == name:
                return env
        return None

    def find(self, path: str) -> Folder | RequestItem | None:
        if path in ("", "."):
            return self.root
        stack: list[Folder | RequestItem] = [self.root]
        while stack:
            node = stack.pop()
            if node.path == path:
                return node
            if isinstance(node, Folder):
                stack.extend(node.children)
        return None

    def requests(self) -> list[RequestItem]:
        return [item for _, item in self.root.walk()]
