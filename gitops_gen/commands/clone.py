"""``gitops-gen clone``: the scheduled audit's checkout (its CronJob's init container)."""

from __future__ import annotations

from pathlib import Path

import click

from gitops_gen.context import AppContext
from gitops_gen.drift.clone import Credentials, clone


@click.command("clone")
@click.argument("url")
@click.argument("dest", type=click.Path(path_type=Path, file_okay=False))
@click.option("--revision", default="main", show_default=True, help="Branch or tag to check out.")
@click.option(
    "--auth",
    type=click.Choice(["https", "ssh"]),
    default=None,
    help="How to authenticate with the files in --credentials.",
)
@click.option(
    "--credentials",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="A Secret mounted as a folder: username and password [ca.crt], or sshPrivateKey "
    "and known_hosts.",
)
@click.option("--secret-name", default=None, help="The Secret's name, for messages only.")
@click.pass_obj
def clone_command(
    app: AppContext,
    url: str,
    dest: Path,
    revision: str,
    auth: str | None,
    credentials: Path | None,
    secret_name: str | None,
) -> None:
    """Shallow-clone URL at --revision into DEST, as the scheduled drift audit does.

    Credentials are read from files (never from argv or the URL): HTTPS through GIT_ASKPASS,
    SSH with strict host-key checking against known_hosts. A refused token or key, an
    untrusted certificate or an unknown host key is one line naming the repository and the
    fix, exit 2.
    """
    if (auth is None) != (credentials is None):
        raise click.UsageError("--auth and --credentials go together")
    creds = None
    if auth is not None and credentials is not None:
        creds = Credentials("https" if auth == "https" else "ssh", credentials, secret_name)
    commit = clone(url, dest, revision, creds)
    app.info(f"cloned {revision} ({commit[:12]}) into {dest}")
