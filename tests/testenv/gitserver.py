"""The GitOps repository as Argo CD reads it: a bare repository served over ``file://``, and
as a private forge serves it: over HTTPS with basic auth (:class:`GitHttpsServer`).

Argo CD's repo server clones ``file://`` URLs like any other (its own end-to-end tests do), so no
daemon is needed: the "server" is a bare repository on the local disk, and a working clone
pushes to it as it would to a forge. Pushing is what makes a change visible to Argo CD.
"""

from __future__ import annotations

import base64
import hmac
import http.server
import os
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.testenv.component import Component


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass(frozen=True)
class GitRemote:
    """A bare repository at `path`; `url` is what Applications and `platform.gitopsRepo` name."""

    path: Path

    @property
    def url(self) -> str:
        return self.path.resolve().as_uri()

    def head(self, branch: str = "main") -> str:
        return _git(self.path, "rev-parse", f"refs/heads/{branch}")


def serve_repository(work: Path, bare: Path, *, remote: str = "origin") -> GitRemote:
    """Create the bare repository `bare`, make it `work`'s `remote` and push every branch/tag."""
    bare.parent.mkdir(parents=True, exist_ok=True)
    _git(bare.parent, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    served = GitRemote(bare)
    if remote in _git(work, "remote").split():
        _git(work, "remote", "set-url", remote, served.url)
    else:
        _git(work, "remote", "add", remote, served.url)
    _git(work, "push", "--quiet", remote, "--all")
    _git(work, "push", "--quiet", remote, "--tags")
    _git(work, "fetch", "--quiet", remote)
    return served


def push(work: Path, *, remote: str = "origin", branch: str = "main") -> str:
    """Push `branch` of `work` to its remote; the pushed commit."""
    _git(work, "push", "--quiet", remote, f"{branch}:{branch}")
    _git(work, "fetch", "--quiet", remote)
    return _git(work, "rev-parse", branch)


# -- HTTPS with basic auth ---------------------------------------------------------------------
#
# A private repository as a forge serves it: `git http-backend` (the smart HTTP protocol, shipped
# with git) behind a Python HTTPS server that demands basic auth. The server's certificate is
# signed by a CA generated per server, so clients must trust that CA (GIT_SSL_CAINFO, or the
# `ca.crt` key of a repoCredentials Secret); nothing here disables TLS verification.


def make_ca_and_server_cert(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """(ca.crt, server.crt, server.key) in `folder`: a throwaway CA and a cert for `host`."""
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    openssl(
        "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=gitops-gen test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", f"/CN={host}")
    (folder / "server.ext").write_text(
        f"subjectAltName=IP:{host},DNS:localhost\nextendedKeyUsage=serverAuth\n"
    )
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext",
    )  # fmt: skip
    return folder / "ca.crt", folder / "server.crt", folder / "server.key"


@dataclass(frozen=True)
class HttpRequest:
    """One request the server answered: who (the basic-auth user, or None) and the outcome."""

    method: str
    path: str
    user: str | None
    status: int


class _GitHttpHandler(http.server.BaseHTTPRequestHandler):
    server: _GitHttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # recorded in `requests`, not printed

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _user(self) -> str | None:
        header = self.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if hmac.compare_digest(
            f"{user}:{password}".encode(), f"{self.server.username}:{self.server.password}".encode()
        ):
            return user
        return None

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        body = self._body()
        user = self._user()
        record = self.server.requests.append
        if user is None:
            record(HttpRequest(self.command, path, None, 401))
            self._reply(401, [("WWW-Authenticate", 'Basic realm="git"')], b"unauthorized\n")
            return
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user,
            "REMOTE_ADDR": self.client_address[0],
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name.strip(), value.strip()))
        record(HttpRequest(self.command, path, user, status))
        self._reply(status, headers, payload)


class _GitHttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    root: Path
    username: str
    password: str
    requests: list[HttpRequest]


@dataclass(eq=False)
class GitHttpsServer(Component):
    """The bare repositories under `root`, served at ``https://127.0.0.1:<port>/<name>.git``.

    Every request needs basic auth with `username`/`password`; `ca_file` is the CA clients must
    trust. `requests` records each answer (user and status, never the password).

    >>> with GitHttpsServer(tmp_path / "repos", tmp_path / "tls", "audit", token) as server:
    ...     server.url_for(remote)
    """

    root: Path
    tls_dir: Path
    username: str
    password: str

    base_url: str = field(init=False, default="")
    ca_file: Path = field(init=False, default=Path())
    requests: list[HttpRequest] = field(init=False, default_factory=list)
    _server: _GitHttpServer | None = field(init=False, default=None)
    _thread: threading.Thread | None = field(init=False, default=None)

    def start(self) -> None:
        self.ca_file, cert, key = make_ca_and_server_cert(self.tls_dir)
        server = _GitHttpServer(("127.0.0.1", 0), _GitHttpHandler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.root, server.username, server.password = self.root, self.username, self.password
        server.requests = self.requests
        self._server = server
        self.base_url = f"https://127.0.0.1:{server.server_address[1]}/"
        self._thread = threading.Thread(target=server.serve_forever, name="git-https", daemon=True)
        self._thread.start()

    def url_for(self, remote: GitRemote) -> str:
        """The HTTPS URL of a bare repository under `root`."""
        return self.base_url + remote.path.resolve().relative_to(self.root.resolve()).as_posix()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
