"""A private nginx on 127.0.0.1 for the benchmark (and tests): HTTP/1.1, HTTPS, HTTPS+HTTP/2.

Started as ``nginx -e stderr -p DIR -c nginx.conf`` with ``daemon off;``; certificates from trustme.
Serves ``/small.txt`` (a small body) and ``/big.bin`` (a sparse file of the requested size).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

SMALL_BODY = b"Hello from nginx: a small response body for the requests-per-second benchmark.\n"


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


class Nginx:
    def __init__(self, big_size: int = 1 << 30) -> None:
        self.dir = tempfile.mkdtemp(prefix="courier-nginx-")
        os.chmod(self.dir, 0o755)
        self.big_size = big_size
        self.http_port = _free_port()
        self.https_port = _free_port()
        self.h2_port = _free_port()
        self.ca_file = os.path.join(self.dir, "ca.pem")
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, kind: str, path: str) -> str:
        if kind == "http":
            return f"http://127.0.0.1:{self.http_port}{path}"
        port = self.https_port if kind == "https" else self.h2_port
        return f"https://127.0.0.1:{port}{path}"

    def _write_files(self) -> str:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        cert_file, key_file = os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem")
        cert.cert_chain_pems[0].write_to_path(cert_file)
        for extra in cert.cert_chain_pems[1:]:
            extra.write_to_path(cert_file, append=True)
        cert.private_key_pem.write_to_path(key_file)
        ca.cert_pem.write_to_path(self.ca_file)
        www = os.path.join(self.dir, "www")
        os.makedirs(www, mode=0o755)
        os.makedirs(os.path.join(self.dir, "tmp"), mode=0o755)
        os.makedirs(os.path.join(self.dir, "logs"), mode=0o755)
        with open(os.path.join(www, "small.txt"), "wb") as f:
            f.write(SMALL_BODY)
        with open(os.path.join(www, "big.bin"), "wb") as f:
            f.truncate(self.big_size)  # sparse: no disk used, nginx sends zeros
        for name in ("small.txt", "big.bin"):
            os.chmod(os.path.join(www, name), 0o644)
        tls = f"ssl_certificate {cert_file}; ssl_certificate_key {key_file};"
        conf = f"""
daemon off;
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {self.dir}/tmp;
    proxy_temp_path {self.dir}/tmp;
    fastcgi_temp_path {self.dir}/tmp;
    uwsgi_temp_path {self.dir}/tmp;
    scgi_temp_path {self.dir}/tmp;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    server {{ listen 127.0.0.1:{self.http_port}; root {www}; }}
    server {{ listen 127.0.0.1:{self.https_port} ssl; {tls} root {www}; }}
    server {{ listen 127.0.0.1:{self.h2_port} ssl http2; {tls} root {www}; }}
}}
"""
        path = os.path.join(self.dir, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        return path

    def start(self) -> Nginx:
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(exe):
            raise RuntimeError("nginx is not installed (apt-get install nginx-light; scripts/setup.sh test)")
        conf = self._write_files()
        self.proc = subprocess.Popen([exe, "-e", "stderr", "-p", self.dir, "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        for port in (self.http_port, self.https_port, self.h2_port):
            while True:
                if self.proc.poll() is not None:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    raise RuntimeError(f"nginx did not start: {err.strip()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError("nginx did not start listening") from None
                    time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
