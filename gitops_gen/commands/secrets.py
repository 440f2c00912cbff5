"""``gitops-gen secrets``: encrypted per-environment secrets (sops + age).

Values are read from stdin or ``--from-file`` only, never from argv (shell history, process
listings); they are never printed unless ``show --reveal`` is asked for.
"""

from __future__ import annotations

import functools
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import click

from gitops_gen.commands.options import identity_option, output_option
from gitops_gen.context import AppContext
from gitops_gen.errors import ExitCode, InputError
from gitops_gen.model import Environment, Platform, load_platform
from gitops_gen.model.loader import suggest
from gitops_gen.model.resolved import RequiredSecret
from gitops_gen.output import Rows, emit, print_rows
from gitops_gen.secrets import ops, signals
from gitops_gen.secrets.edit import plan_edit
from gitops_gen.secrets.envfile import parse_env_file
from gitops_gen.secrets.keys import identity_or_default, require_identity
from gitops_gen.secrets.leaks import committable_plaintext
from gitops_gen.secrets.operator import OPERATOR
from gitops_gen.secrets.store import secret_path
from gitops_gen.secrets.summary import environment_secrets
from gitops_gen.validate.findings import Severity
from gitops_gen.validate.secrets import RULES, verify_platform

MASK = "********"  # same for every value: no length, no equality leaks

P = ParamSpec("P")
R = TypeVar("R")


def decrypting(command: Callable[P, R]) -> Callable[P, R]:
    """For every command that may decrypt: SIGTERM and SIGHUP unwind like Ctrl-C, so the
    private temp folders and scratch copies are removed (exit 128 + signal number)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with signals.cleanup_on_signals():
            return command(*args, **kwargs)

    return run


def _no_values_on_argv(extra: tuple[str, ...]) -> None:
    if extra:
        # Do not echo the argument: it is probably the value itself.
        raise InputError(
            "too many arguments: values are never taken from the command line (shell history, "
            "process listings); pipe the value on stdin or use --from-file"
        )


def _platform_env(app: AppContext, env: str) -> tuple[Platform, Environment]:
    platform = load_platform(app.root)
    return platform, platform.environment(env)


def _target(app: AppContext, env: str, secret: str) -> tuple[Platform, Environment, RequiredSecret]:
    """The platform, the environment and the catalog entry a command acts on (or one error)."""
    platform, environment = _platform_env(app, env)
    return platform, environment, ops.required_secret(environment, secret)


@click.group("secrets")
def secrets_group() -> None:
    """Encrypted per-environment secrets: sops + age, as sops-secrets-operator SopsSecrets.

    \b
    secrets/<env>/<secret>.yaml  one SopsSecret per required secret (values encrypted)
    secrets/<env>/SHA256SUMS     digests of the files as gitops-gen wrote them
    .sops.yaml                   per-environment creation rules (age recipients)
    """


@secrets_group.command("keygen")
@click.argument("env")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the identity (outside the repository; default "
    "~/.config/gitops-gen/age/<platform>-<env>.agekey).",
)
@identity_option(env_default=False)
@click.pass_obj
@decrypting
def keygen_command(app: AppContext, env: str, out: Path | None, identity: Path | None) -> None:
    """Create an age identity for ENV and add its recipient to .sops.yaml.

    The identity file is written mode 0600 outside the repository (never overwritten); the
    environment's existing files are re-keyed for the new recipient, which needs a current key
    (--identity). Load the key into ENV's cluster for the sops-secrets-operator afterwards.
    """
    platform = load_platform(app.root)
    environment = platform.environment(env)
    result = ops.keygen(platform, environment, out, identity)
    app.info(f"wrote {result.identity_path} (mode 0600): keep it outside git, back it up")
    app.info(f"recipient {result.recipient} added to .sops.yaml for {env}")
    if result.rekeyed:
        app.info(f"re-keyed {len(result.rekeyed)} files of {env}")
    click.echo(result.recipient)
    app.info(
        f"next: give the key to the operator in {environment.cluster_name} (namespace "
        f"{environment.namespace}, where render installs it):"
    )
    app.info("  " + load_key_command(environment, result.identity_path))


def load_key_command(environment: Environment, identity_path: Path) -> str:
    """The kubectl command that puts ``identity_path`` where ENV's operator reads it: the
    environment's own cluster (``kubeContext``, never the current one) and namespace."""
    return shlex.join(
        [
            "kubectl",
            "--context",
            environment.kube_context,
            "-n",
            environment.namespace,
            "create",
            "secret",
            "generic",
            OPERATOR.key_secret,
            f"--from-file={OPERATOR.key_file}={identity_path}",
        ]
    )


def _read_value(from_file: Path | None) -> str:
    if from_file is not None:
        try:
            raw = from_file.read_bytes()
        except FileNotFoundError:
            raise InputError(f"--from-file {from_file}: file not found") from None
        except IsADirectoryError:
            raise InputError(f"--from-file {from_file}: is a folder; pass a file") from None
        except OSError as exc:
            raise InputError(f"--from-file {from_file}: cannot read ({exc.strerror})") from None
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(
                f"--from-file {from_file}: not UTF-8 text; secrets are stored as stringData"
            ) from None
    elif sys.stdin is None or sys.stdin.isatty():
        value = click.prompt("value", hide_input=True, default="", show_default=False)
    else:
        # One trailing newline is what `echo` adds, never part of the secret.
        value = sys.stdin.read().removesuffix("\n").removesuffix("\r")
    if value == "":
        source = f"--from-file {from_file}" if from_file else "stdin"
        raise InputError(f"empty value on {source}: refusing to store an empty secret")
    return value


@secrets_group.command("set")
@click.argument("env")
@click.argument("secret")
@click.argument("key")
@click.argument("extra", nargs=-1, required=False, metavar="")
@click.option(
    "--from-file",
    type=click.Path(path_type=Path),
    default=None,
    help="Read the value from this file (exact bytes) instead of stdin.",
)
@click.option("--force", is_flag=True, help="Allow a key the secret does not require.")
@identity_option()
@click.pass_obj
@decrypting
def set_command(
    app: AppContext,
    env: str,
    secret: str,
    key: str,
    extra: tuple[str, ...],
    from_file: Path | None,
    force: bool,
    identity: Path | None,
) -> None:
    """Set KEY of SECRET in ENV to the value on stdin (or --from-file).

    A new secret needs no key (it is encrypted for the recipients of .sops.yaml); changing an
    existing one needs a key of one of its recipients. One trailing newline on stdin is dropped.
    """
    _no_values_on_argv(extra)
    platform, environment, required = _target(app, env, secret)
    identity = identity_or_default(identity, platform.name, env)
    ops.check_key(required, key, force)
    # the key an existing secret needs is checked before the value is even read
    ops.change_identity(platform.root, secret_path(platform.root, env, secret), identity)
    note = ops.new_secret_note(platform.root, environment, required)
    value = _read_value(from_file)
    plan = ops.plan_set(platform, environment, required, key, value, identity)
    plan.apply(platform.root)
    app.info(f"set {env}/{secret} {key} (secrets/{env}/{secret}.yaml)")
    if note:
        app.info(f"note: {note}")
    if from_file is not None and (warning := committable_plaintext(platform.root, from_file)):
        app.err.print(f"warning: {warning}")  # shown with -q too: plaintext on disk


def _read_env_file(name: str) -> tuple[str, str]:
    """The text of ``--from-env-file`` (``-``: stdin) and how to name it in messages."""
    if name == "-":
        source = "--from-env-file - (stdin)"
        if sys.stdin is None:
            raise InputError(f"{source}: no standard input")
        return sys.stdin.read(), source
    source = f"--from-env-file {name}"
    try:
        raw = Path(name).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{source}: is a folder; pass a dotenv file") from None
    except OSError as exc:
        raise InputError(f"{source}: cannot read ({exc.strerror})") from None
    try:
        return raw.decode("utf-8"), source
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8 text; secrets are stored as stringData") from None


@secrets_group.command("import")
@click.argument("env")
@click.argument("secret")
@click.option(
    "--from-env-file",
    "env_file",
    required=True,
    metavar="FILE|-",
    help="A dotenv file (KEY=value lines) with the values; '-' reads stdin.",
)
@click.option("--force", is_flag=True, help="Allow keys the secret does not require.")
@identity_option()
@click.pass_obj
@decrypting
def import_command(
    app: AppContext,
    env: str,
    secret: str,
    env_file: str,
    force: bool,
    identity: Path | None,
) -> None:
    """Set many keys of SECRET in ENV from a dotenv file, written in one sops run.

    Every key must be one SECRET requires (else nothing is written; --force allows others).
    Afterwards the required keys still missing are named. A new secret needs no key; an
    existing one needs a key of a recipient, checked before the file is read (its current
    values are then decrypted into memory first). Values are taken literally (no ${VAR}
    expansion); an empty value is refused.
    """
    platform, environment, required = _target(app, env, secret)
    identity = identity_or_default(identity, platform.name, env)
    path = secret_path(platform.root, env, secret)
    ops.change_identity(platform.root, path, identity)
    note = ops.new_secret_note(platform.root, environment, required)
    text, source = _read_env_file(env_file)
    values = parse_env_file(text, source)
    unknown = [k for k in values if k not in required.keys]
    if unknown and not force:
        named = ", ".join(
            k + (f" ({hint.removeprefix('; ')})" if (hint := suggest(k, required.keys)) else "")
            for k in unknown
        )
        raise InputError(
            f"{source}: not keys of secret {secret}: {named} (required: "
            f"{', '.join(required.keys)}); nothing imported; pass --force to import them anyway"
        )
    plan = ops.plan_values(platform, environment, required, values, identity)
    present = set(ops.planned_keys(plan, path))
    plan.apply(platform.root)
    count = f"{len(values)} key{'s' if len(values) != 1 else ''}"
    app.info(f"imported {count} into {env}/{secret} (secrets/{env}/{secret}.yaml)")
    missing = [k for k in required.keys if k not in present]
    if missing:
        app.info(f"still missing in {env}/{secret}: {', '.join(missing)}")
    else:
        app.info(f"{env}/{secret}: all {len(required.keys)} required keys are set")
    if note:
        app.info(f"note: {note}")
    if env_file != "-" and (warning := committable_plaintext(platform.root, Path(env_file))):
        app.err.print(f"warning: {warning}")  # shown with -q too: plaintext on disk


@secrets_group.command("unset")
@click.argument("env")
@click.argument("secret")
@click.argument("key")
@click.option("--force", is_flag=True, help="Allow removing a key the secret requires.")
@identity_option()
@click.pass_obj
@decrypting
def unset_command(
    app: AppContext, env: str, secret: str, key: str, force: bool, identity: Path | None
) -> None:
    """Remove KEY from SECRET in ENV."""
    platform, environment, required = _target(app, env, secret)
    identity = identity_or_default(identity, platform.name, env)
    plan = ops.plan_unset(platform, environment, required, key, force, identity)
    plan.apply(platform.root)
    app.info(f"unset {env}/{secret} {key}")


@secrets_group.command("edit")
@click.argument("env")
@click.argument("secret")
@click.option("--force", is_flag=True, help="Allow removing a key the secret requires.")
@identity_option()
@click.pass_obj
@decrypting
def edit_command(
    app: AppContext, env: str, secret: str, force: bool, identity: Path | None
) -> None:
    """Edit SECRET of ENV in $SOPS_EDITOR / $EDITOR through sops.

    sops writes the plaintext to a private folder (memory-backed where available) that is
    removed on every exit, even when the editor is killed or a signal arrives; the edited file
    replaces the old one only if it is still a sound, fully encrypted SopsSecret that keeps
    every required key (or --force). Without a terminal the editor runs once: invalid YAML
    ends the command (exit 2) with nothing written.
    """
    platform, environment, required = _target(app, env, secret)
    identity = identity_or_default(identity, platform.name, env)
    plan = plan_edit(platform, environment, required, identity, force)
    if not plan.files:
        app.info(f"{env}/{secret}: no change")
        return
    plan.apply(platform.root)
    app.info(f"edited {env}/{secret}")


@secrets_group.command("list")
@click.argument("env")
@output_option()
@click.pass_obj
def list_command(app: AppContext, env: str, output: str) -> None:
    """The secrets ENV requires: present or missing, key names, last modified, recipients.

    Needs no key and shows no value.
    """
    platform, environment = _platform_env(app, env)
    status = environment_secrets(platform, environment)
    report = {
        "environment": env,
        "recipients": list(status.recipients),
        "secrets": [
            {
                "name": s.name,
                "file": s.file,
                "requiredKeys": list(s.required_keys),
                "presentKeys": list(s.present_keys),
                "missingKeys": list(s.missing_keys),
                "recipients": list(s.recipients),
                "lastModified": s.last_modified,
            }
            for s in status.secrets
        ],
    }

    def text() -> None:
        rows = [
            (
                s.name,
                ", ".join(s.present_keys),
                (
                    f"(secret missing) {', '.join(s.missing_keys)}"
                    if s.file is None
                    else ", ".join(s.missing_keys)
                ),
                s.last_modified,
            )
            for s in status.secrets
        ]
        columns = ("secret", "keys", "missing", "last modified")
        print_rows(Rows(columns, rows, title=f"secrets of {env}"))
        click.echo(f"recipients: {', '.join(status.recipients) or '(no rule in .sops.yaml)'}")

    emit(output, report, text=text)


@secrets_group.command("show")
@click.argument("env")
@click.argument("secret")
@click.option("--reveal", is_flag=True, help="Decrypt and print the values (needs a key).")
@identity_option()
@output_option()
@click.pass_obj
@decrypting
def show_command(
    app: AppContext, env: str, secret: str, reveal: bool, identity: Path | None, output: str
) -> None:
    """One secret of ENV: its keys (values masked unless --reveal), recipients, last modified."""
    platform, environment, required = _target(app, env, secret)
    status = next(s for s in environment_secrets(platform, environment).secrets if s.name == secret)
    if status.file is None:
        raise InputError(
            f"secret {secret} is not set in {env}; set it with 'gitops-gen secrets set {env} "
            f"{secret} KEY'"
        )
    if reveal:
        identity = identity_or_default(identity, platform.name, env)
        values = ops.reveal(platform, environment, required, identity)
    else:
        values = dict.fromkeys(status.present_keys, MASK)
    if output != "text":
        report = {
            "environment": env,
            "secret": secret,
            "file": status.file,
            "values": values,
            "missingKeys": list(status.missing_keys),
            "recipients": list(status.recipients),
            "lastModified": status.last_modified,
        }
        emit(output, report)
        return
    for key, value in values.items():
        click.echo(f"{key}: {value}")
    app.info(
        f"{status.file}; last modified {status.last_modified}; recipients "
        f"{', '.join(status.recipients)}"
        + (f"; missing keys: {', '.join(status.missing_keys)}" if status.missing_keys else "")
    )


@secrets_group.command("verify")
@click.argument("environments", nargs=-1, metavar="[ENV]...")
@click.option(
    "--decrypt-check", is_flag=True, help="Also prove every file's MAC with sops (needs a key)."
)
@click.option(
    "--reseal",
    is_flag=True,
    help="With --decrypt-check and no finding: record the files' digests in SHA256SUMS.",
)
@identity_option(env_default=False)
@output_option()
@click.option("--list-rules", is_flag=True, help="Print the rules and exit.")
@click.pass_obj
@decrypting
def verify_command(
    app: AppContext,
    environments: tuple[str, ...],
    decrypt_check: bool,
    reseal: bool,
    identity: Path | None,
    output: str,
    list_rules: bool,
) -> None:
    """Check every secrets file of ENV (all environments by default); needs no key.

    Encrypted (sops metadata complete, no mac_only_encrypted, every data/stringData value
    ENC[...]); recipients equal to the .sops.yaml rule; unchanged since gitops-gen wrote it
    (SHA256SUMS); every required secret and key present. Exit 0 clean (warnings allowed),
    1 findings, 2 error.
    """
    if list_rules:
        rules = [{"id": rule_id, "rule": text} for rule_id, text in RULES.items()]
        lines = "".join(f"{r['id']}  {r['rule']}\n" for r in rules)
        emit(output, {"rules": rules}, kind="secrets-verify-rules", text=lines)
        return
    if reseal and not decrypt_check:
        raise InputError("--reseal needs --decrypt-check: only proven files are resealed")
    platform = load_platform(app.root)
    names = list(environments) or sorted(platform.environments)
    for name in names:
        platform.environment(name)
    key = require_identity(identity, "--decrypt-check") if decrypt_check else None
    findings = verify_platform(platform, names, key)
    if reseal:
        # Digests are the only thing the MAC proof cannot cover; structural errors stay fatal.
        blocking = [f for f in findings if f.rule != "SEC009" and f.severity is Severity.ERROR]
        if not blocking:
            for name in names:
                ops.plan_reseal(platform, platform.environments[name]).apply(platform.root)
            findings = verify_platform(platform, names, None)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    report = {
        "environments": names,
        "decryptCheck": decrypt_check,
        "findings": [f.to_json() for f in findings],
        "summary": {"findings": len(findings), "errors": len(errors)},
    }
    columns = ("environment", "rule", "severity", "location", "message")
    rows = [(f.environment, f.rule, str(f.severity), f.location, f.message) for f in findings]
    emit(output, report, text=Rows(columns, rows, title="secrets findings") if rows else "")
    if not findings:
        proven = " (MACs proven)" if decrypt_check else ""
        app.info(f"secrets of {', '.join(names)}: no findings{proven}")
    if errors:
        raise click.exceptions.Exit(ExitCode.FINDINGS)


@secrets_group.command("rotate")
@click.argument("env")
@click.option(
    "--remove-recipient",
    "remove",
    multiple=True,
    metavar="AGE",
    help="Remove this recipient from ENV's rule first (repeatable).",
)
@identity_option()
@click.pass_obj
@decrypting
def rotate_command(
    app: AppContext, env: str, remove: tuple[str, ...], identity: Path | None
) -> None:
    """Re-key ENV's files for its rule's recipients and give each a new data key.

    Removing a recipient takes both steps: updatekeys alone would keep the old data key, which
    the removed key may already have seen.
    """
    platform, environment = _platform_env(app, env)
    identity = identity_or_default(identity, platform.name, env)
    plan = ops.plan_rotate(platform, environment, remove, identity)
    plan.apply(platform.root)
    removed = f"; removed {', '.join(remove)}" if remove else ""
    app.info(f"rotated {len(plan.files)} files of {env}{removed}")
