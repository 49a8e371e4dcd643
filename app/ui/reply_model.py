"""The live reply list's model: columnar rows, filtering and sorting done here, not in a proxy.

Rows are stored column by column (``array`` for numbers, interned strings for repeating text), so
a row costs a few hundred bytes and 100,000 rows stay small; bodies and full details live in the
``ReplyStore`` (memory, then disk). Filtering and sorting keep an index array of row ids: a
``QSortFilterProxyModel`` calls back into Python for every comparison, which measured 48 s to sort
100,000 rows here; sorting the index with ``list.sort`` takes a tenth of a second, and live rows
go into place with ``bisect``. Updates arrive in batches (``apply``), at most once per frame.
"""

from __future__ import annotations

import bisect
import time
from array import array
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from app.reply_store import ReplyStore

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()  # kept: every temporary Qt value's destructor lets go of the GIL

COLUMNS = ["Method", "Host", "Path", "Status", "Type", "Size", "Time", "Protocol", "Remote", "Started",
           "Waterfall"]
(C_METHOD, C_HOST, C_PATH, C_STATUS, C_TYPE, C_SIZE, C_TIME, C_PROTO, C_REMOTE, C_START,
 C_WATERFALL) = range(len(COLUMNS))
PATH_LIMIT = 1000  # characters of path kept in the list (the store keeps the full URL)
WATERFALL_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ID_ROLE = Qt.ItemDataRole.UserRole + 2

# One row as a tuple, in this order (see ``values_of``):
# origin, path, method, status, error, ctype, size, elapsed, protocol, remote, wall_start, t_start, t_ttfb, t_end
RowValues = tuple[str, str, str, int, str | None, str, int, float, str, str, float, float, float, float]


def split_url(url: str) -> tuple[str, str]:
    """("scheme://netloc", "/path?query") without urllib (hot path)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, _, rest = url.partition(":")
        return scheme + ":", rest[:PATH_LIMIT]
    end = len(rest)
    for ch in "/?#":
        k = rest.find(ch)
        if 0 <= k < end:
            end = k
    return f"{scheme}://{rest[:end]}", (rest[end:] or "/")[:PATH_LIMIT]


def values_of(reply: Any) -> RowValues:
    """Read a core ``Reply`` (or anything shaped like one) into a row."""
    origin, path = split_url(reply.url)
    ctype = ""
    for k, v in reply.headers:
        if k.lower() == "content-type":
            ctype = v.split(";", 1)[0].strip()
            break
    tm = reply.timings
    t_ttfb = -1.0
    if tm.hops and tm.hops[-1].response_start is not None:
        t_ttfb = tm.hops[-1].response_start
    done = reply.is_finished
    t_end = tm.end if (done and tm.end is not None) else -1.0
    elapsed = (t_end - tm.start) if t_end >= 0 else -1.0
    err = reply.error.name if reply.error.value != 0 else None
    return (origin, path, reply.method, reply.status or 0, err, ctype,
            max(reply.bytes_received, reply.body.size), elapsed, reply.http_version or "",
            reply.remote_address or "", tm.wall_start, tm.start, t_ttfb, t_end)


def status_class(status: int, error: str | None) -> int:
    """1..5 for 1xx..5xx, 0 for a failure without a status (refused, TLS, timeout), -1 while running."""
    if status:
        return max(0, min(5, status // 100))
    return 0 if error else -1


def human_size(n: int) -> str:
    if n < 0:
        return ""
    if n < 1024:
        return f"{n} B"
    for unit in ("kB", "MB", "GB", "TB"):
        n2 = n / 1024
        if n2 < 1024 or unit == "TB":
            return f"{n2:.1f} {unit}"
        n = int(n2)
    return f"{n} B"


def human_ms(seconds: float) -> str:
    if seconds < 0:
        return ""
    ms = seconds * 1000
    if ms < 10:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{seconds:.2f} s"


class ReplyListModel(QAbstractTableModel):
    """Every reply of the session, one row each, updated live. Row ids are arrival order."""

    def __init__(self, store: ReplyStore | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self.store = store if store is not None else ReplyStore()
        self._intern: dict[str, str] = {}
        self._origin: list[str] = []
        self._path: list[str] = []
        self._method: list[str] = []
        self._error: list[str | None] = []
        self._ctype: list[str] = []
        self._proto: list[str] = []
        self._remote: list[str] = []
        self._spec: list[Any] = []  # the composer's RequestSpec (shared by repeats) or None
        self._status = array("h")
        self._size = array("q")
        self._elapsed = array("d")
        self._wall = array("d")
        self._tstart = array("d")
        self._tttfb = array("d")
        self._tend = array("d")
        self._running: dict[int, Any] = {}  # row → reply still transferring
        self._order: array[int] | None = None  # visible row ids (ascending key); None: all, arrival order
        self._sort_col = -1
        self._desc = False
        self._needle = ""
        self._classes: frozenset[int] = frozenset()
        self._methods: frozenset[str] = frozenset()
        self._t0 = 0.0
        self._t1 = 0.0
        self._tones: tuple[QBrush, QBrush, QBrush] | None = None  # made on first use (start-up time)

    # -- sizes -------------------------------------------------------------------------------
    def total_rows(self) -> int:
        return len(self._method)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        return len(self._method) if self._order is None else len(self._order)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    # -- adding and updating -------------------------------------------------------------------
    def _i(self, s: str) -> str:
        return self._intern.setdefault(s, s)

    def add_rows(self, rows: Iterable[tuple[RowValues, Any, Any]]) -> list[int]:
        """Append rows: (values, reply or None, spec or None). Returns their row ids."""
        batch = list(rows)
        if not batch:
            return []
        first = len(self._method)
        last = first + len(batch) - 1
        identity = self._order is None
        if identity:
            if self._desc:
                self.beginInsertRows(_ROOT, 0, len(batch) - 1)
            else:
                self.beginInsertRows(_ROOT, first, last)
        for values, reply, spec in batch:
            row = self.store.add(reply) if reply is not None else self.store.add_placeholder()
            assert row == len(self._method), "store and model rows out of step"
            self._append(values, spec)
            if reply is not None and values[13] < 0:  # judged from the values read, not the live reply
                self._running[row] = reply
        new = list(range(first, last + 1))
        for row in new:
            if row not in self._running and self.store.is_live(row):
                self.store.finished(row)
        self._extend_timeline(new)
        if identity:
            self.endInsertRows()
        else:
            for row in new:
                self._insert_visible(row)
        return new

    def _append(self, v: RowValues, spec: Any) -> None:
        i = self._i
        self._origin.append(i(v[0]))
        self._path.append(v[1])
        self._method.append(i(v[2]))
        self._status.append(v[3])
        self._error.append(None if v[4] is None else i(v[4]))
        self._ctype.append(i(v[5]))
        self._size.append(v[6])
        self._elapsed.append(v[7])
        self._proto.append(i(v[8]))
        self._remote.append(i(v[9]))
        self._wall.append(v[10])
        self._tstart.append(v[11])
        self._tttfb.append(v[12])
        self._tend.append(v[13])
        self._spec.append(spec)

    def _set(self, row: int, v: RowValues) -> None:
        i = self._i
        self._origin[row] = i(v[0])
        self._path[row] = v[1]
        self._status[row] = v[3]
        self._error[row] = None if v[4] is None else i(v[4])
        self._ctype[row] = i(v[5])
        self._size[row] = v[6]
        self._elapsed[row] = v[7]
        self._proto[row] = i(v[8])
        self._remote[row] = i(v[9])
        self._tttfb[row] = v[12]
        self._tend[row] = v[13]

    def _extend_timeline(self, rows: list[int]) -> None:
        lo, hi = rows[0], rows[-1] + 1
        start = min(self._tstart[lo:hi])
        if not self._t0 or start < self._t0:
            self._t0 = start
        self._t1 = max(self._t1, max(self._tend[lo:hi]), max(self._tstart[lo:hi]))

    def apply(self, updates: dict[int, RowValues]) -> None:
        """Apply a batch of changed rows (one GUI update per frame).

        One ``dataChanged`` covers the whole batch: each emission (and each ``QModelIndex`` made
        for it) hands the GIL over and back, which costs up to the switch interval while the
        network thread is busy, and the view repaints its visible rows once per frame anyway.
        """
        lo, hi = -1, -1
        identity = self._order is None
        for row, v in updates.items():
            if identity:
                self._set(row, v)
                vr = self._view_row_identity(row)
                lo = vr if lo < 0 or vr < lo else lo
                hi = vr if vr > hi else hi
            else:
                self._update_ordered(row, v)
            if v[13] >= 0:
                self._t1 = max(self._t1, v[13])
                reply = self._running.pop(row, None)
                if reply is not None:
                    self.store.finished(row)
        if not identity:  # rows may have moved: the span of where the updated ones are now
            for row in updates:
                vr = self.view_row(row)
                if vr >= 0:
                    lo = vr if lo < 0 or vr < lo else lo
                    hi = vr if vr > hi else hi
        if lo >= 0:
            self.dataChanged.emit(self.index(lo, 0), self.index(hi, len(COLUMNS) - 1))

    def tick(self) -> None:
        """Time passes for running rows (their waterfall bars grow)."""
        if self._running:
            self._t1 = max(self._t1, time.perf_counter())

    def running_rows(self) -> dict[int, Any]:
        return self._running

    def timeline(self) -> tuple[float, float]:
        return self._t0, max(self._t1, self._t0 + 1e-3)

    # -- reading -------------------------------------------------------------------------------
    def row_id(self, view_row: int) -> int:
        n = self.rowCount()
        i = n - 1 - view_row if self._desc else view_row
        return i if self._order is None else self._order[i]

    def view_row(self, row: int) -> int:
        """Where row id ``row`` is shown, or -1 when filtered out."""
        if self._order is None:
            return self._view_row_identity(row)
        k = self._key()
        pos = bisect.bisect_left(self._order, k(row), key=k)
        if pos < len(self._order) and self._order[pos] == row:
            return len(self._order) - 1 - pos if self._desc else pos
        return -1

    def _view_row_identity(self, row: int) -> int:
        return len(self._method) - 1 - row if self._desc else row

    def url(self, row: int) -> str:
        return self._origin[row] + self._path[row]

    def method(self, row: int) -> str:
        return self._method[row]

    def spec(self, row: int) -> Any:
        return self._spec[row]

    def status(self, row: int) -> int:
        return self._status[row]

    def reply(self, row: int) -> Any:
        return self.store.get(row)

    def waterfall(self, row: int) -> tuple[float, float, float]:
        """(start, first byte, end) as fractions of the shared timeline; -1 when unknown."""
        t0, t1 = self.timeline()
        span = t1 - t0
        s = (self._tstart[row] - t0) / span
        ttfb = self._tttfb[row]
        end = self._tend[row]
        e = (end - t0) / span if end >= 0 else (time.perf_counter() - t0) / span
        return s, ((ttfb - t0) / span if ttfb >= 0 else -1.0), min(1.0, e)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.row_id(index.row())
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, col)
        if role == WATERFALL_ROLE:
            return self.waterfall(row)
        if role == ROW_ID_ROLE:
            return row
        if role == Qt.ItemDataRole.ForegroundRole:
            tone = self.tone(row, col)
            if tone is None:
                return None
            if self._tones is None:  # failure, redirect, running
                self._tones = (QBrush(QColor(200, 40, 40)), QBrush(QColor(190, 120, 0)), QBrush(QColor(128, 128, 128)))
            return self._tones[tone]
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (C_STATUS, C_SIZE, C_TIME):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col in (C_PATH, C_HOST):
                return self.url(row)
            if col == C_STATUS and self._error[row]:
                return self._error[row]
        return None

    def tone(self, row: int, col: int) -> int | None:
        """0 = failure (4xx, 5xx, no response), 1 = redirect, 2 = still running, None = normal."""
        if col in (C_STATUS, C_PATH):
            st = self._status[row]
            if st >= 400 or (not st and self._error[row]):
                return 0
            if 300 <= st < 400:
                return 1
        if row in self._running:
            return 2
        return None

    def _display(self, row: int, col: int) -> str | None:
        if col == C_METHOD:
            return self._method[row]
        if col == C_HOST:
            o = self._origin[row]
            k = o.find("://")
            return o[k + 3:] if k >= 0 else o
        if col == C_PATH:
            return self._path[row]
        if col == C_STATUS:
            st = self._status[row]
            if st:
                return str(st)
            err = self._error[row]
            if err:
                return "(failed) " + err.removesuffix("Error")
            return "(pending)" if row in self._running else ""
        if col == C_TYPE:
            return self._ctype[row]
        if col == C_SIZE:
            return human_size(self._size[row])
        if col == C_TIME:
            return human_ms(self._elapsed[row])
        if col == C_PROTO:
            return self._proto[row]
        if col == C_REMOTE:
            return self._remote[row]
        if col == C_START:
            w = self._wall[row]
            return time.strftime("%H:%M:%S", time.localtime(w)) + f".{int(w * 1000) % 1000:03d}"
        return None

    # -- filtering and sorting ------------------------------------------------------------------
    def set_filter(self, text: str = "", classes: Iterable[int] = (), methods: Iterable[str] = ()) -> None:
        """Show rows whose method/URL/type contain ``text`` (any case), of these status classes
        (0 = failed, 1..5 = 1xx..5xx) and methods; empty means any."""
        self._needle = text.strip().lower()
        self._classes = frozenset(classes)
        self._methods = frozenset(m.upper() for m in methods)
        self.beginResetModel()
        self._rebuild()
        self.endResetModel()

    def filter_state(self) -> tuple[str, frozenset[int], frozenset[str]]:
        return self._needle, self._classes, self._methods

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        ids = [self.row_id(p.row()) for p in persistent]
        self._sort_col = -1 if column in (C_START, C_WATERFALL) or column < 0 else column
        self._desc = order == Qt.SortOrder.DescendingOrder
        self._rebuild()
        new = []
        for p, row in zip(persistent, ids, strict=True):
            vr = self.view_row(row)
            new.append(self.index(vr, p.column()) if vr >= 0 else QModelIndex())
        self.changePersistentIndexList(persistent, new)
        self.layoutChanged.emit()

    def sort_state(self) -> tuple[int, bool]:
        return self._sort_col, self._desc

    def _filtered(self) -> bool:
        return bool(self._needle or self._classes or self._methods)

    def _accepts(self, row: int) -> bool:
        if self._methods and self._method[row] not in self._methods:
            return False
        if self._classes and status_class(self._status[row], self._error[row]) not in self._classes:
            return False
        if self._needle:
            n = self._needle
            return (n in self._path[row].lower() or n in self._origin[row].lower()
                    or n in self._method[row].lower() or n in self._ctype[row].lower())
        return True

    def _key(self) -> Callable[[int], Any]:
        c = self._sort_col
        if c < 0:
            return lambda r: r
        col: Any = {C_METHOD: self._method, C_HOST: self._origin, C_PATH: self._path, C_STATUS: self._status,
                    C_TYPE: self._ctype, C_SIZE: self._size, C_TIME: self._elapsed, C_PROTO: self._proto,
                    C_REMOTE: self._remote}[c]
        return lambda r: (col[r], r)

    def _rebuild(self) -> None:
        n = len(self._method)
        if not self._filtered() and self._sort_col < 0:
            self._order = None
            return
        ids: Any = range(n)
        if self._methods:
            ms, meth = self._methods, self._method
            ids = [r for r in ids if meth[r] in ms]
        if self._classes:
            cs, st, er = self._classes, self._status, self._error
            ids = [r for r in ids if status_class(st[r], er[r]) in cs]
        if self._needle:
            ids = [r for r in ids if self._accepts(r)]
        ids = list(ids)
        if self._sort_col >= 0:
            ids.sort(key=self._key())
        self._order = array("l", ids)

    def _insert_visible(self, row: int) -> None:
        assert self._order is not None
        if not self._accepts(row):
            return
        k = self._key()
        pos = bisect.bisect_left(self._order, k(row), key=k)
        n = len(self._order)
        vr = n - pos if self._desc else pos
        self.beginInsertRows(QModelIndex(), vr, vr)
        self._order.insert(pos, row)
        self.endInsertRows()

    def _update_ordered(self, row: int, v: RowValues) -> None:
        """Set a row's values; move it when its sort key or filter verdict changed (``apply``
        reports the rows that stayed in place with one ``dataChanged``)."""
        assert self._order is not None
        k = self._key()
        old_key = k(row)
        pos = bisect.bisect_left(self._order, old_key, key=k)
        visible = pos < len(self._order) and self._order[pos] == row
        self._set(row, v)
        accept = self._accepts(row)
        if visible and accept and k(row) == old_key:
            return
        if visible:
            vr = len(self._order) - 1 - pos if self._desc else pos
            self.beginRemoveRows(QModelIndex(), vr, vr)
            del self._order[pos]
            self.endRemoveRows()
        if accept:
            self._insert_visible(row)
