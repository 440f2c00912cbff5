"""`gitops-gen clone` (the scheduled audit's checkout) against a private repository served over
HTTPS with basic auth by `git http-backend`, with a CA generated per test; and the CronJob that
renders it (references to the Secret, never its values)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.helpers import Result, git, run_cli
from tests.testenv.gitserver import (
    GitHttpsServer,
    GitRemote,
    GitSshServer,
    generate_ssh_key,
    serve_repository,
)

USER = "audit-bot"
TOKEN = "canary-clone-token-5d1f0b7a"  # searched for in every output below


@pytest.fixture
def private(tmp_path: Path) -> Iterator[tuple[GitHttpsServer, str, str]]:
    """(server, HTTPS URL of a one-commit repository, that commit)."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "README.md").write_text("private GitOps repository\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "initial")
    remote: GitRemote = serve_repository(work, tmp_path / "repos" / "aether.git")
    with GitHttpsServer(tmp_path / "repos", tmp_path / "tls", USER, TOKEN) as server:
        yield server, server.url_for(remote), remote.head()


def _secret_folder(
    folder: Path, server: GitHttpsServer, *, password: str = TOKEN, ca: bool = True
) -> Path:
    """A Secret as the kubelet mounts it: one file per key."""
    folder.mkdir()
    (folder / "username").write_text(USER)
    (folder / "password").write_text(password + "\n")
    if ca:
        (folder / "ca.crt").write_bytes(server.ca_file.read_bytes())
    return folder


def _clone(url: str, dest: Path, credentials: Path | None, *, expect: int) -> Result:
    auth = ["--auth", "https", "--credentials", str(credentials)] if credentials else []
    return run_cli("clone", url, str(dest), *auth, "--secret-name", "gitops-repo", expect=expect)


def _one_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_clones_with_the_mounted_token_and_ca(
    private: tuple[GitHttpsServer, str, str], tmp_path: Path
) -> None:
    server, url, head = private
    secret = _secret_folder(tmp_path / "secret", server)
    dest = tmp_path / "checkout"
    result = _clone(url, dest, secret, expect=0)
    assert git(dest, "rev-parse", "HEAD").strip() == head
    assert (dest / "README.md").read_text() == "private GitOps repository\n"
    # the token reached the server as basic auth, never the URL or the clone's config
    assert {r.user for r in server.requests if r.status == 200} == {USER}
    assert url in git(dest, "remote", "get-url", "origin")
    assert TOKEN not in (dest / ".git" / "config").read_text()
    assert TOKEN not in result.output


def test_a_wrong_token_is_one_line_naming_the_repository_and_the_secret(
    private: tuple[GitHttpsServer, str, str], tmp_path: Path
) -> None:
    server, url, _ = private
    wrong = "canary-wrong-token-9a8b7c6d"
    secret = _secret_folder(tmp_path / "secret", server, password=wrong)
    dest = tmp_path / "checkout"
    result = _clone(url, dest, secret, expect=2)
    line = _one_line(result)
    assert url in line and "Secret gitops-repo" in line and "HTTP 401" in line, line
    assert "token" in line  # what to fix
    assert wrong not in result.output and TOKEN not in result.output
    assert not dest.exists()  # nothing half-cloned left behind
    assert all(r.user is None for r in server.requests)


def test_an_untrusted_certificate_is_not_accepted(
    private: tuple[GitHttpsServer, str, str], tmp_path: Path
) -> None:
    server, url, _ = private
    secret = _secret_folder(tmp_path / "secret", server, ca=False)
    result = _clone(url, tmp_path / "checkout", secret, expect=2)
    line = _one_line(result)
    assert "TLS certificate is not trusted" in line and "ca.crt of Secret gitops-repo" in line
    assert not server.requests  # the token never left: TLS failed first
    assert TOKEN not in result.output


def test_a_private_repository_without_credentials_says_what_to_configure(
    private: tuple[GitHttpsServer, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, url, _ = private
    monkeypatch.setenv("GIT_SSL_CAINFO", str(server.ca_file))
    result = _clone(url, tmp_path / "checkout", None, expect=2)
    assert "set drift.repoCredentials" in _one_line(result)


def test_unknown_revision_and_missing_key(
    private: tuple[GitHttpsServer, str, str], tmp_path: Path
) -> None:
    server, url, _ = private
    secret = _secret_folder(tmp_path / "secret", server)
    result = run_cli(
        "clone", url, str(tmp_path / "a"), "--revision", "release-9",
        "--auth", "https", "--credentials", str(secret), expect=2,
    )  # fmt: skip
    assert "revision release-9 not found" in _one_line(result)
    (secret / "password").unlink()
    result = _clone(url, tmp_path / "b", secret, expect=2)
    assert "Secret gitops-repo: key password is missing" in _one_line(result)


def test_a_password_in_the_url_is_refused(tmp_path: Path) -> None:
    result = run_cli(
        "clone", f"https://bot:{TOKEN}@git.example.com/aether.git", str(tmp_path / "c"),
        expect=2,
    )  # fmt: skip
    assert "carries a password" in _one_line(result)
    assert TOKEN not in result.output


def test_ssh_clones_with_the_key_and_checks_the_host_key_strictly(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "README.md").write_text("over ssh\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "initial")
    remote = serve_repository(work, tmp_path / "repos" / "aether.git")
    private_key, public_key = generate_ssh_key()
    secret = tmp_path / "ssh"
    secret.mkdir()
    (secret / "sshPrivateKey").write_text(private_key.rstrip("\n"))  # as a Secret may hold it
    creds = ("--auth", "ssh", "--credentials", str(secret), "--secret-name", "deploy-key")
    key_material = private_key.splitlines()[1]  # must never be printed
    with GitSshServer(tmp_path / "repos", public_key) as server:
        url = server.url_for(remote)
        missing = run_cli("clone", url, str(tmp_path / "a"), *creds, expect=2)
        assert "Secret deploy-key: key known_hosts is missing" in _one_line(missing)

        (secret / "known_hosts").write_text("")  # the host is unknown: refused, not trusted
        unknown = run_cli("clone", url, str(tmp_path / "b"), *creds, expect=2)
        line = _one_line(unknown)
        assert f"clone of {url}: the server's SSH host key is not in known_hosts" in line, line
        assert not server.commands  # nothing ran on a server whose key was not checked

        (secret / "known_hosts").write_text(server.known_hosts_line + "\n")
        cloned = run_cli("clone", url, str(tmp_path / "c"), *creds, expect=0)
        assert (tmp_path / "c" / "README.md").read_text() == "over ssh\n"
        assert server.commands == ["git-upload-pack '/aether.git'"]

        (secret / "sshPrivateKey").write_text(generate_ssh_key()[0])
        refused = run_cli("clone", url, str(tmp_path / "d"), *creds, expect=2)
        assert "the server refused the SSH key from Secret deploy-key" in _one_line(refused)
        for result in (missing, unknown, cloned, refused):
            assert key_material not in result.output and "PRIVATE KEY" not in result.output

    # A port bound but never listening refuses every connection, and no other server (nor the
    # client's own ephemeral port, a TCP self-connect) can take it while it is held.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"ssh://git@127.0.0.1:{closed.getsockname()[1]}/aether.git"
        unreachable = run_cli("clone", nowhere, str(tmp_path / "e"), *creds, expect=2)
    assert f"clone of {nowhere}: cannot reach the server" in _one_line(unreachable)
    wrong_type = run_cli("clone", "https://git.example.com/a.git", "d", *creds, expect=2)
    assert "type ssh needs an ssh://" in _one_line(wrong_type)


def _cronjob(repo: Path, env: str) -> dict[str, object]:
    cluster = {"dev": "dev-eu1", "prod": "prod-eu1"}[env]
    path = repo / "clusters" / cluster / "audit" / env / "cronjob.yaml"
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _set_credentials(repo: Path, env: str, kind: str, secret: str) -> None:
    path = repo / "environments" / f"{env}.yaml"
    credentials = f"repoCredentials: {{type: {kind}, secret: {secret}}}, "
    text = re.sub(r"^drift: \{(repoCredentials: \{[^}]*\}, )?", "drift: {" + credentials,
                  path.read_text(), flags=re.M)  # fmt: skip
    path.write_text(text)


def test_render_mounts_the_credentials_secret_by_reference(aether: Path) -> None:
    _set_credentials(aether, "dev", "https", "gitops-repo")
    run_cli("render", repo=aether, expect=0)
    dev = _cronjob(aether, "dev")["spec"]["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[index]
    checkout = dev["initContainers"][0]
    assert checkout["command"] == [
        "gitops-gen", "clone", "https://git.example.com/aether/aether-gitops.git", "/work/repo",
        "--revision", "main", "--auth", "https", "--credentials",
        "/etc/gitops-gen/repo-credentials", "--secret-name", "gitops-repo",
    ]  # fmt: skip
    assert {"name": "repo-credentials", "mountPath": "/etc/gitops-gen/repo-credentials",
            "readOnly": True} in checkout["volumeMounts"]  # fmt: skip
    volume = next(v for v in dev["volumes"] if v["name"] == "repo-credentials")
    assert volume["secret"] == {"secretName": "gitops-repo", "defaultMode": 0o440}
    # the audit container itself never sees the credentials
    assert all(m["name"] != "repo-credentials" for m in dev["containers"][0]["volumeMounts"])
    # an environment without repoCredentials clones anonymously, with nothing mounted
    prod = _cronjob(aether, "prod")["spec"]["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[index]
    assert "--auth" not in prod["initContainers"][0]["command"]
    assert all(v["name"] != "repo-credentials" for v in prod["volumes"])
    run_cli("validate", "dev", repo=aether, expect=0)


def test_credentials_type_must_match_the_repository_url(aether: Path) -> None:
    platform = aether / "environments" / "platform.yaml"
    ssh_url = "git@git.example.com:aether/aether-gitops.git"
    _set_credentials(aether, "prod", "https", "gitops-repo")
    platform.write_text(
        platform.read_text().replace("https://git.example.com/aether/aether-gitops.git", ssh_url)
    )
    before = sorted(p.name for p in aether.iterdir())
    wrong = run_cli("render", repo=aether, expect=2)
    line = _one_line(wrong)
    assert line.startswith("error: environments/prod.yaml") and "repoCredentials" in line, line
    assert "type https needs an https:// platform.gitopsRepo" in line and "type ssh" in line
    assert sorted(p.name for p in aether.iterdir()) == before  # nothing rendered

    _set_credentials(aether, "prod", "ssh", "gitops-deploy")
    run_cli("render", repo=aether, expect=0)
    prod = _cronjob(aether, "prod")["spec"]["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[index]
    assert prod["initContainers"][0]["command"][2:] == [
        ssh_url, "/work/repo", "--revision", "main", "--auth", "ssh", "--credentials",
        "/etc/gitops-gen/repo-credentials", "--secret-name", "gitops-deploy",
    ]  # fmt: skip


def test_the_image_has_what_the_checkout_needs() -> None:
    """The CronJob's init container runs `gitops-gen clone` in the audit image: git for HTTPS,
    ssh for SSH URLs, CA certificates for public forges."""
    dockerfile = (Path(__file__).resolve().parent.parent / "Dockerfile").read_text()
    install = next(ln for ln in dockerfile.splitlines() if "apt-get install" in ln)
    assert {"git", "openssh-client", "ca-certificates"} <= set(install.split())
    assert 'ENTRYPOINT ["gitops-gen"]' in dockerfile


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        (  # git's own words when the CA is unknown, on a port that holds "401"
            "Cloning into '/w/checkout'...\nfatal: unable to access "
            "'https://127.0.0.1:40121/aether.git/': server certificate verification failed. "
            "CAfile: none CRLfile: none\n",
            "the server's TLS certificate is not trusted",
        ),
        (
            "fatal: unable to access 'https://git403.example.com/aether.git/': Could not resolve "
            "host: git403.example.com\n",
            "cannot reach the server",
        ),
        (
            "fatal: unable to access 'https://127.0.0.1:40401/team-404/aether.git/': The "
            "requested URL returned error: 403\n",
            "HTTP 403",
        ),
        (
            "remote: Invalid username or password.\nfatal: Authentication failed for "
            "'https://127.0.0.1:44030/aether.git/'\n",
            "HTTP 401",
        ),
        ("fatal: repository 'https://127.0.0.1:4013/x.git/' not found\n", "repository not found"),
    ],
    ids=["tls-on-port-40121", "dns-403-in-host", "403-with-404-in-path", "401", "404"],
)
def test_a_status_code_inside_the_url_is_not_the_servers_answer(
    stderr: str, expected: str, tmp_path: Path
) -> None:
    from gitops_gen.drift.clone import Credentials, explain

    credentials = Credentials("https", tmp_path, "gitops-repo")
    line = explain("https://example.com/aether.git", "main", stderr, credentials)
    assert expected in line, line
