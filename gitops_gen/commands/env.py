"""``gitops-gen env``: add, remove and list environments."""

from __future__ import annotations

from pathlib import Path

import click

from gitops_gen.commands.options import output_option
from gitops_gen.completion import complete_environments
from gitops_gen.context import AppContext
from gitops_gen.envs import (
    TIERS,
    apply_files,
    parse_cluster,
    plan_add,
    plan_remove,
    promotion_order,
    restore_files,
    snapshot,
)
from gitops_gen.errors import InputError
from gitops_gen.model import load_platform
from gitops_gen.output import Rows, emit
from gitops_gen.secrets import ops
from gitops_gen.secrets.keys import check_identity_target, default_identity_path


@click.group("env")
def env_group() -> None:
    """Add, remove and list environments (environments/<name>.yaml and the promotion order)."""


@env_group.command("add")
@click.argument("name")
@click.option("--from", "source", required=True, metavar="ENV", help="Copy this environment.")
@click.option(
    "--cluster",
    "cluster",
    required=True,
    metavar="NAME=URL",
    help="The new environment's cluster: its name and API server URL.",
)
@click.option("--namespace", metavar="NAME", help="Namespace (default: the copied one's).")
@click.option(
    "--domain",
    metavar="DOMAIN",
    help="Domain (default: the copied one's with its first label replaced by NAME).",
)
@click.option(
    "--before",
    metavar="ENV",
    shell_complete=complete_environments,
    help="Insert NAME before ENV in the promotion order: ENV is then promoted from NAME.",
)
@click.option(
    "--tier",
    type=click.Choice(TIERS),
    help="Tier (default: the copied one's). prod makes the environment protected by default.",
)
@click.option("--no-keygen", is_flag=True, help="Do not create an age identity for NAME.")
@click.pass_obj
def add_command(
    app: AppContext,
    name: str,
    source: str,
    cluster: str,
    namespace: str | None,
    domain: str | None,
    before: str | None,
    tier: str | None,
    no_keygen: bool,
) -> None:
    """Add environment NAME as a copy of --from ENV (comments kept).

    Only the cluster, domain, namespace, tier and promotedFrom are changed; versions, sizes
    and sync settings are the copied environment's (holds are not copied). Without --before,
    NAME is promoted from --from; with --before ENV, NAME takes ENV's place in the order and
    ENV is rewired to be promoted from NAME. Unless --no-keygen, an age identity is created
    for NAME (as 'secrets keygen' does). Prints the secrets and keys NAME still needs.
    """
    platform = load_platform(app.root)
    plan = plan_add(
        platform,
        name,
        source,
        parse_cluster(cluster),
        namespace=namespace,
        domain=domain,
        before=before,
        tier=tier,
    )
    if not no_keygen:
        # refuse before writing anything: keygen never overwrites an identity
        target = default_identity_path(platform.name, name)
        try:
            check_identity_target(target, app.root)
        except InputError:
            raise InputError(
                f"an age identity for {name} already exists at {target}; move it away or pass "
                "--no-keygen (and add its recipient with 'gitops-gen secrets keygen')"
            ) from None
    saved = snapshot(app.root, plan)
    apply_files(app.root, plan)
    added = load_platform(app.root)
    env = added.environment(name)
    if not no_keygen:
        try:
            result = ops.keygen(added, env, None, None)
        except BaseException:
            restore_files(app.root, saved)
            raise
        app.info(f"wrote {result.identity_path} (mode 0600): keep it outside git, back it up")
        app.info(f"recipient {result.recipient} added to .sops.yaml for {name}")
    wrote = ", ".join(e.path for e in plan.edits)
    order = f"; {plan.rewired} is now promoted from {name}" if plan.rewired else ""
    source_of = (
        f"promoted from {env.promoted_from}"
        if env.promoted_from
        else "the start of the promotion chain"
    )
    click.echo(f"added {name} ({wrote}): {source_of}{order}")
    for note in plan.notes:
        app.info(f"note: {note}")
    secrets = env.required_secrets
    if secrets:
        click.echo(f"{name} needs {len(secrets)} secrets; set each key with:")
        for secret in secrets:
            for key in secret.keys:
                click.echo(f"  gitops-gen secrets set {name} {secret.name} {key}")
    # keygen's rule in .sops.yaml and the secrets files belong in the same commit: without the
    # rule in git, nobody else can add qa's secrets, and verify reports them
    commit = [e.path for e in plan.edits]
    if not no_keygen:
        commit.append(".sops.yaml")
    if secrets:
        commit.append(f"secrets/{name}/")
    app.info(
        f"next: set the secrets, then 'gitops-gen render' and commit {', '.join(commit)} and "
        "clusters/"
    )


@env_group.command("remove")
@click.argument("name", shell_complete=complete_environments)
@click.pass_obj
def remove_command(app: AppContext, name: str) -> None:
    """Remove environment NAME: its file and its rendered folders under clusters/.

    Refused while another environment is promoted from NAME. secrets/NAME/ and NAME's
    .sops.yaml rule are left for you to delete (encrypted values are not thrown away here).
    """
    platform = load_platform(app.root)
    plan = plan_remove(platform, name)
    apply_files(app.root, plan)
    removed = [e.path for e in plan.edits] + [f"{f}/" for f in plan.folders]
    click.echo(f"removed {name}: {', '.join(removed)}")
    for kept in plan.kept:
        app.info(f"kept {kept} and {name}'s rule in .sops.yaml: delete them when no longer needed")
    app.info("next: 'gitops-gen render' and commit the result")


@env_group.command("list")
@output_option()
@click.pass_obj
def list_command(app: AppContext, output: str) -> None:
    """List environments in promotion order: source, tier, protected, cluster, namespace."""
    platform = load_platform(app.root)
    rows = [
        {
            "order": i,
            "name": e.name,
            "promotedFrom": e.promoted_from,
            "tier": e.tier,
            "protected": e.protected,
            "cluster": e.cluster_name,
            "server": e.cluster_server,
            "namespace": e.namespace,
            "domain": e.domain,
            "file": Path(e.source).relative_to(app.root).as_posix(),
        }
        for i, e in enumerate(promotion_order(platform), start=1)
    ]
    columns = ("order", "name", "promotedFrom", "tier", "protected", "cluster", "namespace")
    table = Rows(
        columns,
        [[_cell(row[c]) for c in columns] for row in rows],
        title="environments in promotion order",
    )
    emit(output, {"environments": rows}, text=table)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
