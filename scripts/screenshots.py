#!/usr/bin/env python3
"""Renders the README's screenshots into docs/screenshots/ on a private virtual screen.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Starts Xvfb (``-displayfd``: the server tells us its display number when it is ready) and a
private gnome-keyring on its own D-Bus session, then runs itself again on that screen with the
real xcb platform plugin. Everything shown is real: requests go to local servers on 127.0.0.1,
the authentication dialog is raised by a real 401, the certificates are real (trustme). Needs the
test extras and Debian packages (scripts/setup.sh test). Never pipe this into ``head``: a killed
script could leave Xvfb behind.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHILD_FLAG = "COURIER_SCREENSHOTS_CHILD"


# -- parent: a virtual screen and a keyring ----------------------------------------------------------

def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    number = b""
    deadline = time.monotonic() + 15
    while not number.endswith(b"\n") and time.monotonic() < deadline:
        ready, _, _ = select.select([read_fd], [], [], 0.5)
        if ready:
            chunk = os.read(read_fd, 16)
            if not chunk:
                break
            number += chunk
    os.close(read_fd)
    if not number.strip():
        proc.kill()
        raise SystemExit("Xvfb did not start (is the xvfb package installed? scripts/setup.sh test)")
    return proc, ":" + number.decode().strip()


def parent(out: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from tests.keyring_service import KeyringService

    xvfb, display = start_xvfb()
    keyring = KeyringService().start()
    try:
        with tempfile.TemporaryDirectory(prefix="courier-shots-") as data:
            env = {**os.environ, **keyring.env, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
                   "COURIER_DATA_DIR": data, CHILD_FLAG: "1", "PYTHONPATH": str(ROOT)}
            env.pop("WAYLAND_DISPLAY", None)
            return subprocess.run([sys.executable, __file__, "--out", str(out)], env=env, timeout=300).returncode
    finally:
        keyring.cleanup()
        xvfb.terminate()
        try:
            xvfb.wait(5)
        except subprocess.TimeoutExpired:
            xvfb.kill()


# -- child: the app on the virtual screen -------------------------------------------------------------

def wait_until(predicate: Callable[[], Any], timeout: float = 15.0) -> None:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not reach the expected state in time")
        QApplication.processEvents()
        time.sleep(0.01)


def settle(seconds: float = 0.3) -> None:
    from PySide6.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def save(widget: Any, path: Path) -> None:
    widget.repaint()
    settle()
    pixmap = widget.grab()
    if pixmap.isNull() or not pixmap.save(str(path)):
        raise RuntimeError(f"could not save {path}")
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {pixmap.width()}x{pixmap.height()}")


def send(window: Any, url: str, method: str = "GET") -> None:
    """Type a request into the main window and send it, whatever the window's version offers."""
    composer = window.composer() if callable(getattr(window, "composer", None)) else window
    url_field = getattr(composer, "url", None)
    if hasattr(url_field, "setText"):
        url_field.setText(url)
    method_box = getattr(composer, "method", None)
    if hasattr(method_box, "setCurrentText"):
        method_box.setCurrentText(method)
    window.send()


def child(out: Path) -> int:
    from PySide6.QtWidgets import QApplication

    from app.bridge import QtNetworkManager
    from app.dialogs import AppContext, install_dialogs
    from app.ui.auth_dialog import AuthDialog
    from app.ui.cert_dialog import CertDialog
    from app.ui.main_window import MainWindow
    from tests.proxies import AuthServer
    from tests.servers import HypercornServer

    app = QApplication(sys.argv[:1])
    app.setApplicationName("Courier")
    try:
        from app.ui.theme import follow_system  # the main window's palette, when present

        follow_system(app)
    except ImportError:
        pass
    out.mkdir(parents=True, exist_ok=True)
    server = HypercornServer().start()
    https, tls = tls_server()
    auth = AuthServer().start()
    context = AppContext()
    manager = QtNetworkManager()
    window = MainWindow(manager)
    dialogs = install_dialogs(context, manager, window)
    window.resize(1240, 760)
    window.show()
    try:
        print("rendering into", out)
        finished: list[Any] = []
        manager.finished.connect(finished.append)
        # A burst in parallel, so the waterfall has overlapping bars: fresh TLS connections to a
        # name that needs DNS, a slow server, a big body.
        manager.thread.run_sync(lambda: manager.core.transport.set_default_ssl_context(trusting(tls)))
        burst = [https.url.replace("127.0.0.1", "localhost") + "/echo?tls=1", server.url + "/slow-headers?0.25",
                 server.url + "/bytes/3000000", https.url.replace("127.0.0.1", "localhost") + "/gzip"]
        for url in burst:
            manager.get(url)
        wait_until(lambda: len(finished) >= len(burst))
        paths = ("/status/404", "/redirect/2", "/echo?page=2")
        for count, path in enumerate(paths, len(burst) + 1):
            send(window, server.url + path)
            wait_until(lambda n=count: len(finished) >= n)
        settle(0.5)
        window.resize(1240, 760)  # a layout may have grown it past the screen
        settle(0.3)
        if window.height() > 780:
            print(f"  note: the main window needs {window.minimumSizeHint().height()} px of height at least")
        save(window, out / "main-window.png")
        timing_shots(window, out)

        # The authentication dialog, raised by a real 401 from the local auth server.
        opened: list[Any] = []
        dialogs.router.dialog_opened.connect(opened.append)
        reply = manager.get(auth.url + "/basic/staff/report")
        wait_until(lambda: opened)
        dialog = opened[-1]
        assert isinstance(dialog, AuthDialog)
        dialog.user.setText("user")
        dialog.password.setText("passwd")
        dialog.remember.setChecked(True)
        save(dialog, out / "auth-dialog.png")
        dialog.ok_button.click()
        wait_until(lambda: reply.core.is_finished)

        # The certificate dialog, raised by a real handshake with an expired certificate for
        # another host name, issued by a CA nobody trusts.
        from tests.tls_servers import make_ca, make_leaf, serving

        acme = make_ca("Acme Staging Root CA")
        leaf = make_leaf(acme, names=("staging.acme.internal", "api.staging.acme.internal"),
                         not_before=dt.datetime(2024, 1, 10, tzinfo=dt.UTC),
                         not_after=dt.datetime(2025, 1, 10, tzinfo=dt.UTC))
        leaf.chain.append(acme.cert)
        broken = serving(leaf)
        try:
            reply = manager.get(broken.url + "/v1/orders")
            wait_until(lambda: isinstance(opened[-1], CertDialog))
            cert = opened[-1]
            save(cert, out / "cert-dialog.png")
            cert.reject()
            wait_until(lambda: reply.core.is_finished)
        finally:
            broken.close()

        from app.secrets import Credential, CredentialKey

        proxy_key = CredentialKey.for_configured_proxy("http", "proxy.corp.example", 3128)
        # Runs after the "remember" above, on the same worker: both are in the keyring afterwards.
        context.worker.run(context.store.remember, proxy_key, Credential("alice", "demo")).result(10)
        page = dialogs.open_settings()
        wait_until(lambda: page.lists_ready)
        page.nav.setCurrentRow(4)
        save(page, out / "settings-passwords.png")
        from app.settings import ProxyMode

        page.proxy_radio[ProxyMode.MANUAL].click()
        page.proxy_host.setText("proxy.corp.example")
        page.proxy_port.setValue(3128)
        page.proxy_user.setText("alice")
        page.nav.setCurrentRow(0)
        save(page, out / "settings-proxy.png")
        page.reject()
    finally:
        dialogs.close()
        manager.close()
        context.close()
        server.stop()
        https.stop()
        auth.stop()
    return 0


def trusting(tls: dict[str, str]) -> Any:
    import ssl

    ctx = ssl.create_default_context(cafile=tls["ca"])
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


def tls_server() -> tuple[Any, dict[str, str]]:
    """A local HTTPS server (HTTP/2 via ALPN) with a trustme certificate for 127.0.0.1 and localhost."""
    import trustme

    from tests.servers import HypercornServer

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    d = Path(tempfile.mkdtemp(prefix="courier-shots-tls-"))
    files = {"cert": str(d / "cert.pem"), "key": str(d / "key.pem"), "ca": str(d / "ca.pem")}
    cert.private_key_and_cert_chain_pem.write_to_path(files["cert"])
    cert.private_key_pem.write_to_path(files["key"])
    ca.cert_pem.write_to_path(files["ca"])
    return HypercornServer(certfile=files["cert"], keyfile=files["key"]).start(), files


def timing_shots(window: Any, out: Path) -> None:
    """The waterfall of all replies and one reply's phases, as the main window shows them."""
    side, timeline, details = (getattr(window, n, None) for n in ("side_tabs", "timeline", "details"))
    if side is None or timeline is None or details is None:
        print("  (this version of the main window has no timing views; timing*.png not rendered)")
        return
    split = getattr(window, "lower_split", None)
    if split is not None:
        split.setSizes([380, 860])
    side.setCurrentWidget(timeline)
    settle(0.8)
    save(side, out / "timing.png")
    view = window.list_panel.view
    view.selectRow(0)  # the first reply: a new TLS connection to "localhost" (DNS, connect, TLS)
    side.setCurrentWidget(details)
    details.tabs.setCurrentWidget(details.timing)
    settle(0.5)
    save(side, out / "timing-phases.png")
    if split is not None:
        split.setSizes([700, 580])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = p.parse_args()
    if os.environ.get(CHILD_FLAG):
        return child(args.out.resolve())
    return parent(args.out.resolve())


if __name__ == "__main__":
    sys.exit(main())
