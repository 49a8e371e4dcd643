"""Details of one reply: status line, response headers, the request headers as actually sent,
the body, cookies, the redirect chain hop by hop, TLS, and the timing breakdown.

``ReplyDetails.show_reply(reply)`` takes a core ``Reply`` or an ``ArchivedReply``; it reads only
attributes (no I/O), and the body viewer pages the body on its worker thread.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui.body_viewer import BodyViewer
from app.ui.reply_model import human_ms, human_size
from app.ui.timing import PhaseBar

Index = QModelIndex | QPersistentModelIndex


class RowsModel(QAbstractTableModel):
    """A small read-only table (headers, cookies, hops)."""

    def __init__(self, columns: list[str], parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = columns
        self.rows: list[tuple[Any, ...]] = []

    def set_rows(self, rows: list[tuple[Any, ...]]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            v = self.rows[index.row()][index.column()]
            return "" if v is None else str(v)
        return None

    def as_text(self) -> str:
        return "\n".join(": ".join(str(c) for c in r) for r in self.rows)


def _table(model: RowsModel) -> QTableView:
    v = QTableView()
    v.setModel(model)
    v.verticalHeader().setVisible(False)
    v.setWordWrap(False)
    v.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    v.horizontalHeader().setStretchLastSection(True)
    v.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    v.horizontalHeader().resizeSection(0, 180)
    return v


def parse_set_cookie(value: str) -> tuple[str, str, str]:
    """(name, value, attributes) from a Set-Cookie header value."""
    first, _, attrs = value.partition(";")
    name, _, val = first.partition("=")
    return name.strip(), val.strip(), "; ".join(a.strip() for a in attrs.split(";") if a.strip())


def cookie_rows(reply: Any) -> list[tuple[str, str, str, str]]:
    rows = []
    for k, v in getattr(reply, "sent_headers", []):
        if k.lower() == "cookie":
            for item in v.split(";"):
                n, _, val = item.strip().partition("=")
                if n:
                    rows.append(("sent", n, val, ""))
    for k, v in reply.headers:
        if k.lower() == "set-cookie":
            n, val, attrs = parse_set_cookie(v)
            rows.append(("received", n, val, attrs))
    return rows


def status_line(reply: Any) -> str:
    if reply.status:
        line = f"{reply.http_version or 'HTTP'} {reply.status} {reply.reason}".strip()
        if reply.error.value != 0:
            line += f" · {reply.error.name}"
        return line
    if reply.error.value != 0:
        return f"Failed: {reply.error.name} — {reply.error_string}"
    return "Waiting for the response…"


def describe_cert(cert: Any) -> str:
    """A readable block for one certificate in ``TlsInfo.peer_chain``, whatever shape it has."""
    if hasattr(cert, "subject") and hasattr(cert, "sha256"):
        from app.reply_store import cert_summary

        cert = cert_summary(cert)
    if isinstance(cert, dict):
        return "\n".join(f"  {k}: {v}" for k, v in cert.items())
    if hasattr(cert, "__dataclass_fields__"):
        return "\n".join(f"  {k}: {getattr(cert, k)}" for k in cert.__dataclass_fields__)
    if isinstance(cert, bytes | bytearray):
        import hashlib

        digest = ":".join(f"{b:02X}" for b in hashlib.sha256(cert).digest())
        return f"  DER, {len(cert)} bytes\n  SHA-256: {digest}"
    return f"  {cert}"


class ReplyDetails(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status = QLabel("Select a reply")
        f = self.status.font()
        f.setPointSizeF(f.pointSizeF() * 1.25)
        f.setBold(True)
        self.status.setFont(f)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.response_headers = RowsModel(["Name", "Value"])
        self.request_headers = RowsModel(["Name", "Value"])
        self.cookies = RowsModel(["", "Name", "Value", "Attributes"])
        self.redirects = RowsModel(["#", "Status", "Method", "URL", "Location", "Time"])
        self.body = BodyViewer()
        self.tls = QPlainTextEdit()
        self.tls.setReadOnly(True)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.tls.setFont(mono)
        self.timing = PhaseBar()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.body, "Body")
        self.tabs.addTab(_table(self.response_headers), "Headers")
        self.tabs.addTab(_table(self.request_headers), "Request headers")
        self.tabs.addTab(_table(self.cookies), "Cookies")
        self.tabs.addTab(_table(self.redirects), "Redirects")
        self.tabs.addTab(self.tls, "TLS")
        self.tabs.addTab(self.timing, "Timing")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.status)
        lay.addWidget(self.summary)
        lay.addWidget(self.tabs, 1)
        self.reply: Any = None

    def clear(self) -> None:
        self.reply = None
        self.status.setText("Select a reply")
        self.summary.setText("")
        for m in (self.response_headers, self.request_headers, self.cookies, self.redirects):
            m.set_rows([])
        self.body.clear()
        self.tls.setPlainText("")
        self.timing.set_timings(None)

    def show_reply(self, reply: Any, refresh_body: bool = True) -> None:
        """Show ``reply``; with ``refresh_body=False`` only the metadata is redrawn (live updates)."""
        same = reply is self.reply
        self.reply = reply
        self.status.setText(status_line(reply))
        self.summary.setText(self._summary(reply))
        self.response_headers.set_rows(list(reply.headers))
        self.request_headers.set_rows(list(reply.sent_headers))
        self.cookies.set_rows(cookie_rows(reply))
        self.redirects.set_rows(self._hops(reply))
        self.tls.setPlainText(self._tls(reply))
        self.timing.set_timings(reply.timings)
        self.tabs.setTabText(4, f"Redirects ({len(reply.redirects)})" if reply.redirects else "Redirects")
        if refresh_body or not same:
            if reply.is_finished or reply.body.size:
                self.body.set_body(reply.body, reply.header("Content-Type"))
            else:
                self.body.clear("(waiting for the body)")

    def _summary(self, r: Any) -> str:
        parts = [f"{r.method} {r.url}"]
        tm = r.timings
        total = tm.total if tm.end is not None else None
        facts = [human_size(max(r.bytes_received, r.body.size)) if r.is_finished else "running…",
                 human_ms(total) if total is not None else "",
                 r.http_version or "", f"from {r.remote_address}" if r.remote_address else "",
                 "from cache" if r.from_cache else "",
                 time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(tm.wall_start))]
        if getattr(r, "archived", False):
            facts.append("older reply: credential headers were not kept")
        parts.append(" · ".join(f for f in facts if f))
        if r.error.value != 0 and r.status:
            parts.append(f"Error: {r.error.name} — {r.error_string}")
        return "\n".join(parts)

    def _hops(self, r: Any) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        hops = r.timings.hops
        for i, h in enumerate(r.redirects):
            t = hops[i] if i < len(hops) else None
            dur = (t.response_end - t.start) if t is not None and t.response_end is not None else -1
            rows.append((i + 1, h.status, h.method, h.url, h.location, human_ms(dur)))
        if r.redirects:
            last = hops[-1] if hops else None
            dur = (last.response_end - last.start) if last is not None and last.response_end else -1
            rows.append((len(r.redirects) + 1, r.status or "", r.method, r.url, "(final)", human_ms(dur)))
        return rows

    def _tls(self, r: Any) -> str:
        t = r.tls
        if t is None:
            return "Not encrypted." if r.url.startswith("http:") else "No TLS information."
        lines = [f"Version: {t.version}", f"Cipher: {t.cipher}", f"ALPN: {t.alpn or '(none)'}",
                 f"Session resumed: {t.session_resumed}"]
        verification = getattr(t, "verification", None)
        if verification:
            lines.append("Certificate: " + {
                "verified": "verified by the system's trust store", "checked": "checked, no problems",
                "exception": "has problems that were accepted", "disabled": "not verified (switched off)",
                "psk": "none (pre-shared key)", "failed": "refused"}.get(verification, verification))
        for err in getattr(t, "errors", []) or []:
            lines.append(f"  • {err}")
        if t.peer_chain:
            lines.append(f"\nCertificate chain ({len(t.peer_chain)}):")
            for i, cert in enumerate(t.peer_chain):
                lines.append(f"[{i}]\n{describe_cert(cert)}")
        return "\n".join(lines)
