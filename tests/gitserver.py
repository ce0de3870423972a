"""git for tests: `git(cwd, *args)`, `git_archive(tmp_path)` (an archive that is a
git repository), and a git host on 127.0.0.1 for push tests: git's own `git http-backend` (smart
HTTP) behind HTTP Basic authentication, serving the bare repositories under
one folder.

    with GitHttpServer(root, user="me", password="s3cret") as srv:
        url = srv.url("mirror.git")          # http://127.0.0.1:PORT/mirror.git
        ...
        srv.authorized                       # requests that carried the right credentials
"""

from __future__ import annotations

import base64
import http.server
import subprocess
import threading
from pathlib import Path


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd`; its output, stripped (fails the test on an error)."""
    return subprocess.run(
        ["git", "-c", "core.quotepath=off", *args],
        cwd=cwd, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


class GitHttpServer:
    def __init__(self, root: Path, *, user: str, password: str) -> None:
        self.root = root
        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.authorized = 0
        self.refused = 0
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    def url(self, repo: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{repo}"

    def __enter__(self) -> GitHttpServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._cgi()

            def do_POST(self) -> None:
                self._cgi()

            def _cgi(self) -> None:
                if self.headers.get("Authorization") != outer.expected:
                    outer.refused += 1
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                outer.authorized += 1
                body = self._body()
                path, _, query = self.path.partition("?")
                env = {
                    "GIT_PROJECT_ROOT": str(outer.root),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "REMOTE_USER": "tester",  # receive-pack needs an authenticated user
                    "REQUEST_METHOD": self.command,
                    "PATH_INFO": path,
                    "QUERY_STRING": query,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)),
                    "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                    "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                    "PATH": "/usr/bin:/bin",
                }
                proc = subprocess.run(
                    ["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60
                )
                head, _, payload = proc.stdout.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.lower() == "status":
                        status = int(value.split()[0])
                    elif name:
                        headers.append((name, value.strip()))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        return Handler

def git_archive(tmp_path: Path) -> Path:
    """An archive in a fresh git repository (branch main), with a state database
    that must never be published."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    git(mirror, "init", "-q", "-b", "main")
    git(mirror, "config", "user.name", "Test")
    git(mirror, "config", "user.email", "test@example.invalid")
    (mirror / "subs.json").write_text('[{"site": "纽约时报", "url": "http://127.0.0.1:9/f"}]')
    state = mirror / ".newsmirror" / "state.db"
    state.parent.mkdir()
    state.write_bytes(b"SQLite format 3\0")
    return mirror
