"""Cycles are collected on the GUI thread while a network thread runs (app/gc_guard.py): a Qt object
in a cycle must never be destroyed on the network thread."""

from __future__ import annotations

import gc
import threading

from app import gc_guard
from app.bridge import QtNetworkManager


class Cyclic:
    deaths: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        Cyclic.deaths.append(threading.current_thread().name)


def make_garbage_on_the_network_thread() -> None:
    for _ in range(20_000):  # far past generation 0's threshold: the collector would run here
        Cyclic()
        [[] for _ in range(3)]


def test_cycles_made_on_the_network_thread_die_on_the_gui_thread(qtbot) -> None:  # type: ignore[no-untyped-def]
    was_enabled = gc.isenabled()
    manager = QtNetworkManager()
    try:
        assert gc_guard.active() and not gc.isenabled()
        gc.collect()
        Cyclic.deaths.clear()
        manager.thread.run_sync(make_garbage_on_the_network_thread)
        assert Cyclic.deaths == []  # nothing collected over there
        qtbot.waitUntil(lambda: len(Cyclic.deaths) > 0, timeout=5000)  # the GUI thread's timer did it
        gc.collect()
        assert set(Cyclic.deaths) == {threading.main_thread().name} and len(Cyclic.deaths) == 20_000
    finally:
        manager.close()
    assert gc.isenabled() == was_enabled


def test_a_closed_manager_is_freed_without_the_collector(qtbot) -> None:  # type: ignore[no-untyped-def]
    import weakref

    manager = QtNetworkManager()
    manager.close()
    ref = weakref.ref(manager)
    del manager
    assert ref() is None  # no cycle through the core's question listeners is left
