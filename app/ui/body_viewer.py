"""The body viewer: pretty JSON, text in the right encoding, hex for binary, image preview.

It never loads a whole body: a worker thread reads one page with ``body.read_at(offset, size)``,
formats it (``app.body_format``) and hands the text back; the widget shows that page and offers
Previous/Next and, for text and hex, a position slider over the whole body. A stale page (the user
picked another reply meanwhile) is dropped by generation number.

Signals: ``pageShown(int)`` (page index, after the text is on screen).
"""

from __future__ import annotations

import os
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import gui_relay
from app.body_format import (
    HEX_PAGE,
    JSON_PAGE,
    TEXT_PAGE,
    JsonState,
    break_long_lines,
    hex_dump,
    looks_binary,
    looks_json,
    pick_encoding,
    reindent_json,
    skip_continuation,
    utf8_cut,
)
from app.ui.reply_model import human_size

MODES = ["Auto", "Pretty JSON", "Text", "Hex", "Image"]
IMAGE_LIMIT = 64 << 20
_POOL: ThreadPoolExecutor | None = None


def pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(1, thread_name_prefix="courier-format")
    return _POOL


class BodyViewer(QWidget):
    pageShown = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode_box = QComboBox()
        self.mode_box.addItems(MODES)
        self.prev_button = QPushButton("◀")
        self.prev_button.setToolTip("Previous page")
        self.next_button = QPushButton("▶")
        self.next_button.setToolTip("Next page")
        for b in (self.prev_button, self.next_button):
            b.setFixedWidth(32)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setTracking(False)
        self.position = QLabel()
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("Save the whole body to a file")
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.mode_box)
        bar.addWidget(self.prev_button)
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.next_button)
        bar.addWidget(self.position)
        bar.addWidget(self.save_button)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.text.setFont(mono)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidget(self.image)
        scroll.setWidgetResizable(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.text)
        self.stack.addWidget(scroll)
        self.note = QLabel()
        self.note.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.note)

        self._body: Any = None
        self._ctype: str | None = None
        self._gen = 0
        self._mode = "Text"
        self._page = 0
        self._encoding = "utf-8"
        self._json_pages: list[tuple[int, JsonState]] = [(0, JsonState())]
        gui_relay.install()
        self.mode_box.currentIndexChanged.connect(lambda _i: self._load_mode())
        self.prev_button.clicked.connect(lambda: self.show_page(self._page - 1))
        self.next_button.clicked.connect(lambda: self.show_page(self._page + 1))
        self.slider.valueChanged.connect(self.show_page)
        self.save_button.clicked.connect(self._save)
        self.clear()

    # -- public --------------------------------------------------------------------------------
    def clear(self, message: str = "") -> None:
        self._gen += 1
        self._body = None
        self.text.setPlainText(message)
        self.stack.setCurrentIndex(0)
        self.position.setText("")
        self.note.setText("")
        for w in (self.prev_button, self.next_button, self.slider, self.save_button):
            w.setEnabled(False)

    def set_body(self, body: Any, content_type: str | None) -> None:
        """Show ``body`` (anything with ``size`` and ``read_at``); formatting starts on the worker."""
        self._gen += 1
        self._body, self._ctype = body, content_type
        self._json_pages = [(0, JsonState())]
        self._page = 0
        self.save_button.setEnabled(body is not None and body.size > 0)
        if body is None or body.size == 0:
            self.clear("(empty body)")
            return
        self.text.setPlainText("Loading…")
        gen = self._gen
        pool().submit(self._sniff, gen, body, content_type)

    @property
    def mode(self) -> str:
        return self._mode

    def current_text(self) -> str:
        return self.text.toPlainText()

    def pages(self) -> int:
        size = self._body.size if self._body is not None else 0
        per = HEX_PAGE if self._mode == "Hex" else TEXT_PAGE
        return max(1, -(-size // per))

    # -- worker side (no widgets touched here) ----------------------------------------------------
    def _emit(self, payload: tuple[Any, ...]) -> None:
        """Worker thread: hand (generation, page, mode, text or image, info, has_next[, json state])
        to the GUI thread; a viewer deleted meanwhile is skipped there."""
        ref = weakref.ref(self)

        def deliver() -> None:
            viewer = ref()
            if viewer is not None and gui_relay.alive(viewer):
                viewer._show(payload)

        gui_relay.post(deliver)

    def _sniff(self, gen: int, body: Any, ctype: str | None) -> None:
        head = body.read_at(0, 8192)
        enc = pick_encoding(ctype, head)
        if (ctype or "").lower().startswith("image/") and body.size <= IMAGE_LIMIT:
            mode = "Image"
        elif looks_binary(ctype, head):
            mode = "Hex"
        elif looks_json(ctype, head):
            mode = "Pretty JSON"
        else:
            mode = "Text"
        self._emit((gen, -1, mode, enc, "", False))

    def _format(self, gen: int, body: Any, mode: str, page: int, enc: str,
                json_start: tuple[int, JsonState] | None) -> None:
        size = body.size
        try:
            if mode == "Image":
                img = QImage.fromData(body.read_at(0, min(size, IMAGE_LIMIT)))
                if img.isNull():
                    self._emit((gen, page, "Hex!", "", "Not an image this viewer can decode; showing hex.", False))
                    return
                self._emit((gen, 0, mode, img, f"{img.width()} × {img.height()} px", False))
                return
            if mode == "Hex":
                off = page * HEX_PAGE
                data = body.read_at(off, HEX_PAGE)
                self._emit((gen, page, mode, hex_dump(data, off), "", off + len(data) < size))
                return
            if mode == "Pretty JSON":
                assert json_start is not None
                off, state = json_start
                raw = body.read_at(off, JSON_PAGE + 3)
                last = off + len(raw) >= size
                cut = len(raw) if last else utf8_cut(raw[:JSON_PAGE + 3])
                if not last and cut > JSON_PAGE:
                    cut = utf8_cut(raw[:JSON_PAGE])
                text = raw[:cut].decode("utf-8", errors="replace")
                out, state = reindent_json(text, state, final=last)
                out, broke = break_long_lines(out)
                info = "Long lines are broken for display." if broke else ""
                self._emit((gen, page, mode, out, info, not last, (off + cut, state)))
                return
            # Text
            off = page * TEXT_PAGE
            utf8 = enc.replace("_", "-").lower() in ("utf-8", "utf8", "utf-8-sig")
            if enc.startswith("utf-16"):
                off -= off % 2
            raw = body.read_at(off, TEXT_PAGE + 3)
            last = off + len(raw) >= size
            start = skip_continuation(raw) if (utf8 and page > 0) else 0
            end = len(raw) if last else (utf8_cut(raw[:TEXT_PAGE]) if utf8 else TEXT_PAGE)
            try:
                text = raw[start:end].decode(enc, errors="replace")
            except LookupError:
                text = raw[start:end].decode("utf-8", errors="replace")
            text, broke = break_long_lines(text)
            info = "Long lines are broken for display." if broke else ""
            self._emit((gen, page, mode, text, info, not last))
        except Exception as exc:  # a vanished temp file, a decoder bug: say so, keep the app alive
            self._emit((gen, page, "Text", f"Could not read the body: {exc}", "", False))

    # -- GUI side ------------------------------------------------------------------------------
    def _load_mode(self) -> None:
        if self._body is None:
            return
        choice = self.mode_box.currentText()
        if choice == "Auto":
            self.set_body(self._body, self._ctype)
            return
        self._mode = choice
        self._gen += 1
        self._json_pages = [(0, JsonState())]
        self.show_page(0)

    def show_page(self, page: int) -> None:
        if self._body is None or page < 0:
            return
        if self._mode == "Pretty JSON":
            if page >= len(self._json_pages):
                return
            start: tuple[int, JsonState] | None = self._json_pages[page]
        else:
            if page >= self.pages():
                return
            start = None
        self._gen += 1
        self._page = page
        pool().submit(self._format, self._gen, self._body, self._mode, page, self._encoding, start)

    def _show(self, payload: tuple[Any, ...]) -> None:
        gen, page, mode, content, info, has_next = payload[:6]
        if gen != self._gen or self._body is None:
            return  # stale: another body or page was asked for since
        if page == -1:  # sniffed: pick the mode, then load page 0
            self._mode, self._encoding = mode, content
            self.show_page(0)
            return
        if mode == "Hex!":
            self._mode = "Hex"
            self.show_page(0)
            self.note.setText(info)
            return
        size = self._body.size
        if mode == "Image":
            pix = QPixmap.fromImage(content)
            self.image.setPixmap(pix)
            self.stack.setCurrentIndex(1)
            self.position.setText(human_size(size))
            self.note.setText(info)
            for w in (self.prev_button, self.next_button, self.slider):
                w.setEnabled(False)
            self.pageShown.emit(0)
            return
        self.stack.setCurrentIndex(0)
        self.text.setPlainText(content)
        if mode == "Pretty JSON" and len(payload) > 6 and page + 1 >= len(self._json_pages) and has_next:
            self._json_pages.append(payload[6])
        self.prev_button.setEnabled(page > 0)
        self.next_button.setEnabled(has_next)
        paged = mode != "Pretty JSON" and self.pages() > 1
        self.slider.setEnabled(paged)
        self.slider.blockSignals(True)
        self.slider.setRange(0, self.pages() - 1 if paged else 0)
        self.slider.setValue(page)
        self.slider.blockSignals(False)
        per = JSON_PAGE if mode == "Pretty JSON" else HEX_PAGE if mode == "Hex" else TEXT_PAGE
        if size > per:
            self.position.setText(f"page {page + 1:,}" + ("" if mode == "Pretty JSON" else f" of {self.pages():,}")
                                  + f" · {human_size(size)}")
        else:
            self.position.setText(human_size(size))
        extra = f"{mode} · {self._encoding}" if mode == "Text" else mode
        self.note.setText(" · ".join(x for x in (extra, info) if x))
        self.pageShown.emit(page)

    def _save(self) -> None:
        body = self._body
        if body is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save body")
        if path:
            pool().submit(_copy_body, body, path)


def _copy_body(body: Any, path: str) -> None:
    tmp = path + ".part"
    with open(tmp, "wb") as fh:
        off = 0
        while off < body.size:
            chunk = body.read_at(off, 1 << 20)
            if not chunk:
                break
            fh.write(chunk)
            off += len(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
