"""The test environment's Pushgateway: built once, cached, version-stamped, quick when warm."""

from __future__ import annotations

import subprocess
import time

from tests.testenv import gobuild
from tests.testenv.pushgateway import (
    BUILD_RECIPE,
    PUSHGATEWAY_VERSION,
    Pushgateway,
    ensure_binary,
    pushgateway_dir,
)


def test_the_binary_is_cached_stamped_and_found_again_in_no_time(pushgateway: Pushgateway) -> None:
    binary = pushgateway_dir() / "pushgateway"
    assert gobuild.is_current(binary, BUILD_RECIPE)
    started = time.monotonic()
    assert ensure_binary() == binary
    assert time.monotonic() - started < 2
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True)
    assert f"version {PUSHGATEWAY_VERSION.removeprefix('v')}" in version.stdout + version.stderr
    # a started gateway begins empty (no persistence file) and answers its API
    assert pushgateway.groups() == []
