"""The loopback Helm chart repository and the stand-in dependency charts."""

from __future__ import annotations

import hashlib
import io
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.testenv.chartrepo import FIXTURE_CHARTS, STANDIN_VERSIONS, ChartRepo, package_chart


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        data: bytes = response.read()
        return data


def test_index_lists_every_pinned_version_with_its_digest(tmp_path: Path) -> None:
    with ChartRepo(tmp_path / "repo") as repo:
        index = yaml.safe_load(_get(repo.url + "index.yaml"))
        for name, versions in STANDIN_VERSIONS.items():
            entries = {e["version"]: e for e in index["entries"][name]}
            assert set(entries) == set(versions)
            for version, entry in entries.items():
                package = _get(repo.url + entry["urls"][0])
                assert hashlib.sha256(package).hexdigest() == entry["digest"]
                with tarfile.open(fileobj=io.BytesIO(package), mode="r:gz") as tar:
                    chart = yaml.safe_load(tar.extractfile(f"{name}/Chart.yaml").read())  # type: ignore[union-attr]
                assert (chart["name"], chart["version"]) == (name, version)
        assert "/index.yaml" in repo.requests
        port = repo.port
    # Stopped: the port refuses connections, which is what "unreachable" means to Argo CD.
    with pytest.raises(urllib.error.URLError):
        _get(f"http://127.0.0.1:{port}/index.yaml")


def test_packages_are_deterministic() -> None:
    first = package_chart(FIXTURE_CHARTS / "redis")[1]
    assert package_chart(FIXTURE_CHARTS / "redis")[1] == first


@pytest.mark.parametrize(
    ("release", "chart"),
    [
        ("timescaledb", "postgresql"),
        ("redis", "redis"),
        ("kafka", "kafka"),
        ("nats", "nats"),
        ("sops-secrets-operator", "sops-secrets-operator"),
    ],
)
def test_rendered_values_fit_the_stand_in_charts(release: str, chart: str) -> None:
    """Every values key render writes is one the chart reads (its schema refuses others)."""
    schema = yaml.safe_load((FIXTURE_CHARTS / chart / "values.schema.json").read_text())
    root = Path(__file__).resolve().parent.parent
    for values_file in sorted(root.glob(f"clusters/*/values/*/{release}.yaml")):
        jsonschema.validate(yaml.safe_load(values_file.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"notAKeyOfTheChart": 1}, schema)
