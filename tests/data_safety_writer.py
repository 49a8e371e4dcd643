"""A child process for tests/test_data_safety.py: every store the app keeps, saved over and over at
once (one thread each) until the parent kills the process with SIGKILL.

``python -m tests.data_safety_writer DATA_DIR COLLECTION_DIR`` prints ``ready`` once every store
was written once, then ``<store> <n>`` after each save that returned (what must survive the kill).
Each save holds one counter ``n`` in several places, so a torn file would not agree with itself.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PAD = "x" * 20_000  # big enough that a write takes a while


class MemoryKeyring:
    """An in-memory keyring backend (the index file is what is tested here, not the keyring)."""

    priority = 1

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, user: str) -> str | None:
        return self.data.get((service, user))

    def set_password(self, service: str, user: str, password: str) -> None:
        self.data[(service, user)] = password

    def delete_password(self, service: str, user: str) -> None:
        self.data.pop((service, user), None)


def writers(data: Path, collection: Path) -> dict[str, Callable[[int], Any]]:
    from app.collections import CollectionStore, Environment, Variable
    from app.history import History, HistoryEntry
    from app.secrets import Credential, CredentialKey, SecretStore
    from app.settings import Settings, SettingsFile
    from app.state import save_state
    from core.cookie_store import SqliteCookieStore
    from core.cookies import Cookie
    from core.hsts import HstsCache, HstsPolicy
    from core.tls.errors import SslError
    from core.tls.store import ExceptionKey, ExceptionStore

    store = CollectionStore(collection)
    env = Environment("dev", variables=[Variable("a", "0"), Variable("b", "0"), Variable("pad", PAD)])
    history = History(data / "history.db")
    cookies = SqliteCookieStore(data / "cookies.sqlite")
    hsts = HstsCache()
    hsts.enable_store(data / "hsts.json")
    tls = ExceptionStore(data)
    settings = SettingsFile.in_data_dir(data)
    secrets = SecretStore(data / "credentials.json", MemoryKeyring())

    class _Error:  # what ExceptionStore keeps of a CertificateError: the error and the fingerprint
        def __init__(self, n: int) -> None:
            self.error, self.fingerprint = SslError.SelfSignedCertificate, f"{n:064x}"

    def environment(n: int) -> None:
        env.variables[0].value = env.variables[1].value = str(n)
        store.save_environment(env)

    def history_(n: int) -> None:
        history.add(HistoryEntry("GET", f"http://127.0.0.1/{n}", reason=str(n), request_body=PAD.encode()))

    def cookies_(n: int) -> None:
        cookies.put(Cookie(f"c{n}", str(n) + PAD[:2000], "example.com", "/", expires=time.time() + 3600))

    def hsts_(n: int) -> None:
        hsts.add_hosts([HstsPolicy(f"h{n}.example", time.time() + 3600)])

    def tls_(n: int) -> None:
        tls.add(ExceptionKey.of(f"h{n}.example", 443, f"{n:064x}"), [_Error(n)], remember=True,  # type: ignore[list-item]
                subject=f"CN=h{n}.example")

    def settings_(n: int) -> None:
        settings.save(Settings(proxy_host=f"host-{n}", pac_url=f"http://pac.example/{n}"))

    def window_state(n: int) -> None:
        save_state({"a": n, "b": n, "pad": PAD}, data / "window-state.json")

    def credentials(n: int) -> None:
        secrets.remember(CredentialKey("server", "https", f"h{n % 30}.example", 443, "realm"),
                         Credential(f"user-{n}", "pw"))

    return {"environment": environment, "history": history_, "cookies": cookies_, "hsts": hsts_,
            "tls-exceptions": tls_, "settings": settings_, "window-state": window_state,
            "credentials-index": credentials}


def main(data: Path, collection: Path) -> None:
    jobs = writers(data, collection)
    out_lock = threading.Lock()
    started = threading.Barrier(len(jobs), action=lambda: print("ready", flush=True))

    def loop(name: str, save: Callable[[int], Any]) -> None:
        n = 0
        save(n)
        started.wait()
        while True:
            n += 1
            save(n)
            with out_lock:
                try:
                    sys.stdout.write(f"{name} {n}\n")
                    sys.stdout.flush()
                except BrokenPipeError:
                    os._exit(1)  # the test is gone

    for name, save in jobs.items():
        threading.Thread(target=loop, args=(name, save), daemon=True).start()
    while True:  # until SIGKILL (or the parent goes away: a write to the closed pipe ends a thread)
        time.sleep(1)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
