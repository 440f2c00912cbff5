"""The one error type of the test environment."""

from __future__ import annotations


class ClusterError(RuntimeError):
    """A test-environment component could not be built, started or prepared."""
