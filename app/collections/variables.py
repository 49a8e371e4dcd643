"""``{{name}}`` substitution with collection and environment scopes.

Scopes, weakest first: collection variables, the selected environment's variables, then values
given for this run (``--var``). Values may refer to other variables (``{{host}}:{{port}}``);
a cycle or an unknown name is left as written and reported in ``unresolved``. Secret values come
from a ``SecretStore`` and are remembered in ``secret_values`` so logs and history can redact them.
A few dynamic variables exist: ``{{$guid}}``, ``{{$timestamp}}``, ``{{$isoTimestamp}}``,
``{{$randomInt}}``.
"""

from __future__ import annotations

import datetime
import random
import re
import time
import uuid
from collections.abc import Callable, Mapping

from app.collections.model import Collection, Environment, Variable
from app.collections.secrets import (
    COLLECTION_SCOPE,
    SecretStore,
    SecretsUnavailable,
    env_scope,
    secret_key,
)

VARIABLE = re.compile(r"\{\{\s*([^{}\s][^{}]*?)\s*\}\}")
MAX_DEPTH = 10

DYNAMIC: dict[str, Callable[[], str]] = {
    "$guid": lambda: str(uuid.uuid4()),
    "$uuid": lambda: str(uuid.uuid4()),
    "$timestamp": lambda: str(int(time.time())),
    "$isoTimestamp": lambda: datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
    .replace("+00:00", "Z"),
    "$randomInt": lambda: str(random.randint(0, 1000)),
}


def names_in(text: str) -> list[str]:
    return [m.group(1) for m in VARIABLE.finditer(text)]


class Resolver:
    """Substitutes variables; collects what could not be resolved and which secrets were used."""

    def __init__(self, values: Mapping[str, str] | None = None, secret_names: set[str] | None = None,
                 missing_secrets: set[str] | None = None) -> None:
        self.values: dict[str, str] = dict(values or {})
        self.secret_names = set(secret_names or ())
        self.missing_secrets = set(missing_secrets or ())
        self.unresolved: set[str] = set()
        self.notes: list[str] = []

    @property
    def secret_values(self) -> dict[str, str]:
        return {n: self.values[n] for n in self.secret_names if self.values.get(n)}

    def substitute(self, text: str) -> str:
        return self._sub(text, 0, ())

    def _sub(self, text: str, depth: int, seen: tuple[str, ...]) -> str:
        if "{{" not in text:
            return text

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in seen or depth >= MAX_DEPTH:
                self.unresolved.add(name)
                return m.group(0)
            if name in self.values:
                return self._sub(self.values[name], depth + 1, (*seen, name))
            if name in DYNAMIC:
                return DYNAMIC[name]()
            self.unresolved.add(name)
            return m.group(0)

        return VARIABLE.sub(repl, text)

    def redact(self, text: str) -> str:
        """``text`` with every secret value replaced by ``{{name}}`` (longest values first)."""
        for name, value in sorted(self.secret_values.items(), key=lambda kv: -len(kv[1])):
            if len(value) >= 1:
                text = text.replace(value, "{{" + name + "}}")
        return text


def _add(values: dict[str, str], secret_names: set[str], missing: set[str], variables: list[Variable],
         secrets: SecretStore | None, collection_id: str, scope: str, notes: list[str]) -> None:
    for var in variables:
        if not var.enabled:
            continue
        if not var.secret:
            values[var.name] = var.value
            secret_names.discard(var.name)
            continue
        secret_names.add(var.name)
        value = None
        if secrets is not None:
            try:
                value = secrets.get(secret_key(collection_id, scope, var.name))
            except SecretsUnavailable as exc:
                if str(exc) not in notes:
                    notes.append(str(exc))
        if value is None:
            missing.add(var.name)
            continue
        values[var.name] = value
        missing.discard(var.name)


def build_resolver(collection: Collection, environment: Environment | None = None,
                   secrets: SecretStore | None = None, overrides: Mapping[str, str] | None = None) -> Resolver:
    values: dict[str, str] = {}
    secret_names: set[str] = set()
    missing: set[str] = set()
    notes: list[str] = []
    _add(values, secret_names, missing, collection.variables, secrets, collection.id, COLLECTION_SCOPE, notes)
    if environment is not None:
        _add(values, secret_names, missing, environment.variables, secrets, collection.id,
             env_scope(environment.name), notes)
    for name, value in (overrides or {}).items():
        values[name] = value
        missing.discard(name)
    resolver = Resolver(values, secret_names, missing)
    resolver.notes = notes
    return resolver
