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
import shlex
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


# -- SSH with a key and a host key ---------------------------------------------------------------
#
# The same private repository over SSH: an asyncssh server (no sshd needed) that accepts one
# client key and runs `git-upload-pack` for the repository the client asks for, with a host key
# generated per server. `known_hosts_line` is what a repoCredentials Secret's known_hosts holds.


def generate_ssh_key() -> tuple[str, str]:
    """(private key in OpenSSH format, public key line): an ed25519 key pair."""
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519")
    return key.export_private_key().decode(), key.export_public_key().decode().strip()


@dataclass(eq=False)
class GitSshServer(Component):
    """The bare repositories under `root` at ``ssh://git@127.0.0.1:<port>/<name>.git``, for a
    client holding the private half of `authorized_key` (a public key line).

    ``commands`` records every command a client ran (``git-upload-pack '/aether.git'``);
    only upload-pack (clone, fetch) is served.
    """

    root: Path
    authorized_key: str

    port: int = field(init=False, default=0)
    known_hosts_line: str = field(init=False, default="")
    commands: list[str] = field(init=False, default_factory=list)
    _loop: Any = field(init=False, default=None)
    _server: Any = field(init=False, default=None)
    _thread: threading.Thread | None = field(init=False, default=None)

    def start(self) -> None:
        import asyncio

        import asyncssh

        host_key = asyncssh.generate_private_key("ssh-ed25519")
        authorized = asyncssh.import_authorized_keys(self.authorized_key + "\n")
        root = self.root.resolve()
        commands = self.commands

        async def serve(process: Any) -> None:
            command = str(process.command or "")
            commands.append(command)
            words = shlex.split(command)
            target = (root / words[-1].lstrip("/")).resolve() if len(words) == 2 else None
            if words[:1] != ["git-upload-pack"] or target is None or root not in target.parents:
                process.stderr.write(b"only git-upload-pack of a served repository\n")
                process.exit(1)
                return
            git_process = await asyncio.create_subprocess_exec(
                "git-upload-pack",
                str(target),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            await process.redirect(
                stdin=git_process.stdin, stdout=git_process.stdout, stderr=git_process.stderr
            )
            code = await git_process.wait()
            await process.stdout.drain()
            process.exit(code)
            await process.wait_closed()  # runs the redirections' clean-up

        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(
            asyncssh.create_server(
                None,
                "127.0.0.1",
                0,
                server_host_keys=[host_key],
                authorized_client_keys=authorized,
                process_factory=serve,
                encoding=None,
            )
        )
        self.port = self._server.sockets[0].getsockname()[1]
        public = host_key.export_public_key().decode().strip()
        self.known_hosts_line = f"[127.0.0.1]:{self.port} {public}"
        self._thread = threading.Thread(target=self._loop.run_forever, name="git-ssh", daemon=True)
        self._thread.start()

    def url_for(self, remote: GitRemote) -> str:
        path = remote.path.resolve().relative_to(self.root.resolve()).as_posix()
        return f"ssh://git@127.0.0.1:{self.port}/{path}"

    def stop(self) -> None:
        if self._loop is None:
            return
        loop, server = self._loop, self._server

        import asyncio

        async def close() -> None:
            server.close()
            await server.wait_closed()
            # connections still open end here, not in the garbage collector
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()
        self._loop = self._server = self._thread = None
