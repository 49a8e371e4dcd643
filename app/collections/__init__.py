"""Collections: saved requests as plain files the user owns, environments and variables.

Qt-free. A collection is a folder: ``collection.toml`` (name, id, headers, auth, variables), one
``.toml`` file per request, sub-folders with a ``folder.toml``, and ``environments/*.toml``.
Secret variable values live in the keyring (``secrets.py``); files hold only their names.
See docs/collections.md.
"""

from app.collections.format import CURRENT_FORMAT, FormatError
from app.collections.loader import NotACollection, Problem, load_collection
from app.collections.model import (
    Auth,
    Body,
    Collection,
    Environment,
    Folder,
    FormField,
    Header,
    RequestItem,
    Variable,
)
from app.collections.prepare import Prepared, PrepareError, prepare
from app.collections.secrets import (
    ChainSecrets,
    EnvironmentSecrets,
    KeyringSecrets,
    MemorySecrets,
    SecretStore,
    SecretsUnavailable,
)
from app.collections.store import CollectionStore, StoreError, slugify
from app.collections.variables import Resolver, build_resolver

__all__ = [
    "CURRENT_FORMAT", "Auth", "Body", "ChainSecrets", "Collection", "CollectionStore", "Environment",
    "EnvironmentSecrets", "Folder", "FormField", "FormatError", "Header", "KeyringSecrets", "MemorySecrets",
    "NotACollection", "PrepareError", "Prepared", "Problem", "RequestItem", "Resolver", "SecretStore",
    "SecretsUnavailable", "StoreError", "Variable", "build_resolver", "load_collection", "prepare", "slugify",
]
