"""``gitops-gen render``."""

from __future__ import annotations

import click

from gitops_gen.commands.options import environments_argument, output_option
from gitops_gen.context import AppContext
from gitops_gen.errors import ExitCode, InputError
from gitops_gen.model import Platform, load_platform
from gitops_gen.output import emit
from gitops_gen.render import apply_plan, check_plan, layout, plan_render
from gitops_gen.validate.crossenv import collisions


@click.command("render")
@environments_argument()
@click.option("--all", "all_envs", is_flag=True, help="Render every environment (the default).")
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 listing every file that differs from what render would write.",
)
@output_option()
@click.pass_obj
def render_command(
    app: AppContext, environments: tuple[str, ...], all_envs: bool, check: bool, output: str
) -> None:
    """Render environments/ + templates/ into clusters/.

    Writes, per cluster, the root app-of-apps Application; per environment, an AppProject,
    one Application per component and the Helm values files. Output is deterministic (same
    input, same bytes); files of removed components are deleted; the swap is atomic, so a
    failure leaves clusters/ as it was. With no ENV (or --all) every environment is rendered.
    Environments that would overwrite each other (one cluster and namespace, or one cluster
    name for two API servers: validate's XENV001 and XENV003) are refused, exit 2.
    """
    if all_envs and environments:
        raise click.UsageError("give environments or --all, not both")
    platform = load_platform(app.root)
    selected = None if all_envs or not environments else list(environments)
    _refuse_collisions(platform, selected)
    plan = plan_render(platform, selected)
    result = check_plan(app.root, plan) if check else apply_plan(app.root, plan)
    report = {
        "environments": list(plan.environments),
        "check": check,
        "upToDate": result.up_to_date,
        "added": list(result.added),
        "changed": list(result.changed),
        "removed": list(result.removed),
        "files": len(plan.files),
    }
    if output != "text":
        emit(output, report)
    else:
        verb = {"added": "would add", "changed": "would change", "removed": "would remove"}
        for path, status in result.all_paths:
            if check:
                click.echo(f"{verb[status]}: {path}")
            else:
                app.detail(f"{status}: {path}")
        envs = ", ".join(plan.environments)
        if check:
            if result.up_to_date:
                app.info(f"clusters/ is up to date for {envs} ({len(plan.files)} files)")
            else:
                count = len(result.all_paths)
                differ = "1 file differs" if count == 1 else f"{count} files differ"
                stale = ", ".join(stale_environments(platform, [p for p, _ in result.all_paths]))
                app.info(
                    f"clusters/ is out of date for {stale}: {differ}; "
                    "run 'gitops-gen render' and commit the result"
                )
        else:
            apps = sum(len(a) for a in plan.applications.values())
            app.info(
                f"rendered {envs}: {apps} applications, {len(plan.files)} files "
                f"({len(result.added)} added, {len(result.changed)} changed, "
                f"{len(result.removed)} removed)"
            )
    if check and not result.up_to_date:
        raise click.exceptions.Exit(ExitCode.FINDINGS)


def _refuse_collisions(platform: Platform, selected: list[str] | None) -> None:
    names = selected if selected is not None else list(platform.environments)
    known = [name for name in names if name in platform.environments]  # plan_render names others
    found = collisions(platform, known)
    if found:
        first = found[0]
        more = len(found) - 1
        also = f" ({more} more; 'gitops-gen validate' lists them)" if more else ""
        raise InputError(f"{first.location}: {first.rule} {first.message}{also}")


def stale_environments(platform: Platform, paths: list[str]) -> list[str]:
    """The environments whose rendered files are among ``paths`` (a cluster's root Application
    counts for every environment on that cluster); files of no environment are named."""
    names: set[str] = set()
    orphans: list[str] = []
    for path in paths:
        owners = {
            env.name
            for env in platform.environments.values()
            if path == layout.root_app_file(env.cluster_name)
            or path.startswith(layout.owned_prefixes(env.cluster_name, env.name))
        }
        names |= owners
        if not owners:
            orphans.append(path)
    shown = sorted(names)
    if orphans:
        shown.append(f"files of no environment ({', '.join(orphans[:3])})")
    return shown
