"""Drift and secrets together, on the real API server: the rendered SopsSecrets, and --decrypt.

Each test syncs the rendered dev environment (Applications, AppProject, SopsSecrets, the audit's
own objects) into namespaces of its own, as Argo CD would, then edits the live state.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gitops_gen.model import load_platform
from gitops_gen.secrets.sops import Sops
from gitops_gen.secrets.store import SUMS_FILE, secret_path, sums_text
from gitops_gen.yamlio import dump
from tests.drift_support import ENV, Kube, rendered_objects, retarget, sync_rendered
from tests.helpers import Result, copy_aether, git, run_cli

pytestmark = pytest.mark.cluster

SOPS_API = "isindir.github.com/v1alpha3"
CANARY = "canary-decrypt-5b1e77c0d2"
FORMATS = ("text", "json", "markdown", "junit")


@dataclass
class Rendered:
    kube: Kube
    kubeconfig: Path
    repo: Path
    namespace: str
    objects: list[dict[str, Any]]
    # the plaintext the test wrote into secrets/dev/ (name -> key -> value), and which keys it
    # wrote under `data:` (base64) rather than `stringData:`
    known: dict[str, dict[str, str]]
    in_data: dict[str, set[str]]

    def drift(self, *args: str, expect: int) -> Result:
        return run_cli(
            "drift", ENV, "--kubeconfig", str(self.kubeconfig), *args, repo=self.repo, expect=expect
        )

    def findings(self, *args: str, expect: int) -> list[dict[str, Any]]:
        result = self.drift("-o", "json", *args, expect=expect)
        findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
        return findings

    def sops_secrets(self) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == "SopsSecret"]

    def secret_ref(self, name: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": self.namespace},
        }

    def sops_ref(self, name: str) -> dict[str, Any]:
        return {
            "apiVersion": SOPS_API,
            "kind": "SopsSecret",
            "metadata": {"name": name, "namespace": self.namespace},
        }


def _write_known_values(repo: Path) -> tuple[dict[str, dict[str, str]], dict[str, set[str]]]:
    """Replace every dev secret by one holding values this test knows, through real sops: the
    first key of each under `data:` (base64, as the operator reads it), the rest under
    `stringData:`. The expected live Secrets are then built from these, not by decrypting."""
    known: dict[str, dict[str, str]] = {}
    in_data: dict[str, set[str]] = {}
    written: dict[str, bytes] = {}
    for secret in load_platform(repo).environment(ENV).required_secrets:
        values = {key: f"known-{secret.name}-{key}-a41c" for key in secret.keys}
        first, *rest = secret.keys
        template: dict[str, Any] = {
            "name": secret.name,
            "data": {first: base64.b64encode(values[first].encode()).decode()},
        }
        if rest:
            template["stringData"] = {key: values[key] for key in rest}
        document = {
            "apiVersion": SOPS_API,
            "kind": "SopsSecret",
            "metadata": {"name": secret.name},
            "spec": {"secretTemplates": [template]},
        }
        path = secret_path(repo, ENV, secret.name)
        path.write_bytes(Sops.for_repo(repo).encrypt(dump(document).encode(), path))
        written[path.name] = path.read_bytes()
        known[secret.name], in_data[secret.name] = values, {first}
    sums = path.parent / SUMS_FILE  # as gitops-gen records what it wrote
    sums.write_bytes(sums_text(repo, ENV, written))
    git(repo, "commit", "-q", "-am", "known dev values")
    return known, in_data


def _render_and_sync(
    mode: str, kubeconfig: Path, namespace: str, tmp_path: Path, *, known_values: bool = False
) -> Iterator[Rendered]:
    repo = copy_aether(tmp_path / "aether")
    known, in_data = _write_known_values(repo) if known_values else ({}, {})
    argocd = f"{namespace}-argocd"
    retarget(repo, namespace, argocd)
    kube = Kube(kubeconfig)
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": argocd}}
    objects = rendered_objects(repo)
    try:
        kube.create(ns)
        sync_rendered(kube, objects, namespace, mode)
        yield Rendered(kube, kubeconfig, repo, namespace, objects, known, in_data)
    finally:
        with contextlib.suppress(Exception):  # best-effort clean-up
            kube.delete(ns)
        for obj in objects:
            if obj["kind"] in ("ClusterRole", "ClusterRoleBinding"):
                with contextlib.suppress(Exception):  # not removed with the namespace
                    kube.delete(obj)
        kube.close()


@pytest.fixture(params=["client", "server"])
def rendered(
    request: pytest.FixtureRequest, kubeconfig: Path, namespace: str, tmp_path: Path
) -> Iterator[Rendered]:
    yield from _render_and_sync(request.param, kubeconfig, namespace, tmp_path)


@pytest.fixture
def rendered_once(kubeconfig: Path, namespace: str, tmp_path: Path) -> Iterator[Rendered]:
    yield from _render_and_sync("server", kubeconfig, namespace, tmp_path)


@pytest.fixture
def rendered_known(kubeconfig: Path, namespace: str, tmp_path: Path) -> Iterator[Rendered]:
    yield from _render_and_sync("server", kubeconfig, namespace, tmp_path, known_values=True)


def _operator_created_secrets(env: Rendered) -> None:
    """What the sops-secrets-operator creates from each SopsSecret, built from the plaintext the
    test wrote: a template's `data:` entries are base64 already and become the Secret's data
    as they are; its `stringData:` entries become the Secret's stringData."""
    assert env.known, "needs the rendered_known fixture"
    for name, values in env.known.items():
        data = {
            key: base64.b64encode(value.encode()).decode()
            for key, value in values.items()
            if key in env.in_data[name]
        }
        strings = {key: value for key, value in values.items() if key not in env.in_data[name]}
        env.kube.create(
            {**env.secret_ref(name), "type": "Opaque", "data": data, "stringData": strings}
        )


def _placeholder_secrets(env: Rendered) -> None:
    """The operator's Secrets with the right key names only (no key needed without --decrypt)."""
    for obj in env.sops_secrets():
        template = obj["spec"]["secretTemplates"][0]
        keys = {**template.get("data", {}), **template.get("stringData", {})}
        env.kube.create(
            {**env.secret_ref(template["name"]), "stringData": dict.fromkeys(keys, "x")}
        )


# --- the rendered SopsSecrets ---------------------------------------------------------------


def test_rendered_sops_secrets_synced_give_no_findings(rendered: Rendered) -> None:
    names = sorted(o["metadata"]["name"] for o in rendered.sops_secrets())
    assert len(names) == 24 and "fastapi-credentials" in names
    _placeholder_secrets(rendered)
    result = rendered.drift("-o", "json", expect=0)
    report = json.loads(result.stdout)
    assert report["findings"] == []
    audited = {(o["ref"]["kind"], o["ref"]["name"]) for o in report["objects"]}
    assert {("SopsSecret", name) for name in names} <= audited


def _ciphertext_path(obj: dict[str, Any]) -> tuple[str, str]:
    template = obj["spec"]["secretTemplates"][0]
    key = sorted(template["stringData"])[0]
    return f"/spec/secretTemplates/0/stringData/{key}", template["stringData"][key]


SOPS_EDITS = ["ciphertext-changed", "key-removed", "mac-changed", "template-added", "deleted"]


@pytest.mark.parametrize("edit", SOPS_EDITS)
def test_sops_secret_edited_live_is_reported_once(rendered_once: Rendered, edit: str) -> None:
    env = rendered_once
    _placeholder_secrets(env)
    obj = next(o for o in env.sops_secrets() if o["metadata"]["name"] == "fastapi-credentials")
    ref = env.sops_ref("fastapi-credentials")
    path, ciphertext = _ciphertext_path(obj)
    other = next(o for o in env.sops_secrets() if o["metadata"]["name"] == "fastapi-secrets")
    foreign = _ciphertext_path(other)[1]  # a well-formed ciphertext of another file
    expected: tuple[str, str, str]
    if edit == "ciphertext-changed":
        env.kube.json_patch(ref, [{"op": "replace", "path": path, "value": foreign}])
        expected = ("modified", path, "drift/secret-modified")
    elif edit == "key-removed":
        env.kube.json_patch(ref, [{"op": "remove", "path": path}])
        expected = ("missing", path, "drift/secret-missing")
    elif edit == "mac-changed":
        env.kube.json_patch(ref, [{"op": "replace", "path": "/sops/mac", "value": foreign}])
        expected = ("modified", "/sops/mac", "drift/secret-modified")
    elif edit == "template-added":
        rogue = {"name": "rogue", "stringData": {"token": foreign}}
        env.kube.json_patch(ref, [{"op": "add", "path": "/spec/secretTemplates/-", "value": rogue}])
        expected = ("extra", "/spec/secretTemplates/1", "drift/secret-extra")
    else:
        env.kube.delete(ref)
        expected = ("missing", "", "drift/object-missing")
    result = env.drift("-o", "json", expect=1)
    findings = json.loads(result.stdout)["findings"]
    got = [(f["ref"]["kind"], f["ref"]["name"], f["type"], f["path"], f["rule"]) for f in findings]
    assert got == [("SopsSecret", "fastapi-credentials", *expected)], json.dumps(findings)
    for side in ("desired", "live"):  # anything from inside a SopsSecret is masked
        assert all(leaf.startswith("<secret:") for leaf in _leaves(findings[0][side]))
    assert ciphertext not in result.output and foreign not in result.output


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [] if value is None else [value]


# --- --decrypt ----------------------------------------------------------------------------


def test_decrypt_compares_values_and_never_shows_them(
    rendered_known: Rendered, dev_key: Path, private_tmp: Path, tmp_path: Path
) -> None:
    env = rendered_known
    _operator_created_secrets(env)
    repository = env.known
    decrypt = ("--decrypt", "--identity", str(dev_key))

    # equal values, `data:` keys included (a data key compared undecoded would differ here)
    clean = env.drift("-o", "json", *decrypt, expect=0)
    assert json.loads(clean.stdout)["findings"] == []
    assert all(env.in_data[name] for name in repository) and len(repository) == 24

    # one live value changed by hand: one finding on that key, both sides masked
    env.kube.merge_patch(env.secret_ref("fastapi-credentials"), {"stringData": {"API_KEY": CANARY}})
    findings = env.findings(*decrypt, expect=1)
    got = [(f["ref"]["kind"], f["ref"]["name"], f["type"], f["path"], f["rule"]) for f in findings]
    assert got == [
        ("Secret", "fastapi-credentials", "modified", "/data/API_KEY", "secrets/value-differs")
    ]
    desired, live = findings[0]["desired"], findings[0]["live"]
    assert desired.startswith("<secret:") and live.startswith("<secret:")
    assert desired != live and len(desired) == len(live)
    # without --decrypt only key names are compared: the same state is clean
    env.drift(expect=0)

    # the same canary in a second Secret: equal values give equal masks within one report
    env.kube.merge_patch(
        env.secret_ref("fastapi-secrets"),
        {"stringData": {_first_key(repository, "fastapi-secrets"): CANARY}},
    )
    masks = {f["ref"]["name"]: (f["desired"], f["live"]) for f in env.findings(*decrypt, expect=1)}
    assert sorted(masks) == ["fastapi-credentials", "fastapi-secrets"]
    assert masks["fastapi-credentials"][1] == masks["fastapi-secrets"][1]
    assert masks["fastapi-credentials"][0] != masks["fastapi-secrets"][0]

    # a key the repository holds under `data:` (base64) changed live: found on that key
    (data_key,) = env.in_data["feast-offline-store"]
    env.kube.merge_patch(env.secret_ref("feast-offline-store"), {"stringData": {data_key: CANARY}})
    changed = {(f["ref"]["name"], f["path"]) for f in env.findings(*decrypt, expect=1)}
    assert ("feast-offline-store", f"/data/{data_key}") in changed and len(changed) == 3

    # no value, live or repository, in any format, on stdout or stderr, or in the report file
    outputs = []
    for fmt in FORMATS:
        result = env.drift("-o", fmt, *decrypt, expect=1)
        outputs.append(result.output)
    report_file = tmp_path / "report.md"
    written = env.drift("-o", "markdown", "--output-file", str(report_file), *decrypt, expect=1)
    outputs += [written.output, report_file.read_text()]
    plaintexts = [CANARY] + [v for values in repository.values() for v in values.values()]
    for text in outputs:
        for value in plaintexts:
            if len(value) < 8:
                continue  # short values (a port, "true") occur in any report by chance
            assert value not in text
            assert base64.b64encode(value.encode()).decode() not in text
            assert value.encode().hex() not in text
    # plaintext never on disk: sops' private folders are gone, the repository unchanged
    assert list(private_tmp.iterdir()) == []
    assert git(env.repo, "status", "--porcelain") == ""


def _first_key(values: dict[str, dict[str, str]], name: str) -> str:
    return sorted(values[name])[0]
